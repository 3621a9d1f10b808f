#![cfg(not(target_arch = "wasm32"))]
//! Known-answer test of the explanations: when a class is defined by a bright square in the
//! top-left quadrant, the heat must land there.

mod common;

use burn::prelude::*;
use medclassify::data::{SplitConfig, Subset, split_dataset};
use medclassify::evaluation::{assess, grad_cam, saliency};
use medclassify::model::{ModelConfig, Preset};
use medclassify::native::TerminalHost;
use medclassify::storage::ModelMeta;
use medclassify::training::{CallbackSettings, TrainingConfig, TrainingData, train};

fn quadrant_means(values: &[f32], size: usize) -> [f32; 4] {
    let mut sums = [0.0f32; 4];
    for (i, v) in values.iter().enumerate() {
        let (x, y) = (i % size, i / size);
        sums[(y >= size / 2) as usize * 2 + (x >= size / 2) as usize] += v;
    }
    let n = (size * size / 4) as f32;
    sums.map(|s| s / n)
}

#[test]
fn grad_cam_and_saliency_point_at_the_square() {
    let dataset = common::corner_dataset(40, 32, 5);
    let split = split_dataset(&dataset, &SplitConfig::default()).unwrap();
    let device = Device::flex();
    let config = TrainingConfig {
        preset: Preset::Seed,
        epochs: 6,
        batch_size: 16,
        callbacks: CallbackSettings {
            early_stopping: None,
            reduce_lr: None,
            checkpoint: None,
        },
        ..Default::default()
    };
    let data = TrainingData {
        dataset: &dataset,
        train: split.indices(Subset::Train),
        validation: split.indices(Subset::Validation),
    };
    let meta = ModelMeta::new(
        ModelConfig::new(Preset::Seed, 3, 32),
        dataset.classes.clone(),
    );
    let mut host = TerminalHost::new(None, true);
    let outcome =
        pollster::block_on(train(&data, &config, &device, meta, None, &mut host)).unwrap();
    let assessment = pollster::block_on(assess(&outcome.model, &dataset, &split, &device)).unwrap();
    assert!(
        assessment.evaluation.accuracy >= 0.95,
        "the task is easy: {}",
        assessment.evaluation.accuracy
    );

    let corner = dataset.classes.iter().position(|c| c == "corner").unwrap();
    let tests: Vec<usize> = split
        .indices(Subset::Test)
        .into_iter()
        .filter(|&i| dataset.samples[i].label == corner)
        .collect();
    assert!(!tests.is_empty());
    for &sample in &tests {
        let image = dataset.image(sample);
        for heatmap in [
            pollster::block_on(grad_cam(&outcome.model, image, 32, corner, &device)).unwrap(),
            pollster::block_on(saliency(&outcome.model, image, 32, corner, &device)).unwrap(),
        ] {
            assert_eq!(heatmap.values.len(), 32 * 32);
            let [top_left, top_right, bottom_left, bottom_right] =
                quadrant_means(&heatmap.values, 32);
            let elsewhere = (top_right + bottom_left + bottom_right) / 3.0;
            assert!(
                top_left > 2.0 * elsewhere,
                "{:?}: top-left {top_left} vs elsewhere {elsewhere}",
                heatmap.method
            );
        }
    }
}
