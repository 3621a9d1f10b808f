//! A batch in parts that fit in memory. Fine-tuning EfficientNet-Lite0 at 224 px keeps every
//! layer's activations of every image of the batch for the backward pass (tens of megabytes
//! per image): a batch of 64 would pass what a tab's WebAssembly memory (4 GiB) or a WebGPU
//! buffer can hold. The batch is computed in parts of at most [`part_size`] images and their
//! gradients are summed, each weighted by its share of the batch: the loss is a mean over
//! the batch and the pretrained network's BatchNorm layers are frozen in inference mode, so
//! the sum is the whole batch's gradient (the optimiser step, the batch size and the results
//! are those of one pass; `tests/transfer.rs` checks it).

use burn::module::{ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use std::ops::Range;

use crate::model::Classifier;

/// Activation memory the parts of a batch computed at one time may take, in bytes: one
/// replica's part, or with a second replica (the page's training helper) its part and the
/// trainer's together, so that the second core does not double the tab's memory.
pub const PART_BUDGET: usize = 512 << 20;

/// Images per part of a batch of `batch` images for `model` at `side` px, when `replicas`
/// compute parts at the same time: the whole batch unless the network says what an image
/// takes and the batch would pass each replica's share of [`PART_BUDGET`].
pub fn part_size(model: &Classifier, side: usize, batch: usize, replicas: usize) -> usize {
    let budget = PART_BUDGET / replicas.max(1);
    match model.training_bytes_per_image(side) {
        Some(per_image) => (budget / per_image.max(1)).clamp(1, batch.max(1)),
        None => batch.max(1),
    }
}

/// The parts of `0..count`, each at most `part` long.
pub fn parts(count: usize, part: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let part = part.max(1);
    (0..count.div_ceil(part)).map(move |i| i * part..((i + 1) * part).min(count))
}

/// `a * share_a + b * share_b`, parameter by parameter (a parameter with a gradient in one
/// map only keeps that one, weighted; frozen ones have none in either and get none).
pub fn merge(
    model: &Classifier,
    a: GradientsParams,
    share_a: f32,
    b: GradientsParams,
    share_b: f32,
) -> GradientsParams {
    let mut merge = Merge {
        a,
        share_a,
        b,
        share_b,
        out: GradientsParams::new(),
    };
    model.visit(&mut merge);
    merge.out
}

struct Merge {
    a: GradientsParams,
    share_a: f32,
    b: GradientsParams,
    share_b: f32,
    out: GradientsParams,
}

impl ModuleVisitor for Merge {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let a = self
            .a
            .remove::<D>(param.id)
            .map(|g| g.mul_scalar(self.share_a));
        let b = self
            .b
            .remove::<D>(param.id)
            .map(|g| g.mul_scalar(self.share_b));
        let merged = match (a, b) {
            (Some(a), Some(b)) => a + b,
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => return,
        };
        self.out.register(param.id, merged);
    }
}

/// One part's mean-loss gradients, loss sum and correct count (the sums off the autodiff
/// graph).
pub type PartSums = (GradientsParams, Tensor<1>, Tensor<1, Int>);

/// The gradients of `range` computed by `pass` in parts of at most `size` images, merged with
/// each part weighted by its share (the whole range's mean-loss gradient), with the sums of
/// the parts' loss sums and correct counts. The trainer and the second replica both compute
/// their share of a batch this way, so neither holds more than one part's activations.
pub fn in_parts(
    model: &Classifier,
    range: Range<usize>,
    size: usize,
    mut pass: impl FnMut(Range<usize>) -> PartSums,
) -> PartSums {
    let start = range.start;
    let mut pieces = parts(range.len(), size).map(|p| start + p.start..start + p.end);
    let first = pieces.next().unwrap_or(range);
    let mut seen = first.len();
    let (mut gradients, mut loss, mut correct) = pass(first);
    for part in pieces {
        let n = part.len();
        let (more, more_loss, more_correct) = pass(part);
        let all = (seen + n) as f32;
        gradients = merge(model, gradients, seen as f32 / all, more, n as f32 / all);
        loss = loss + more_loss;
        correct = correct + more_correct;
        seen += n;
    }
    (gradients, loss, correct)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_batch_once_in_order() {
        let all: Vec<_> = parts(64, 24).collect();
        assert_eq!(all, vec![0..24, 24..48, 48..64]);
        assert_eq!(parts(5, 8).collect::<Vec<_>>(), vec![0..5]);
        assert_eq!(parts(0, 8).count(), 0);
    }
}
