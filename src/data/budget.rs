//! How many decoded images the page may hold. The engine keeps every image as 8-bit pixels in
//! its WebAssembly memory, which cannot grow past 4 GiB, and training, the model and a second
//! data set (a new load replaces the old one only once it succeeded) need the rest. Images no
//! larger than the input size are kept at their own size (`stored.rs`), so what a load takes
//! depends on its files: the check projects the whole load from the images decoded so far,
//! and stops a load that would pass the budget early (after its first images), with a message
//! that says what would fit, instead of the tab running out of memory half-way.

use super::{InputShape, SUPPORTED_SIZES};

/// Decoded pixels the page holds at most, in bytes.
pub const PAGE_PIXEL_BUDGET: usize = 1 << 30;

/// Images decoded before a load's total is projected from them.
pub const PROJECT_AFTER: usize = 256;

/// `bytes` for people (`1.2 GB`, `340 MB`).
fn amount(bytes: usize) -> String {
    if bytes >= 1_000_000_000 {
        format!("{:.1} GB", bytes as f64 / 1e9)
    } else {
        format!("{:.0} MB", (bytes as f64 / 1e6).max(1.0))
    }
}

/// What a load has decoded so far, to project its whole size from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Images of the load in all (at least `images`).
    pub total: usize,
    /// Images decoded so far.
    pub images: usize,
    /// Bytes they take.
    pub bytes: usize,
}

impl Decoded {
    /// Every one of `images` images kept at `shape` (no image smaller than the input).
    pub fn at_shape(images: usize, shape: InputShape) -> Self {
        Self {
            total: images,
            images,
            bytes: images.saturating_mul(shape.values()),
        }
    }

    /// Bytes per image so far (rounded up).
    fn per_image(&self) -> usize {
        self.bytes.div_ceil(self.images.max(1)).max(1)
    }

    /// Bytes the whole load would take at the rate so far.
    pub fn projected(&self) -> usize {
        self.total.max(self.images).saturating_mul(self.per_image())
    }
}

/// Whether the load of `decoded` fits in `budget` bytes of pixels at `shape`, projected from
/// what its images took so far; if not, a message naming what they would take, the largest
/// image size at which they would fit and how many fit at this size.
pub fn check_pixel_budget(
    decoded: Decoded,
    shape: InputShape,
    budget: usize,
) -> Result<(), String> {
    let per_image = decoded.per_image();
    let total = decoded.total.max(decoded.images);
    let needed = decoded.projected();
    if needed <= budget && decoded.bytes <= budget {
        return Ok(());
    }
    let fits_here = budget / per_image;
    // At a smaller input an image takes that size at most (or less, kept at its own size).
    let at = |s: InputShape| total.saturating_mul(per_image.min(s.values()));
    let smaller = SUPPORTED_SIZES
        .iter()
        .rev()
        .map(|&size| InputShape::square(size).with_colour(shape.colour()))
        .find(|&s| s.size() < shape.size() && at(s) <= budget);
    let instead = match smaller {
        Some(s) => format!(
            "choose {} px or smaller under Image size in step 1 (they would take {}), or load at most {fits_here} images at this size",
            s.size(),
            amount(at(s))
        ),
        None => format!("load at most {fits_here} images at this size"),
    };
    let estimate = match decoded.images < total {
        true => format!(
            "would take about {} of memory decoded (the first {} took {})",
            amount(needed),
            decoded.images,
            amount(decoded.bytes)
        ),
        false => format!("would take {} of memory decoded", amount(needed)),
    };
    Err(format!(
        "{total} images at {shape} {estimate}, more than the {} this page keeps: {instead}",
        amount(budget)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Colour;

    #[test]
    fn the_full_mednist_at_224_px_kept_at_224_does_not_fit_and_the_message_says_what_would() {
        // 58,954 images x 224 x 224 x 1 byte = 2.958 GB, worked out by hand.
        let shape = InputShape::square(224);
        let decoded = Decoded::at_shape(58_954, shape);
        let message = check_pixel_budget(decoded, shape, PAGE_PIXEL_BUDGET).unwrap_err();
        assert!(message.contains("58954 images at 224x224"), "{message}");
        assert!(message.contains("3.0 GB"), "{message}");
        // 128 px: 58,954 x 16,384 = 966 MB <= 1,073,741,824 bytes.
        assert!(message.contains("choose 128 px"), "{message}");
        assert!(message.contains("966 MB"), "{message}");
        // 1,073,741,824 / 50,176 = 21,399 images.
        assert!(message.contains("at most 21399 images"), "{message}");
        // The positive control: the same images at 128 px fit.
        let at_128 = Decoded::at_shape(58_954, InputShape::square(128));
        assert!(check_pixel_budget(at_128, InputShape::square(128), PAGE_PIXEL_BUDGET).is_ok());
    }

    #[test]
    fn images_kept_at_their_own_64_px_fit_at_224_px() {
        // MedNIST's files are 64 x 64: 58,954 x 4,096 = 241 MB, projected from the first 256.
        let shape = InputShape::square(224);
        let first = Decoded {
            total: 58_954,
            images: 256,
            bytes: 256 * 4096,
        };
        assert!(check_pixel_budget(first, shape, PAGE_PIXEL_BUDGET).is_ok());
        // The control: the same projection with images kept at 224 px stops the load early.
        let kept_whole = Decoded {
            bytes: 256 * 224 * 224,
            ..first
        };
        let message = check_pixel_budget(kept_whole, shape, PAGE_PIXEL_BUDGET).unwrap_err();
        assert!(message.contains("about 3.0 GB"), "{message}");
        assert!(message.contains("the first 256 took 13 MB"), "{message}");
    }

    #[test]
    fn colour_takes_three_times_the_room() {
        let grey = InputShape::square(224);
        let rgb = grey.with_colour(Colour::Rgb);
        // 7,200 x 50,176 = 361 MB fits; three times that (1.08 GB) is past 1 GiB.
        assert!(
            check_pixel_budget(Decoded::at_shape(7_200, grey), grey, PAGE_PIXEL_BUDGET).is_ok()
        );
        let message =
            check_pixel_budget(Decoded::at_shape(7_200, rgb), rgb, PAGE_PIXEL_BUDGET).unwrap_err();
        assert!(message.contains("224x224 RGB"), "{message}");
        assert!(message.contains("1.1 GB"), "{message}");
    }

    #[test]
    fn no_size_fits_says_how_many_images_do() {
        let shape = InputShape::square(28);
        let message =
            check_pixel_budget(Decoded::at_shape(1000, shape), shape, 10_000).unwrap_err();
        assert!(
            message.ends_with("load at most 12 images at this size"),
            "{message}"
        );
    }
}
