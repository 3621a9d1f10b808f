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
    // The figure the page shows beside the model is the header's accuracy: it must be that
    // count, not a number of its own.
    assert!(
        (header.accuracy - accuracy).abs() < 1e-12,
        "the header says {}, the count gives {accuracy}",
        header.accuracy
    );
}

/// A 16-bit PNG means value / 65535 of white, as a browser shows it: each shipped JPEG saved
/// as a 16-bit grayscale PNG (value x 257) gets the same class and probabilities from the
/// ready model as its 8-bit twin (positive control: under the old default, stretching each
/// 16-bit image to its own min and max, this test fails: a ChestCT twin became BreastMRI).
#[test]
fn a_16_bit_png_and_its_8_bit_twin_get_the_same_prediction() {
    let dir = common::temp_dir("sixteen-bit-twins");
    let mut eight = Vec::new();
    let mut sixteen = Vec::new();
    for class in std::fs::read_dir(common::fixture()).unwrap().flatten() {
        for file in std::fs::read_dir(class.path()).unwrap().flatten().take(4) {
            let gray = image::open(file.path()).unwrap().into_luma8();
            let deep = image::ImageBuffer::from_fn(gray.width(), gray.height(), |x, y| {
                image::Luma([u16::from(gray.get_pixel(x, y)[0]) * 257])
            });
            let name = format!(
                "{}-{}",
                class.file_name().to_string_lossy(),
                file.file_name().to_string_lossy()
            );
            let a = dir.join(format!("{name}.8.png"));
            let b = dir.join(format!("{name}.16.png"));
            gray.save(&a).unwrap();
            image::DynamicImage::ImageLuma16(deep).save(&b).unwrap();
            eight.push(a.display().to_string());
            sixteen.push(b.display().to_string());
        }
    }
    let model = common::repo().join("www/models/seed-mednist.mcmodel");
    let predict = |files: &[String]| -> Vec<serde_json::Value> {
        let args: Vec<&str> = ["predict", "--model", model.to_str().unwrap(), "--json"]
            .into_iter()
            .chain(files.iter().map(String::as_str))
            .collect();
        let (ok, stdout, stderr, _) = common::run_cli(&args);
        assert!(ok, "{stderr}");
        serde_json::from_str(&stdout).unwrap()
    };
    let (a, b) = (predict(&eight), predict(&sixteen));
    assert_eq!(a.len(), 24);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x["class"], y["class"], "{x} / {y}");
        assert_eq!(x["top"], y["top"], "{x} / {y}");
    }
}
