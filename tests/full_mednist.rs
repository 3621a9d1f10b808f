#![cfg(not(target_arch = "wasm32"))]
//! The data pipeline on the complete real MedNIST (58,954 JPEGs) from ../shared.

mod common;

use std::collections::{HashMap, HashSet};

use medclassify::data::{InputShape, SplitConfig, Subset, split_dataset};
use medclassify::native::load_folder;

#[test]
fn full_mednist_duplicates_split_and_memory() {
    let Some(dir) = common::full_mednist() else {
        return;
    };
    let (dataset, report) = load_folder(&dir, InputShape::square(32), 2).unwrap();
    assert_eq!(report.files_seen, 58_954);
    assert_eq!(dataset.len(), 58_954);
    assert!(report.skipped.is_empty());
    let counts: HashMap<&str, usize> = report
        .classes
        .iter()
        .map(|c| (c.name.as_str(), c.count))
        .collect();
    assert_eq!(counts["BreastMRI"], 8_954);
    assert_eq!(counts["Hand"], 10_000);
    // 348 groups of byte-identical files, 440 redundant files; the largest group is 94 copies
    // of one blank HeadCT image (93 redundant), the other 347 are pairs.
    assert_eq!(report.duplicate_groups.len(), 348);
    assert_eq!(report.redundant_files, 440);
    let biggest = &report.duplicate_groups[0];
    assert_eq!(
        (biggest.paths.len(), biggest.classes.as_slice()),
        (94, &["HeadCT".to_string()][..])
    );
    assert!(
        report.duplicate_groups[1..]
            .iter()
            .all(|g| g.paths.len() == 2)
    );
    let blank = dataset
        .samples
        .iter()
        .position(|s| s.path == biggest.paths[0])
        .unwrap();
    assert!(
        dataset
            .image(blank)
            .iter()
            .all(|&p| p == dataset.image(blank)[0]),
        "the big group is a blank image"
    );
    // u8 storage: the whole set at 32x32 in about 60 MB, well under 100 MB.
    assert!(
        dataset.memory_bytes() < 70_000_000,
        "{} bytes",
        dataset.memory_bytes()
    );

    let split = split_dataset(&dataset, &SplitConfig::default()).unwrap();
    let mut subsets_of_hash: HashMap<[u8; 32], HashSet<Subset>> = HashMap::new();
    for (sample, subset) in dataset.samples.iter().zip(&split.assignment) {
        subsets_of_hash
            .entry(sample.sha256)
            .or_default()
            .insert(*subset);
    }
    assert!(
        subsets_of_hash.values().all(|s| s.len() == 1),
        "no content hash in two subsets"
    );
    for row in &split.counts {
        let total = (row.train + row.validation + row.test) as f64;
        assert!((row.test as f64 / total - 0.15).abs() < 0.01, "{row:?}");
        assert!(
            (row.validation as f64 / total - 0.15).abs() < 0.01,
            "{row:?}"
        );
    }
}
