#![cfg(not(target_arch = "wasm32"))]
//! Known-answer test of the explanations: when a class is defined by a bright square in the
//! top-left quadrant, the heat must land there and not on an equally bright square that does
//! not decide the class (a copy of the image's brightness would light both: the test checks
//! that too). A test with the deciding square alone was removed: a copy of the brightness
//! passed it.

mod common;

use burn::prelude::*;
use medclassify::data::{Dataset, InputShape, Split, SplitConfig, Subset, split_dataset};
use medclassify::evaluation::{assess, grad_cam, saliency};
use medclassify::model::{Classifier, ModelConfig, Preset};
use medclassify::native::TerminalHost;
use medclassify::training::TrainingData;

/// The seed network trained on `dataset` (a synthetic task it must learn to 95 %).
fn trained(dataset: &Dataset, epochs: usize) -> (Split, Classifier, Device) {
    let split = split_dataset(dataset, &SplitConfig::default()).unwrap();
    let device = Device::flex();
    let config = common::plain_config(Preset::Seed, epochs);
    let data = TrainingData {
        dataset,
        train: split.indices(Subset::Train),
        validation: split.indices(Subset::Validation),
    };
    let network = ModelConfig::new(Preset::Seed, dataset.classes.len(), InputShape::square(32));
    let mut host = TerminalHost::new(None, true);
    let outcome = common::train_on(&data, &config, &network, None, &device, &mut host).unwrap();
    let assessment = pollster::block_on(assess(&outcome.model, dataset, &split, &device)).unwrap();
    assert!(
        assessment.evaluation.accuracy >= 0.95,
        "the task is easy: {}",
        assessment.evaluation.accuracy
    );
    (split, outcome.model, device)
}

/// Mean of `values` (a `size` x `size` map) over the square of `corner_dataset` whose
/// top-left corner is at (`lo`, `lo`).
fn square_mean(values: &[f32], size: usize, lo: usize) -> f32 {
    let inside = |v: usize| (lo + 2..lo + size / 2 - 2).contains(&v);
    let picked: Vec<f32> = values
        .iter()
        .enumerate()
        .filter(|(i, _)| inside(i % size) && inside(i / size))
        .map(|(_, v)| *v)
        .collect();
    picked.iter().sum::<f32>() / picked.len() as f32
}

/// Known answer with a distractor: two equally bright squares, only one of which decides
/// the class. Each explanation (Grad-CAM and Saliency) must light the deciding square at least
/// twice as much as the distractor; a copy of the image's brightness (checked here too) lights
/// both alike.
#[test]
fn grad_cam_and_saliency_light_the_deciding_square_not_the_equally_bright_distractor() {
    let dataset = common::distractor_dataset(60, 32, 7);
    let (split, model, device) = trained(&dataset, 8);

    let corner = dataset.classes.iter().position(|c| c == "corner").unwrap();
    let with_distractor: Vec<usize> = split
        .indices(Subset::Test)
        .into_iter()
        .filter(|&i| dataset.samples[i].label == corner)
        .filter(|&i| {
            let image: Vec<f32> = dataset.image(i).iter().map(|&v| v as f32).collect();
            square_mean(&image, 32, 16) > 128.0
        })
        .collect();
    assert!(
        with_distractor.len() >= 3,
        "{} test images",
        with_distractor.len()
    );
    for &sample in &with_distractor {
        let image = &*dataset.image(sample);
        let brightness: Vec<f32> = image.iter().map(|&v| v as f32).collect();
        let echo = square_mean(&brightness, 32, 0) / square_mean(&brightness, 32, 16);
        assert!(
            echo < 2.0,
            "the control: brightness lights both squares ({echo})"
        );
        let shape = InputShape::square(32);
        for heatmap in [
            pollster::block_on(grad_cam(&model, image, shape, corner, &device)).unwrap(),
            pollster::block_on(saliency(&model, image, shape, corner, &device)).unwrap(),
        ] {
            let deciding = square_mean(&heatmap.values, 32, 0);
            let distractor = square_mean(&heatmap.values, 32, 16);
            assert!(
                deciding > 2.0 * distractor,
                "{:?}, sample {sample}: deciding square {deciding} vs distractor {distractor}",
                heatmap.method
            );
        }
    }
}

/// An image decoded for another model is a refusal the page shows as a warning (load it
/// again), told apart from a failure by its type, not by its wording; the same image at the
/// model's size is explained (the control).
#[test]
fn an_image_of_another_size_is_refused_as_such() {
    use medclassify::session::{CurrentModel, ExplainError, explain};
    let bytes = std::fs::read(common::repo().join("www/models/seed-mednist.mcmodel")).unwrap();
    let current = CurrentModel::import("seed", &bytes, None, Device::flex()).unwrap();
    let values = current.file.meta.shape().values();
    let method = medclassify::evaluation::ExplainMethod::GradCam;
    let wrong = pollster::block_on(explain(&current, &vec![128; values + 1], None, method));
    assert_eq!(wrong.unwrap_err(), ExplainError::DecodedForAnotherModel);
    let right = pollster::block_on(explain(&current, &vec![128; values], None, method));
    assert!(right.is_ok(), "{:?}", right.err());
}
