//! How many decoded images the page may hold. The engine keeps every image as 8-bit pixels in
//! its WebAssembly memory, which cannot grow past 4 GiB, and training, the model and a second
//! data set (a new load replaces the old one only once it succeeded) need the rest: at 224 px
//! the full MedNIST would be 2.96 GB in grayscale and 8.9 GB in colour. A load past the budget
//! stops before its first file is decoded (or, for multi-frame files, at the frame that
//! passes it) with a message that says what would fit, instead of the tab running out of
//! memory half-way.

use super::{InputShape, SUPPORTED_SIZES};

/// Decoded pixels the page holds at most, in bytes.
pub const PAGE_PIXEL_BUDGET: usize = 1 << 30;

/// `bytes` for people (`1.2 GB`, `340 MB`).
fn amount(bytes: usize) -> String {
    if bytes >= 1_000_000_000 {
        format!("{:.1} GB", bytes as f64 / 1e9)
    } else {
        format!("{:.0} MB", (bytes as f64 / 1e6).max(1.0))
    }
}

/// Whether `images` images of `shape` fit in `budget` bytes of decoded pixels; if not, a
/// message naming what they would take, the largest image size at which they fit and how
/// many fit at this size.
pub fn check_pixel_budget(images: usize, shape: InputShape, budget: usize) -> Result<(), String> {
    let needed = images.saturating_mul(shape.values());
    if needed <= budget {
        return Ok(());
    }
    let fits_here = budget / shape.values().max(1);
    let smaller = SUPPORTED_SIZES
        .iter()
        .rev()
        .map(|&size| InputShape::square(size).with_colour(shape.colour()))
        .find(|s| s.size() < shape.size() && images.saturating_mul(s.values()) <= budget);
    let instead = match smaller {
        Some(s) => format!(
            "choose {} px or smaller under Image size in step 1 (they would take {}), or load at most {fits_here} images at this size",
            s.size(),
            amount(images * s.values())
        ),
        None => format!("load at most {fits_here} images at this size"),
    };
    Err(format!(
        "{images} images at {shape} would take {} of memory decoded, more than the {} this page keeps: {instead}",
        amount(needed),
        amount(budget)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Colour;

    #[test]
    fn the_full_mednist_at_224_px_does_not_fit_and_the_message_says_what_would() {
        // 58,954 images x 224 x 224 x 1 byte = 2.958 GB, worked out by hand.
        let shape = InputShape::square(224);
        let message = check_pixel_budget(58_954, shape, PAGE_PIXEL_BUDGET).unwrap_err();
        assert!(message.contains("58954 images at 224x224"), "{message}");
        assert!(message.contains("3.0 GB"), "{message}");
        // 128 px: 58,954 x 16,384 = 966 MB <= 1,073,741,824 bytes.
        assert!(message.contains("choose 128 px"), "{message}");
        assert!(message.contains("966 MB"), "{message}");
        // 1,073,741,824 / 50,176 = 21,399 images.
        assert!(message.contains("at most 21399 images"), "{message}");
        // The positive control: the same images at 128 px fit.
        assert!(check_pixel_budget(58_954, InputShape::square(128), PAGE_PIXEL_BUDGET).is_ok());
    }

    #[test]
    fn colour_takes_three_times_the_room() {
        let grey = InputShape::square(224);
        let rgb = grey.with_colour(Colour::Rgb);
        // 7,200 x 50,176 = 361 MB fits; three times that (1.08 GB) is past 1 GiB.
        assert!(check_pixel_budget(7_200, grey, PAGE_PIXEL_BUDGET).is_ok());
        let message = check_pixel_budget(7_200, rgb, PAGE_PIXEL_BUDGET).unwrap_err();
        assert!(message.contains("224x224 RGB"), "{message}");
        assert!(message.contains("1.1 GB"), "{message}");
    }

    #[test]
    fn no_size_fits_says_how_many_images_do() {
        let message = check_pixel_budget(1000, InputShape::square(28), 10_000).unwrap_err();
        assert!(
            message.ends_with("load at most 12 images at this size"),
            "{message}"
        );
    }
}
