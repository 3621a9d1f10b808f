//! Decoding any supported image file into an 8-bit square, grayscale or RGB.

use image::{DynamicImage, ImageError, ImageFormat, ImageReader, error::LimitErrorKind};
use std::io::Cursor;

use super::stored::{StoredPixels, planar, resized};
use super::{Colour, InputShape, SkipReason};

/// Input sizes the app offers (side of the square, in pixels). The default is 32.
pub const SUPPORTED_SIZES: [u32; 4] = [28, 32, 64, 128];
/// The smallest image side a file (model or data set) may declare: the seed network's two
/// valid convolutions and two poolings need 10 pixels, the strong network's three poolings 8.
pub const MIN_IMAGE_SIZE: usize = 16;
/// The largest image side a file may declare (the page offers up to 128).
pub const MAX_IMAGE_SIZE: usize = 512;

/// Safety limits for decoding untrusted files.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecodeLimits {
    /// Largest file accepted, in bytes.
    pub max_file_bytes: usize,
    /// Largest image accepted, in pixels (width x height), checked from the header before
    /// any pixel is decoded, so a decompression bomb costs nothing.
    pub max_pixels: u64,
    /// Largest single side accepted, in pixels.
    pub max_side: u32,
    /// Upper bound on the decoder's own allocations, in bytes.
    pub max_alloc: u64,
    /// How DICOM values become 8-bit intensities (the data set's choice; other images are
    /// 8-bit already).
    pub window: super::Window,
    /// Which frames of a multi-frame DICOM file become images (the data set's choice).
    pub frames: super::Frames,
}

impl DecodeLimits {
    /// The default limits with the data set's DICOM choices.
    pub fn with_dicom(options: super::DicomOptions) -> Self {
        Self {
            window: options.window,
            frames: options.frames,
            ..Self::default()
        }
    }
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 * 1024 * 1024,
            max_pixels: 40_000_000,
            max_side: 20_000,
            max_alloc: 256 * 1024 * 1024,
            window: super::Window::FromFile,
            frames: super::Frames::Middle,
        }
    }
}

fn format_name(format: ImageFormat) -> String {
    format!("{format:?}").to_uppercase()
}

/// Decodes `bytes` into `size * size` grayscale pixels (row-major, one `u8` each): see
/// [`decode_pixels`].
pub fn decode_image(bytes: &[u8], size: u32, limits: &DecodeLimits) -> Result<Vec<u8>, SkipReason> {
    decode_pixels(bytes, InputShape::square(size), limits)
}

/// Decodes `bytes` into one image of `shape`: `size * size` pixels per channel, channel after
/// channel, one `u8` each.
///
/// JPEG, PNG, BMP, GIF (first frame), WebP and TIFF (first page) are accepted in any colour
/// type (RGB, RGBA, 16-bit, palette, CMYK). For grayscale, colour becomes luma (ITU-R BT.709 weights); for
/// RGB, a gray file repeats its value in the three channels and alpha is dropped. 16-bit
/// gray is windowed to 8 bits. Images that are not `size` on both sides are resized with a
/// triangle (bilinear, antialiased) filter; non-square images are stretched, as Keras does
/// by default.
pub fn decode_pixels(
    bytes: &[u8],
    shape: InputShape,
    limits: &DecodeLimits,
) -> Result<Vec<u8>, SkipReason> {
    decode_stored(bytes, shape, limits).map(|stored| stored.into_shape(shape))
}

/// [`decode_pixels`] as the data set keeps it: an image no larger than `shape` on either side
/// stays at its own size (the resize to `shape` happens when it is used, the same resize),
/// so small images at a large input size cost their own size in memory.
pub fn decode_stored(
    bytes: &[u8],
    shape: InputShape,
    limits: &DecodeLimits,
) -> Result<StoredPixels, SkipReason> {
    if bytes.is_empty() {
        return Err(SkipReason::Empty);
    }
    if bytes.len() > limits.max_file_bytes {
        return Err(SkipReason::TooLarge {
            detail: format!(
                "file is {} MB; the limit is {} MB",
                bytes.len() / (1024 * 1024),
                limits.max_file_bytes / (1024 * 1024)
            ),
        });
    }
    let format = image::guess_format(bytes).map_err(|_| SkipReason::NotAnImage {
        detail: describe_non_image(bytes),
    })?;
    if !matches!(
        format,
        ImageFormat::Jpeg
            | ImageFormat::Png
            | ImageFormat::Bmp
            | ImageFormat::Gif
            | ImageFormat::WebP
            | ImageFormat::Tiff
    ) {
        return Err(SkipReason::UnsupportedFormat {
            format: format_name(format),
        });
    }
    if format == ImageFormat::Jpeg && !is_complete_jpeg(bytes) {
        return Err(SkipReason::Truncated {
            detail: "the JPEG data ends before its end-of-image marker".into(),
        });
    }

    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|error| map_error(error, format))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels || width > limits.max_side || height > limits.max_side {
        return Err(SkipReason::TooLarge {
            detail: format!(
                "{width} x {height} pixels ({:.0} megapixels); the limit is {:.0} megapixels",
                pixels as f64 / 1e6,
                limits.max_pixels as f64 / 1e6
            ),
        });
    }
    if width == 0 || height == 0 {
        return Err(SkipReason::Corrupt {
            detail: format!("{width} x {height} pixels"),
        });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_side);
    image_limits.max_image_height = Some(limits.max_side);
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits);
    let image = reader.decode().map_err(|error| map_error(error, format))?;
    // 16 bits a sample: kept until the window makes them 8-bit (a straight cut to the top 8
    // bits would leave a 12-bit scan as a few grey levels). 16-bit colour in RGB is cut.
    let bits = match format {
        ImageFormat::Png => png_significant_bits(bytes).unwrap_or(16),
        _ => 16,
    };
    let deep = image.color().bytes_per_pixel() / image.color().channel_count() == 2;
    let deep_gray = deep && !image.color().has_color();
    let size = shape.size();
    // Kept at its own size when the resize would only enlarge it (or stretch one side).
    let small = |w: u32, h: u32| w <= size && h <= size && (w, h) != (size, size);
    Ok(match shape.colour() {
        Colour::Grayscale => {
            let gray = match deep {
                true => window_16bit(&image.into_luma16(), limits.window, bits),
                false => image.into_luma8(),
            };
            match small(gray.width(), gray.height()) {
                true => StoredPixels {
                    native: Some(gray.dimensions()),
                    pixels: gray.into_raw(),
                },
                false => StoredPixels::full(resized(gray, size).into_raw()),
            }
        }
        Colour::Rgb => {
            let rgb = match deep_gray {
                true => DynamicImage::ImageLuma8(window_16bit(
                    &image.into_luma16(),
                    limits.window,
                    bits,
                ))
                .into_rgb8(),
                false => image.into_rgb8(),
            };
            match small(rgb.width(), rgb.height()) {
                true => StoredPixels {
                    native: Some(rgb.dimensions()),
                    pixels: rgb.into_raw(),
                },
                false => StoredPixels::full(planar(&resized(rgb, size))),
            }
        }
    })
}

/// A 16-bit grayscale image to 8 bits. From the file (the default): what the sample means,
/// value / (2^bits - 1) of white, as browsers and image libraries show it, with `bits` the
/// PNG's significant bits (`sBIT`, whose samples are scaled up to 16 bits) or 16; so a 16-bit
/// copy of an 8-bit image (each value times 257) decodes to that image exactly. Min-max
/// stretches the image's own lowest to black and highest to white (which discards its
/// intensities: every image fills the range); a fixed window applies to the raw values.
fn window_16bit(
    image: &image::ImageBuffer<image::Luma<u16>, Vec<u16>>,
    window: super::Window,
    bits: u8,
) -> image::GrayImage {
    let values = image.as_raw();
    let (center, width) = match window {
        super::Window::FromFile => {
            let shift = 16 - u32::from(bits.clamp(1, 16));
            let top = f64::from((1u32 << (16 - shift)) - 1);
            let pixels = values
                .iter()
                .map(|&v| (f64::from(v >> shift) / top * 255.0).round() as u8)
                .collect();
            return image::GrayImage::from_raw(image.width(), image.height(), pixels)
                .unwrap_or_default();
        }
        super::Window::Fixed { center, width } => (center, width),
        super::Window::MinMax => {
            let low = values.iter().copied().min().unwrap_or(0);
            let high = values.iter().copied().max().unwrap_or(0);
            if low == high {
                // A flat image has no range to stretch: its level, scaled from 16 to 8 bits.
                let level = (f64::from(low) / 257.0).round() as u8;
                return image::GrayImage::from_pixel(
                    image.width(),
                    image.height(),
                    image::Luma([level]),
                );
            }
            let width = f64::from(high) - f64::from(low) + 1.0;
            (f64::from(low) + 0.5 + (width - 1.0) / 2.0, width)
        }
    };
    let pixels = values
        .iter()
        .map(|&v| super::apply_window(f64::from(v), center, width))
        .collect();
    image::GrayImage::from_raw(image.width(), image.height(), pixels).unwrap_or_default()
}

/// The significant bits of a PNG's gray samples (its `sBIT` chunk, before the image data),
/// if it says.
fn png_significant_bits(bytes: &[u8]) -> Option<u8> {
    let mut pos = 8; // the signature
    while let Some(header) = bytes.get(pos..pos + 8) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        match &header[4..8] {
            b"sBIT" => return bytes.get(pos + 8).copied().filter(|b| (1..=16).contains(b)),
            b"IDAT" | b"IEND" => return None,
            _ => pos = pos.checked_add(12)?.checked_add(len)?,
        }
    }
    None
}

fn map_error(error: ImageError, format: ImageFormat) -> SkipReason {
    match error {
        ImageError::Limits(limit) => SkipReason::TooLarge {
            detail: match limit.kind() {
                LimitErrorKind::DimensionError => "image dimensions exceed the limit".into(),
                LimitErrorKind::InsufficientMemory => "decoding would need too much memory".into(),
                _ => limit.to_string(),
            },
        },
        ImageError::Unsupported(unsupported) => SkipReason::UnsupportedFormat {
            format: format!("{} ({unsupported})", format_name(format)),
        },
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            SkipReason::Truncated {
                detail: format!("the {} data ends early", format_name(format)),
            }
        }
        other => {
            let detail = other.to_string();
            let lower = detail.to_ascii_lowercase();
            if lower.contains("eof")
                || lower.contains("end of file")
                || lower.contains("unexpected end")
                || lower.contains("no more data")
                || lower.contains("truncat")
            {
                SkipReason::Truncated {
                    detail: format!("the {} data ends early ({detail})", format_name(format)),
                }
            } else {
                SkipReason::Corrupt { detail }
            }
        }
    }
}

/// A short description of a file that is not an image, from its first bytes.
fn describe_non_image(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(512)];
    let printable = head
        .iter()
        .filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        .count();
    if head.starts_with(b"%PDF") {
        "a PDF document".into()
    } else if head.starts_with(b"PK\x03\x04") {
        "a ZIP archive".into()
    } else if head.starts_with(b"DICM") || (bytes.len() > 132 && &bytes[128..132] == b"DICM") {
        "a DICOM file (export it as PNG or JPEG first)".into()
    } else if printable * 10 >= head.len() * 9 {
        "the content is text".into()
    } else {
        "the content matches no known image format".into()
    }
}

/// True when a JPEG stream reaches its end-of-image marker (`FF D9`).
///
/// Walks the marker segments and the entropy-coded data the way a decoder does, so an EOI
/// inside an embedded EXIF thumbnail does not count. Decoders fill the missing part of a
/// cut-short JPEG with grey without an error; this check catches such files.
pub fn is_complete_jpeg(bytes: &[u8]) -> bool {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return false;
    }
    let mut pos = 2;
    loop {
        // Find the next marker (skip fill bytes).
        while pos < bytes.len() && bytes[pos] != 0xFF {
            pos += 1;
        }
        while pos < bytes.len() && bytes[pos] == 0xFF {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos) else {
            return false;
        };
        pos += 1;
        match marker {
            0xD9 => return true,
            0x01 | 0xD0..=0xD7 => continue,
            _ => {
                let Some(len_bytes) = bytes.get(pos..pos + 2) else {
                    return false;
                };
                let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
                if len < 2 || pos + len > bytes.len() {
                    return false;
                }
                pos += len;
                if marker == 0xDA {
                    // Entropy-coded data: runs until a marker other than FF00 or RSTn.
                    loop {
                        while pos < bytes.len() && bytes[pos] != 0xFF {
                            pos += 1;
                        }
                        if pos + 1 >= bytes.len() {
                            return false;
                        }
                        let next = bytes[pos + 1];
                        if next == 0x00 || (0xD0..=0xD7).contains(&next) || next == 0xFF {
                            pos += if next == 0xFF { 1 } else { 2 };
                            continue;
                        }
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn sixteen_bit_pngs_and_tiffs_keep_their_depth_until_the_window() {
        for format in [ImageFormat::Png, ImageFormat::Tiff] {
            sixteen_bits_are_windowed(format);
        }
    }

    fn sixteen_bits_are_windowed(format: ImageFormat) {
        // A 12-bit ramp stored in a 16-bit file without scaling: 1000, 2000, 3000 of 65535.
        // From the file it is as dark as any viewer shows it (4, 8, 12 of 255); min-max
        // stretches it to 0..255; a window applies to the raw values.
        let ramp =
            image::ImageBuffer::<image::Luma<u16>, _>::from_raw(3, 1, vec![1000u16, 2000, 3000])
                .unwrap();
        let png = encode(&DynamicImage::ImageLuma16(ramp), format);
        assert_eq!(image::guess_format(&png).unwrap(), format);
        let limits = DecodeLimits::default();
        let gray = decode_image(&png, 3, &limits).unwrap();
        // 3 x 3 after resizing a 3 x 1 image: every row is the ramp.
        assert_eq!(&gray[..3], &[4, 8, 12]);
        let min_max = DecodeLimits {
            window: crate::data::Window::MinMax,
            ..limits
        };
        assert_eq!(
            &decode_image(&png, 3, &min_max).unwrap()[..3],
            &[0, 128, 255]
        );
        let fixed = DecodeLimits {
            window: crate::data::Window::Fixed {
                center: 1000.0,
                width: 1.0,
            },
            ..limits
        };
        assert_eq!(
            &decode_image(&png, 3, &fixed).unwrap()[..3],
            &[255, 255, 255]
        );
    }

    #[test]
    fn a_16_bit_twin_of_an_8_bit_image_decodes_to_that_image() {
        // The positive control of the file's own meaning: each 8-bit value v stored as
        // v * 257 (what converting an 8-bit image to 16 bits does) comes back as v, at every
        // pixel, for PNG and TIFF; the old min-max default failed this for any image that
        // does not span 0..255.
        let eight = ImageBuffer::from_fn(40, 40, |x, y| Luma([(30 + (x * 3 + y) % 150) as u8]));
        let sixteen =
            ImageBuffer::from_fn(40, 40, |x, y| Luma([eight.get_pixel(x, y)[0] as u16 * 257]));
        for format in [ImageFormat::Png, ImageFormat::Tiff] {
            let a = decode_image(
                &encode(&DynamicImage::ImageLuma8(eight.clone()), format),
                32,
                &DecodeLimits::default(),
            )
            .unwrap();
            let b = decode_image(
                &encode(&DynamicImage::ImageLuma16(sixteen.clone()), format),
                32,
                &DecodeLimits::default(),
            )
            .unwrap();
            assert_eq!(a, b, "{format:?}");
        }
    }

    #[test]
    fn a_png_with_significant_bits_is_read_at_its_precision() {
        // 12 significant bits, scaled up to 16 as the PNG specification asks (bit
        // replication): 4095 is white, 2048 of 4095 is 128 of 255.
        let scaled = |v: u16| (v << 4) | (v >> 8);
        let image = ImageBuffer::from_fn(4, 4, |x, _| {
            Luma([scaled([0u16, 2048, 4095, 1024][x as usize])])
        });
        let png = encode(&DynamicImage::ImageLuma16(image), ImageFormat::Png);
        // Insert an sBIT chunk (length 1, value 12) after IHDR (8 + 25 bytes).
        let mut chunk = vec![0, 0, 0, 1];
        chunk.extend_from_slice(b"sBIT");
        chunk.push(12);
        chunk.extend_from_slice(&crc32(&chunk[4..]).to_be_bytes());
        let with_sbit = [&png[..33], &chunk[..], &png[33..]].concat();
        assert_eq!(png_significant_bits(&with_sbit), Some(12));
        assert_eq!(png_significant_bits(&png), None);
        let gray = decode_image(&with_sbit, 4, &DecodeLimits::default()).unwrap();
        assert_eq!(&gray[..4], &[0, 128, 255, 64]);
    }
    use super::*;
    use image::{DynamicImage, ImageBuffer, Luma, Rgb, Rgba};

    fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn gradient(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(ImageBuffer::from_fn(width, height, |x, y| {
            Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
        }))
    }

    #[test]
    fn every_supported_format_decodes_to_the_requested_square() {
        let image = gradient(48, 40);
        for format in [
            ImageFormat::Png,
            ImageFormat::Jpeg,
            ImageFormat::Bmp,
            ImageFormat::Gif,
            ImageFormat::WebP,
        ] {
            let bytes = encode(&image, format);
            for size in SUPPORTED_SIZES {
                let pixels = decode_image(&bytes, size, &DecodeLimits::default())
                    .unwrap_or_else(|e| panic!("{format:?} at {size}: {e}"));
                assert_eq!(pixels.len(), (size * size) as usize, "{format:?}");
            }
        }
    }

    #[test]
    fn rgba_and_16_bit_become_8_bit_gray() {
        let rgba =
            DynamicImage::ImageRgba8(ImageBuffer::from_pixel(8, 8, Rgba([255, 255, 255, 40])));
        let pixels = decode_image(
            &encode(&rgba, ImageFormat::Png),
            8,
            &DecodeLimits::default(),
        )
        .unwrap();
        assert!(pixels.iter().all(|&p| p == 255));
        let deep = DynamicImage::ImageLuma16(ImageBuffer::from_pixel(8, 8, Luma([0x8000u16])));
        let pixels = decode_image(
            &encode(&deep, ImageFormat::Png),
            8,
            &DecodeLimits::default(),
        )
        .unwrap();
        assert!(pixels.iter().all(|&p| p == 128), "{pixels:?}");
    }

    #[test]
    fn cut_short_jpeg_is_reported_as_truncated() {
        let bytes = encode(&gradient(64, 64), ImageFormat::Jpeg);
        assert!(is_complete_jpeg(&bytes));
        let cut = &bytes[..bytes.len() * 2 / 3];
        assert!(!is_complete_jpeg(cut));
        let error = decode_image(cut, 32, &DecodeLimits::default()).unwrap_err();
        assert_eq!(error.code(), "truncated", "{error}");
    }

    #[test]
    fn bad_inputs_get_the_right_reason() {
        let limits = DecodeLimits::default();
        let png = encode(&gradient(16, 16), ImageFormat::Png);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("zero bytes", vec![], "empty"),
            (
                "text named .jpg",
                b"hello, this is not a picture\n".to_vec(),
                "not_an_image",
            ),
            ("truncated png", png[..png.len() / 2].to_vec(), "truncated"),
            (
                "png with garbage body",
                {
                    let mut b = png.clone();
                    for x in b.iter_mut().skip(40).take(60) {
                        *x ^= 0x5A;
                    }
                    b
                },
                "corrupt",
            ),
        ];
        for (name, bytes, code) in cases {
            let error = decode_image(&bytes, 32, &limits).unwrap_err();
            assert_eq!(error.code(), code, "{name}: {error}");
        }
    }

    #[test]
    fn decompression_bomb_is_rejected_from_its_header() {
        // A 30000 x 30000 one-colour PNG compresses to a few hundred KB; build only its header
        // plus a little data: the size check must refuse it before any pixel is decoded.
        let mut bytes = encode(
            &DynamicImage::ImageLuma8(ImageBuffer::from_pixel(1, 1, Luma([0]))),
            ImageFormat::Png,
        );
        // IHDR width/height live at offsets 16..24; patch them and fix the CRC.
        bytes[16..20].copy_from_slice(&30_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&30_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let error = decode_image(&bytes, 32, &DecodeLimits::default()).unwrap_err();
        assert_eq!(error.code(), "too_large", "{error}");
        assert!(error.to_string().contains("30000 x 30000"), "{error}");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
