//! Images kept smaller than the network's input. An image whose sides are both at most the
//! input size is kept at its own size and resized when a batch, a prediction or a heatmap
//! needs it, with the resize the decoder would have done: the pixels used are bit for bit the
//! ones of decoding straight to the input size, and the page holds the full MedNIST
//! (58,954 images of 64 x 64) at 224 px in 241 MB instead of 2.96 GB.

use image::{GrayImage, ImageBuffer, RgbImage, imageops::FilterType};
use std::borrow::Cow;

use super::{Colour, InputShape};

/// Pixels as the decoder leaves them for storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPixels {
    /// Either whole images of the shape asked for (planar channels), or, when `native` is
    /// set, one image at its own size (gray, or RGB interleaved as decoded).
    pub pixels: Vec<u8>,
    /// `Some((width, height))` when `pixels` is one image at its own size, smaller than the
    /// shape on at least one side and larger on none.
    pub native: Option<(u32, u32)>,
}

impl StoredPixels {
    /// Whole images of the shape.
    pub fn full(pixels: Vec<u8>) -> Self {
        Self {
            pixels,
            native: None,
        }
    }

    /// The pixels at `shape`, resized if they were kept at their own size.
    pub fn into_shape(self, shape: InputShape) -> Vec<u8> {
        match self.native {
            None => self.pixels,
            Some(dims) => expand(&self.pixels, dims, shape).into_owned(),
        }
    }

    /// Whether the buffer holds what it says: a whole number of images of `shape`, or one
    /// image of its own size with `shape`'s channels.
    pub fn is_consistent(&self, shape: InputShape) -> bool {
        let len = self.pixels.len();
        match self.native {
            None => len > 0 && len.is_multiple_of(shape.values()),
            Some((width, height)) => {
                width > 0
                    && height > 0
                    && width <= shape.size()
                    && height <= shape.size()
                    && len == width as usize * height as usize * shape.channels()
            }
        }
    }
}

/// Where one stored image is and at what size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredImage {
    /// First byte in the pixel store.
    pub offset: usize,
    /// Its own size, when kept smaller than the shape.
    pub native: Option<(u32, u32)>,
}

impl StoredImage {
    /// Bytes it takes in the store.
    pub fn len(&self, shape: InputShape) -> usize {
        match self.native {
            None => shape.values(),
            Some((width, height)) => width as usize * height as usize * shape.channels(),
        }
    }
}

/// One stored image at `shape`: borrowed when it is stored at that size, resized otherwise.
pub fn expand(pixels: &[u8], (width, height): (u32, u32), shape: InputShape) -> Cow<'_, [u8]> {
    if (width, height) == (shape.size(), shape.size()) {
        return Cow::Borrowed(pixels);
    }
    let image = match shape.colour() {
        Colour::Grayscale => GrayImage::from_raw(width, height, pixels.to_vec())
            .map(|gray| resized(gray, shape.size()).into_raw()),
        Colour::Rgb => RgbImage::from_raw(width, height, pixels.to_vec())
            .map(|rgb| planar(&resized(rgb, shape.size()))),
    };
    // The builder checked every buffer's length (`is_consistent`), so this never happens; a
    // black image is still better than a panic in the page.
    Cow::Owned(image.unwrap_or_else(|| vec![0; shape.values()]))
}

/// `image` at `size` on both sides (unchanged when it is already).
pub(crate) fn resized<P: image::Pixel<Subpixel = u8> + 'static>(
    image: ImageBuffer<P, Vec<u8>>,
    size: u32,
) -> ImageBuffer<P, Vec<u8>> {
    if image.width() == size && image.height() == size {
        image
    } else {
        image::imageops::resize(&image, size, size, FilterType::Triangle)
    }
}

/// An RGB image's red, then green, then blue plane: the networks' `[channels, h, w]` layout.
pub(crate) fn planar(image: &image::RgbImage) -> Vec<u8> {
    let plane = image.as_raw().len() / 3;
    let mut out = vec![0u8; plane * 3];
    for (i, pixel) in image.as_raw().chunks_exact(3).enumerate() {
        for (channel, &value) in pixel.iter().enumerate() {
            out[channel * plane + i] = value;
        }
    }
    out
}
