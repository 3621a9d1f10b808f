//! Shared helpers for the native tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use medclassify::data::{Dataset, DatasetBuilder};

/// The shipped MedNIST subset.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("www/sample/MedNIST")
}

/// A fresh empty folder under the target directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("medclassify-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies the fixture into `dir` (class folders directly below it).
pub fn copy_fixture(dir: &Path) {
    for class in std::fs::read_dir(fixture()).unwrap().flatten() {
        let target = dir.join(class.file_name());
        std::fs::create_dir_all(&target).unwrap();
        for file in std::fs::read_dir(class.path()).unwrap().flatten() {
            std::fs::copy(file.path(), target.join(file.file_name())).unwrap();
        }
    }
}

/// Encodes `image` as `format`.
pub fn encode(image: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A two-class synthetic data set: class `corner` has a bright square in the top-left
/// quadrant on a noisy background, class `plain` is noise only.
pub fn corner_dataset(per_class: usize, size: u32, seed: u64) -> Dataset {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut noise = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) % 60) as u8 + 20
    };
    let mut builder = DatasetBuilder::new(size);
    for i in 0..per_class * 2 {
        let corner = i % 2 == 0;
        let side = size as usize;
        let mut pixels = vec![0u8; side * side];
        for (p, v) in pixels.iter_mut().enumerate() {
            let (x, y) = (p % side, p / side);
            *v = noise();
            if corner && (2..side / 2 - 2).contains(&x) && (2..side / 2 - 2).contains(&y) {
                *v = 240;
            }
        }
        let image = image::DynamicImage::ImageLuma8(image::GrayImage::from_raw(size, size, pixels).unwrap());
        let class = if corner { "corner" } else { "plain" };
        builder.add_file(&format!("{class}/{i:04}.png"), &encode(&image, image::ImageFormat::Png));
    }
    builder.finish().0
}
