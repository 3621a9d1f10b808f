#![cfg(not(target_arch = "wasm32"))]
//! The ready model shipped with the page (www/models/seed-mednist.mcmodel).

mod common;

use burn::prelude::*;
use medclassify::evaluation::{Evaluation, score_samples};
use medclassify::model::Preset;
use medclassify::native::load_folder;
use medclassify::storage::{ModelFile, decode_weights};

#[test]
fn bundled_model_classifies_the_fixture() {
    let path = common::repo().join("www/models/seed-mednist.mcmodel");
    let file = ModelFile::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(file.meta.model.preset(), Preset::Seed);
    assert_eq!(file.meta.image_size, 32);
    let test = file
        .meta
        .test
        .as_ref()
        .expect("the bundled model carries its test metrics");
    assert!(test.total > 8_000, "tested on the full MedNIST test split");
    assert!(
        test.accuracy >= 0.997,
        "recorded test accuracy {}",
        test.accuracy
    );

    let device = Device::flex();
    let model = decode_weights(&file.meta.model, &file.weights, &device).unwrap();
    let (dataset, _) = load_folder(&common::fixture(), 32, 1).unwrap();
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
