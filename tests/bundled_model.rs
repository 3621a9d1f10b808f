#![cfg(not(target_arch = "wasm32"))]
//! The ready model shipped with the page (www/models/seed-mednist.mcmodel).

mod common;

use burn::prelude::*;
use medclassify::data::{InputShape, Manifest, Subset, split_dataset};
use medclassify::evaluation::{Evaluation, score_samples};
use medclassify::model::Preset;
use medclassify::native::load_folder;
use medclassify::storage::{ModelFile, decode_weights};

/// The shipped model loads and agrees with the shipped sample (images it may have been
/// trained on: a smoke test of the file and the page's first screen, not a score; the score
/// is measured on the held-out split below).
#[test]
fn bundled_model_loads_and_classifies_the_shipped_sample() {
    let path = common::repo().join("www/models/seed-mednist.mcmodel");
    let file = ModelFile::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(file.meta.model.preset(), Preset::Seed);
    // Written before colour existed (no `channels` in its network): read as grayscale.
    assert_eq!(file.meta.shape(), InputShape::square(32));

    let device = Device::flex();
    let model = decode_weights(&file.meta.model, &file.weights, &device).unwrap();
    let (dataset, _) = load_folder(&common::fixture(), InputShape::square(32), 1).unwrap();
    assert_eq!(dataset.classes, file.meta.classes);
    let indices: Vec<usize> = (0..dataset.len()).collect();
    let scores = pollster::block_on(score_samples(&model, &dataset, &indices, &device)).unwrap();
    let evaluation = Evaluation::from_probabilities(
        &dataset.classes,
        &scores.probabilities(1.0),
        &dataset.labels(),
    );
    assert!(
        evaluation.accuracy >= 0.99,
        "fixture accuracy {} ({:?})",
        evaluation.accuracy,
        evaluation.confusion
    );
}

/// The ready model re-scored on the real full-MedNIST test split: the split it was trained
/// with is rebuilt from its recorded settings (the manifest hash proves it is the same split,
/// so none of these images was seen in training), every test image is scored here, and the
/// accuracy is counted here from the predictions, never read from the file's header.
#[test]
fn bundled_model_scores_the_full_mednist_test_split() {
    let Some(dir) = common::full_mednist() else {
        return;
    };
    let path = common::repo().join("www/models/seed-mednist.mcmodel");
    let file = ModelFile::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
    let recorded = file.meta.data.as_ref().expect("the model records its data");
    let (dataset, _) = load_folder(&dir, InputShape::square(32), 2).unwrap();
    let split = split_dataset(&dataset, &recorded.split).unwrap();
    assert_eq!(
        Manifest::new(&dataset, &split).digest(),
        recorded.manifest_sha256,
        "the same split as in training"
    );
    let test = split.indices(Subset::Test);
    assert!(test.len() > 8_000, "{} test images", test.len());

    let device = Device::flex();
    let model = decode_weights(&file.meta.model, &file.weights, &device).unwrap();
    let scores = pollster::block_on(score_samples(&model, &dataset, &test, &device)).unwrap();
    let classes = dataset.classes.len();
    let correct = scores
        .logits
        .chunks_exact(classes)
        .zip(&test)
        .filter(|&(row, &i)| {
            let best = (0..classes)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap();
            best == dataset.samples[i].label
        })
        .count();
    let accuracy = correct as f64 / test.len() as f64;
    eprintln!(
        "bundled model on the full MedNIST test split: {correct} / {} = {:.4}",
        test.len(),
        accuracy
    );
    assert!(accuracy >= 0.997, "test accuracy {accuracy}");
    let header = file.meta.test.as_ref().unwrap();
    assert_eq!(
        header.total,
        test.len(),
        "the header's test set is this one"
    );
    assert_eq!(
        header.correct, correct,
        "the header's score is the real one"
    );
}
