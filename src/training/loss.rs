//! The loss and the number classified right of a batch, and reading their sums back: one
//! place for the training step's parts, the helper's share and the validation pass, so that
//! the figures an epoch reports are computed the same way wherever the batch ran.

use burn::prelude::*;
use burn::tensor::{ExecutionError, Transaction};

use super::weighting::cross_entropy;

/// A batch's loss, still on the device.
pub struct BatchLoss {
    /// The (class-weighted) mean cross-entropy: what the gradient is taken of.
    pub mean: Tensor<1>,
    /// The sum of the images' terms (the mean times the batch's size), so that the parts of a
    /// batch add up to the whole.
    pub sum: Tensor<1>,
    /// How many images the logits classify right.
    pub correct: Tensor<1, Int>,
}

/// The loss of `logits` against `labels` (weighted per class when `class_weights` are given;
/// the plain cross-entropy, bit for bit, when not) and the number classified right.
pub fn batch_loss(
    logits: Tensor<2>,
    labels: Tensor<1, Int>,
    class_weights: Option<&[f32]>,
) -> BatchLoss {
    let count = labels.dims()[0];
    let correct = logits
        .clone()
        .argmax(1)
        .reshape([count])
        .equal(labels.clone())
        .int()
        .sum();
    let mean = cross_entropy(logits, labels, class_weights);
    let sum = mean.clone().mul_scalar(count as f32);
    BatchLoss { mean, sum, correct }
}

/// Reads a loss sum and a correct count back in one transaction (one wait for the device
/// instead of two); a value that does not read as a number is NaN.
pub async fn read_sums(
    loss: Tensor<1>,
    correct: Tensor<1, Int>,
) -> Result<(f64, f64), ExecutionError> {
    let values = Transaction::default()
        .register(loss)
        .register(correct)
        .execute_async()
        .await?;
    let first = |index: usize| {
        values[index]
            .clone()
            .try_into_vec_as::<f64>()
            .ok()
            .and_then(|v| v.first().copied())
            .unwrap_or(f64::NAN)
    };
    Ok((first(0), first(1)))
}
