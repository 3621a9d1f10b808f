//! The scoring after a run (its test and validation sets), shared with the run's second
//! replica when it had one (the page's training helper on another core,
//! [`crate::training::SharedPass`]): the same logits in the same order as scoring alone
//! (`evaluation::score_samples`), on two cores. A replica that fails is dropped and its share
//! scored here.

use burn::prelude::*;
use burn::tensor::ExecutionError;

use crate::data::{Dataset, Split, Subset};
use crate::evaluation::{Assessment, INFERENCE_BATCH, Scores, assess_scores, score_samples};
use crate::model::Classifier;
use crate::training::{GradientPeer, PassOutput, SharedPass};

/// `evaluation::assess` with its scoring shared with `peer`.
pub async fn assess_shared(
    model: &Classifier,
    dataset: &Dataset,
    split: &Split,
    device: &Device,
    peer: &mut Option<Box<dyn GradientPeer>>,
) -> Result<Assessment, ExecutionError> {
    let subsets = [Subset::Test, Subset::Validation].map(|subset| split.indices(subset));
    let mut scores = Vec::with_capacity(2);
    for indices in &subsets {
        scores.push(score_shared(model, dataset, indices, device, peer).await?);
    }
    let [test, validation] = &subsets;
    Ok(assess_scores(
        dataset, test, &scores[0], validation, &scores[1],
    ))
}

/// The logits of `indices`, each step's first half scored by `peer` when there is one.
pub async fn score_shared(
    model: &Classifier,
    dataset: &Dataset,
    indices: &[usize],
    device: &Device,
    peer: &mut Option<Box<dyn GradientPeer>>,
) -> Result<Scores, ExecutionError> {
    let classes = dataset.classes.len();
    let mut logits = Vec::with_capacity(indices.len() * classes);
    let batch = model.inference_batch(dataset.shape.size() as usize, INFERENCE_BATCH);
    let mut pass = SharedPass::new(model, peer, PassOutput::Logits).await;
    for chunk in indices.chunks(pass.step(batch)) {
        let (theirs, ours) = pass.split(chunk);
        let share = pass.hand_over(dataset, theirs);
        let own = score_samples(model, dataset, ours, device).await?;
        if !theirs.is_empty() {
            match pass.collect(share, Some(classes)).await {
                Some(values) => logits.extend(values),
                None => logits.extend(score_samples(model, dataset, theirs, device).await?.logits),
            }
        }
        logits.extend(own.logits);
    }
    Ok(Scores { classes, logits })
}
