//! One optimiser step, with the optional second replica computing half of the batch.

use burn::prelude::*;

use burn::optim::GradientsParams;
use std::ops::Range;

use super::micro_batch::{in_parts, part_size};
use super::run::Run;
use super::{
    Inputs, PeerGradients, PeerStep, TrainingError, TrainingHost, combine_gradients,
    flat_gradients, flat_weights, part_gradients,
};
use crate::data::{InputShape, images_tensor};
use crate::model::pretrained::Transfer;

/// One batch: its pixels as the batcher made them (none when the network takes cached
/// features), its samples and their labels.
pub(super) struct Batch<'s> {
    pub pixels: Vec<u8>,
    pub samples: &'s [usize],
    pub labels: Vec<i32>,
}

/// The loss sum and correct count of a step: tensors on the device (read back later, in
/// one transaction per logging interval), plus what the peer already read on its side.
pub(super) struct StepSums {
    pub loss: Tensor<1>,
    pub correct: Tensor<1, Int>,
    pub peer_loss: f64,
    pub peer_correct: f64,
}

impl Batch<'_> {
    fn len(&self) -> usize {
        self.labels.len()
    }

    /// The inputs and labels of `range` of the batch as tensors on `device`: the cached
    /// features when there are, else the images.
    fn part(
        &self,
        range: std::ops::Range<usize>,
        run: &Run<'_>,
        device: &Device,
    ) -> (Inputs, Tensor<1, Int>) {
        let labels = self.labels[range.clone()].to_vec();
        let n = labels.len();
        let inputs = match &run.features {
            Some(cache) => cache.inputs(&self.samples[range], device),
            None => {
                let shape = run.data.dataset.shape;
                let pixels = &self.pixels[range.start * shape.values()..range.end * shape.values()];
                Inputs::Images(images_tensor(pixels, shape, device))
            }
        };
        (
            inputs,
            Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device),
        )
    }
}

/// Sends the second half of the batch to the peer; returns how many images this replica
/// computes (a fixed split, not a timed one, so that a seeded run stays reproducible).
async fn offer_to_peer<H: TrainingHost>(
    run: &mut Run<'_>,
    batch: &Batch<'_>,
    shape: InputShape,
    host: &mut H,
) -> Result<usize, TrainingError> {
    let count = batch.len();
    if count < 2 || run.peer.is_none() || run.features.is_some() {
        return Ok(count);
    }
    let weights = flat_weights(&run.model)
        .await
        .map_err(|e| TrainingError::Execution(e.to_string()))?;
    let split = count - count / 2;
    let step = PeerStep {
        weights,
        pixels: batch.pixels[split * shape.values()..].to_vec(),
        labels: batch.labels[split..].to_vec(),
    };
    let submitted = run.peer.as_mut().map(|helper| helper.submit(step));
    match submitted {
        Some(Ok(())) => Ok(split),
        Some(Err(error)) => {
            run.drop_peer(host, error);
            Ok(count)
        }
        None => Ok(count),
    }
}

/// The peer's answer for its part, checked against the network's size.
async fn peer_answer(run: &mut Run<'_>) -> Result<PeerGradients, String> {
    let parameters = run.parameters;
    match run.peer.as_mut() {
        Some(helper) => helper.gradients().await.and_then(|answer| {
            if answer.gradients.len() == parameters {
                Ok(answer)
            } else {
                Err(format!(
                    "it sent {} gradient values for {parameters} weights",
                    answer.gradients.len()
                ))
            }
        }),
        None => Err("it is gone".into()),
    }
}

/// The mean-loss gradients, loss sum and correct count of `range` of the batch, computed in
/// parts that fit in memory ([`super::micro_batch`]) when the network trains more than a
/// head (a head on cached features or on a frozen backbone keeps no large activations).
fn range_gradients(
    run: &Run<'_>,
    batch: &Batch<'_>,
    range: Range<usize>,
    weights: Option<&[f32]>,
) -> (GradientsParams, Tensor<1>, Tensor<1, Int>) {
    let head_only = run.features.is_some() || run.config.transfer == Transfer::Head;
    let side = run.data.dataset.shape.size() as usize;
    let size = match head_only {
        true => range.len(),
        false => part_size(&run.model, side, range.len(), run.replicas()),
    };
    in_parts(&run.model, range, size, |part: Range<usize>| {
        let (inputs, labels) = batch.part(part, run, &run.train_device);
        let (gradients, loss, correct) = part_gradients(&run.model, inputs, labels, weights);
        (gradients, loss.inner(), correct.inner())
    })
}

/// Computes the batch's gradients (with the peer where there is one) and takes one optimiser
/// step at `learning_rate`.
pub(super) async fn step<H: TrainingHost>(
    run: &mut Run<'_>,
    batch: Batch<'_>,
    learning_rate: f64,
    host: &mut H,
) -> Result<StepSums, TrainingError> {
    let shape = run.data.dataset.shape;
    let count = batch.len();
    let own = offer_to_peer(run, &batch, shape, host).await?;
    let class_weights = run.class_weights.clone();
    let weights = class_weights.as_deref();
    let (mut gradients, loss, correct) = range_gradients(run, &batch, 0..own, weights);
    let mut sums = StepSums {
        loss,
        correct,
        peer_loss: 0.0,
        peer_correct: 0.0,
    };
    if own < count {
        let other = match peer_answer(run).await {
            Ok(answer) => {
                sums.peer_loss = answer.loss_sum;
                sums.peer_correct = answer.correct as f64;
                answer.gradients
            }
            Err(error) => {
                // Nothing is lost: this replica computes the peer's part too.
                run.drop_peer(host, error);
                let (rest, rest_loss, rest_correct) =
                    range_gradients(run, &batch, own..count, weights);
                sums.loss = sums.loss + rest_loss;
                sums.correct = sums.correct + rest_correct;
                flat_gradients(&run.model, &rest)
                    .await
                    .map_err(TrainingError::Execution)?
            }
        };
        gradients = combine_gradients(&run.model, gradients, own, &other, count - own, &run.device);
    }
    let mut model = run.model.clone();
    // A pretrained backbone takes smaller steps than the new head (one optimiser, two calls
    // over disjoint parameters; each parameter keeps its own Adam moments).
    if let Some(backbone) = run.model.take_backbone_gradients(&mut gradients)
        && !backbone.is_empty()
    {
        let rate = learning_rate * run.config.backbone_lr;
        model = run.optimizer.step(rate, model, backbone);
    }
    run.model = run.optimizer.step(learning_rate, model, gradients);
    Ok(sums)
}
