//! Running a trained network: logits and probabilities for many images, read back once per
//! batch without blocking.

use burn::prelude::*;
use burn::tensor::ExecutionError;
use burn::tensor::activation::softmax;

use crate::data::Dataset;
use crate::data::{InputShape, images_tensor, make_batch};
use crate::model::Classifier;

/// Images per inference batch (fewer for a large network at a large size:
/// [`Classifier::inference_batch`]).
pub const INFERENCE_BATCH: usize = 256;

/// Logits of a set of images, row by row (`classes` values per image).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scores {
    /// Number of classes.
    pub classes: usize,
    /// Raw logits.
    pub logits: Vec<f32>,
}

impl Scores {
    /// Softmax probabilities at `temperature` (1 = the model's own).
    pub fn probabilities(&self, temperature: f64) -> Vec<f32> {
        super::softmax_with_temperature(&self.logits, self.classes, temperature)
    }

    /// Number of images scored.
    pub fn len(&self) -> usize {
        self.logits.len() / self.classes.max(1)
    }

    /// True when nothing was scored.
    pub fn is_empty(&self) -> bool {
        self.logits.is_empty()
    }
}

async fn logits_of(model: &Classifier, images: Tensor<4>) -> Result<Vec<f32>, ExecutionError> {
    let data = model.forward(images).into_data_async().await?;
    Ok(data.try_into_vec_as::<f32>().unwrap_or_default())
}

/// Logits for dataset samples `indices` (`model` in inference mode).
pub async fn score_samples(
    model: &Classifier,
    dataset: &Dataset,
    indices: &[usize],
    device: &Device,
) -> Result<Scores, ExecutionError> {
    let mut logits = Vec::with_capacity(indices.len() * dataset.classes.len());
    let batch = model.inference_batch(dataset.shape.size() as usize, INFERENCE_BATCH);
    for chunk in indices.chunks(batch) {
        let (images, _) = make_batch(dataset, chunk, None, device);
        logits.extend(logits_of(model, images).await?);
    }
    Ok(Scores {
        classes: dataset.classes.len(),
        logits,
    })
}

/// Logits for raw images (`pixels` holds whole images of `shape`).
pub async fn score_pixels(
    model: &Classifier,
    pixels: &[u8],
    shape: InputShape,
    classes: usize,
    device: &Device,
) -> Result<Scores, ExecutionError> {
    let mut logits = Vec::with_capacity(pixels.len() / shape.values() * classes);
    let batch = model.inference_batch(shape.size() as usize, INFERENCE_BATCH);
    for chunk in pixels.chunks(batch * shape.values()) {
        logits.extend(logits_of(model, images_tensor(chunk, shape, device)).await?);
    }
    Ok(Scores { classes, logits })
}

/// Probabilities of one batch, computed on the device (for the timing benchmark).
pub async fn probabilities_of(
    model: &Classifier,
    pixels: &[u8],
    shape: InputShape,
    device: &Device,
) -> Result<Vec<f32>, ExecutionError> {
    let data = softmax(model.forward(images_tensor(pixels, shape, device)), 1)
        .into_data_async()
        .await?;
    Ok(data.try_into_vec_as::<f32>().unwrap_or_default())
}
