#![cfg(not(target_arch = "wasm32"))]
//! The data pipeline on the shipped MedNIST subset and on folders with bad files.

mod common;

use std::collections::{HashMap, HashSet};

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgba};
use medclassify::data::{
    DatasetBuilder, InputShape, Inspection, Manifest, SplitConfig, Subset, split_dataset,
};
use medclassify::native::load_folder;

#[test]
fn fixture_loads_with_counts_duplicates_and_a_leak_free_split() {
    let (dataset, report) = load_folder(&common::fixture(), InputShape::square(32), 2).unwrap();
    assert_eq!(report.files_seen, 247);
    assert_eq!(dataset.len(), 247);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let counts: Vec<(&str, usize)> = report
        .classes
        .iter()
        .map(|c| (c.name.as_str(), c.count))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("AbdomenCT", 42),
            ("BreastMRI", 40),
            ("CXR", 42),
            ("ChestCT", 40),
            ("Hand", 40),
            ("HeadCT", 43)
        ]
    );
    // An AbdomenCT pair, a CXR pair and three copies of the blank HeadCT image.
    assert_eq!(report.duplicate_groups.len(), 3);
    assert_eq!(report.redundant_files, 4);
    assert_eq!(report.duplicate_groups[0].paths.len(), 3);
    assert_eq!(
        report.duplicate_groups[0].classes,
        vec!["HeadCT".to_string()]
    );
    // Stored as u8: one byte per pixel, nothing else of size.
    assert_eq!(dataset.pixels.len(), 247 * 32 * 32);

    let split = split_dataset(&dataset, &SplitConfig::default()).unwrap();
    for row in &split.counts {
        assert!(
            row.train > 0 && row.validation > 0 && row.test > 0,
            "{row:?}"
        );
        let total = row.train + row.validation + row.test;
        assert!(
            (row.train as f64 / total as f64 - 0.70).abs() < 0.08,
            "{row:?}"
        );
    }
    let mut subsets_of_hash: HashMap<[u8; 32], HashSet<Subset>> = HashMap::new();
    for (sample, subset) in dataset.samples.iter().zip(&split.assignment) {
        subsets_of_hash
            .entry(sample.sha256)
            .or_default()
            .insert(*subset);
    }
    assert!(
        subsets_of_hash.values().all(|s| s.len() == 1),
        "a duplicate group spans two subsets"
    );
}

#[test]
fn split_is_the_same_whatever_the_listing_order_and_depends_on_the_seed() {
    let root = common::fixture();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for class in std::fs::read_dir(&root).unwrap().flatten() {
        for file in std::fs::read_dir(class.path()).unwrap().flatten() {
            let path = format!(
                "{}/{}",
                class.file_name().to_string_lossy(),
                file.file_name().to_string_lossy()
            );
            files.push((path, std::fs::read(file.path()).unwrap()));
        }
    }
    let manifest_for = |order: &[(String, Vec<u8>)], seed: u64| {
        let mut builder = DatasetBuilder::new(InputShape::square(32));
        for (path, bytes) in order {
            builder.add_file(path, bytes);
        }
        let (dataset, _) = builder.finish();
        let split = split_dataset(
            &dataset,
            &SplitConfig {
                seed,
                ..Default::default()
            },
        )
        .unwrap();
        Manifest::new(&dataset, &split).to_csv()
    };
    files.sort();
    let sorted = manifest_for(&files, 7);
    files.reverse();
    let reversed = manifest_for(&files, 7);
    // A fixed interleaving, unlike either order above.
    let mut shuffled = files.clone();
    shuffled.sort_by_key(|(p, _)| {
        p.bytes()
            .rev()
            .map(u64::from)
            .fold(17u64, |h, b| h.wrapping_mul(31).wrapping_add(b))
    });
    let interleaved = manifest_for(&shuffled, 7);
    assert_eq!(sorted, reversed);
    assert_eq!(sorted, interleaved);
    assert_ne!(
        sorted,
        manifest_for(&files, 8),
        "another seed must give another split"
    );
    assert!(sorted.starts_with("path,class,split,sha256\nAbdomenCT/"));
}

#[test]
fn bad_files_are_skipped_with_reasons_and_the_rest_loads() {
    let dir = common::temp_dir("bad-files");
    common::copy_fixture(&dir);
    let hand = dir.join("Hand");
    let jpeg = std::fs::read(
        hand.join(
            std::fs::read_dir(&hand)
                .unwrap()
                .flatten()
                .next()
                .unwrap()
                .file_name(),
        ),
    )
    .unwrap();
    std::fs::write(hand.join("truncated.jpeg"), &jpeg[..jpeg.len() / 2]).unwrap();
    std::fs::write(hand.join("zero.jpeg"), b"").unwrap();
    std::fs::write(
        hand.join("text.jpg"),
        b"this is a text file, not a picture\n",
    )
    .unwrap();
    let mut corrupt = common::encode(
        &DynamicImage::ImageLuma8(ImageBuffer::from_pixel(40, 40, Luma([9]))),
        ImageFormat::Png,
    );
    for b in corrupt.iter_mut().skip(45).take(30) {
        *b ^= 0xA7;
    }
    std::fs::write(hand.join("corrupt.png"), &corrupt).unwrap();
    // A 30000 x 30000 PNG header: rejected from its header, before any pixel is decoded.
    std::fs::write(hand.join("bomb.png"), common::png_bomb()).unwrap();
    // Usable odd formats: RGBA PNG, 16-bit PNG, CMYK JPEG, deep folder.
    std::fs::write(
        hand.join("rgba.png"),
        common::encode(
            &DynamicImage::ImageRgba8(ImageBuffer::from_pixel(50, 70, Rgba([200, 10, 10, 128]))),
            ImageFormat::Png,
        ),
    )
    .unwrap();
    std::fs::write(
        hand.join("deep16.png"),
        common::encode(
            &DynamicImage::ImageLuma16(ImageBuffer::from_fn(64, 64, |x, _| {
                Luma([(x * 1000) as u16])
            })),
            ImageFormat::Png,
        ),
    )
    .unwrap();
    std::fs::write(hand.join("cmyk.jpg"), cmyk_jpeg()).unwrap();
    std::fs::create_dir_all(hand.join("left/older")).unwrap();
    std::fs::write(
        hand.join("left/older/nested.png"),
        common::encode(
            &DynamicImage::ImageLuma8(ImageBuffer::from_pixel(64, 64, Luma([77]))),
            ImageFormat::Png,
        ),
    )
    .unwrap();
    // Skipped by path.
    std::fs::write(dir.join("README.txt"), b"about this folder").unwrap();
    std::fs::write(dir.join(".DS_Store"), b"\0\0\0\x01Bud1").unwrap();
    std::fs::write(hand.join("._000001.jpeg"), b"\0\x05\x16\x07").unwrap();
    std::fs::write(hand.join("Thumbs.db"), b"\xd0\xcf\x11\xe0").unwrap();

    let (dataset, report) = load_folder(&dir, InputShape::square(32), 2).unwrap();
    let reasons: HashMap<&str, &str> = report
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.code()))
        .collect();
    let expected = [
        ("Hand/truncated.jpeg", "truncated"),
        ("Hand/zero.jpeg", "empty"),
        ("Hand/text.jpg", "not_an_image"),
        ("Hand/corrupt.png", "corrupt"),
        ("Hand/bomb.png", "too_large"),
        ("README.txt", "outside_class_folder"),
        (".DS_Store", "hidden"),
        ("Hand/._000001.jpeg", "hidden"),
        ("Hand/Thumbs.db", "hidden"),
    ];
    for (path, code) in expected {
        assert_eq!(
            reasons.get(path),
            Some(&code),
            "{path}: {:?}",
            report.skipped
        );
    }
    assert_eq!(report.skipped.len(), expected.len());
    // Every message names a reason a person understands.
    assert!(report.skipped.iter().all(|s| !s.message.is_empty()));
    // The good odd files were used, the fixture too.
    assert_eq!(dataset.len(), 247 + 4);
    let hand_count = report
        .classes
        .iter()
        .find(|c| c.name == "Hand")
        .unwrap()
        .count;
    assert_eq!(hand_count, 44);
    let nested = dataset
        .samples
        .iter()
        .position(|s| s.path == "Hand/left/older/nested.png")
        .unwrap();
    assert!(dataset.image(nested).iter().all(|&p| p == 77));
}

fn cmyk_jpeg() -> Vec<u8> {
    // image cannot write CMYK; build one with the jpeg-encoder crate's format through image's
    // decoder test: a 4-component Adobe JPEG (kept tiny, generated here).
    let width = 16u16;
    let height = 16u16;
    let mut data = Vec::with_capacity(width as usize * height as usize * 4);
    for y in 0..height {
        for x in 0..width {
            data.extend_from_slice(&[(x * 16) as u8, (y * 16) as u8, 0, 0]);
        }
    }
    let mut out = Vec::new();
    let encoder = jpeg_encoder::Encoder::new(&mut out, 90);
    encoder
        .encode(&data, width, height, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    out
}

#[test]
fn a_class_too_small_to_split_is_named() {
    let dir = common::temp_dir("small-class");
    common::copy_fixture(&dir);
    std::fs::create_dir_all(dir.join("Rare")).unwrap();
    for i in 0..2u8 {
        let image = DynamicImage::ImageLuma8(ImageBuffer::from_pixel(32, 32, Luma([i * 50 + 1])));
        std::fs::write(
            dir.join(format!("Rare/{i}.png")),
            common::encode(&image, ImageFormat::Png),
        )
        .unwrap();
    }
    let (dataset, report) = load_folder(&dir, InputShape::square(32), 1).unwrap();
    let (inspection, split) = Inspection::new(&dataset, &report, &SplitConfig::default());
    assert!(split.is_none());
    let error = inspection.split_error.unwrap();
    assert!(
        error.contains("\"Rare\"") && error.contains("only 2"),
        "{error}"
    );
}

#[test]
fn dropping_duplicates_keeps_one_file_per_group() {
    let (dataset, _) = load_folder(&common::fixture(), InputShape::square(32), 1).unwrap();
    let split = split_dataset(
        &dataset,
        &SplitConfig {
            drop_duplicates: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(split.total(Subset::Dropped), 4);
    let kept: HashSet<[u8; 32]> = dataset
        .samples
        .iter()
        .zip(&split.assignment)
        .filter(|(_, s)| **s != Subset::Dropped)
        .map(|(x, _)| x.sha256)
        .collect();
    assert_eq!(kept.len(), 247 - 4);
}

#[test]
fn fractions_are_checked() {
    let (dataset, _) = load_folder(&common::fixture(), InputShape::square(28), 1).unwrap();
    let bad = SplitConfig {
        train: 0.8,
        validation: 0.15,
        test: 0.15,
        ..Default::default()
    };
    assert!(
        split_dataset(&dataset, &bad)
            .unwrap_err()
            .to_string()
            .contains("sum to 1.100")
    );
    let zero = SplitConfig {
        train: 0.85,
        validation: 0.15,
        test: 0.0,
        ..Default::default()
    };
    assert!(split_dataset(&dataset, &zero).is_err());
    let custom = SplitConfig {
        train: 0.5,
        validation: 0.25,
        test: 0.25,
        ..Default::default()
    };
    let split = split_dataset(&dataset, &custom).unwrap();
    let test = split.total(Subset::Test) as f64 / dataset.len() as f64;
    assert!((test - 0.25).abs() < 0.04, "{test}");
}
