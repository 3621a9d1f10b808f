//! The scoring after a run (its test and validation sets), shared with the run's second
//! replica when it had one (the page's training helper on another core,
//! [`crate::training::SharedPass`]): the same logits in the same order as scoring alone
//! (`evaluation::score_samples`), on two cores. A replica that fails is dropped and its share
//! scored here.

use burn::prelude::*;
use burn::tensor::ExecutionError;

use crate::data::{Dataset, InputShape, Split, Subset};
use crate::evaluation::{Assessment, INFERENCE_BATCH, Scores, assess_scores, score_pixels};
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
    let scorer = Scorer::new(model, dataset.shape, classes, device);
    for chunk in indices.chunks(pass.step(batch)) {
        let step: Vec<u8> = chunk
            .iter()
            .flat_map(|&i| dataset.image(i).to_vec())
            .collect();
        logits.extend(scorer.step(&mut pass, &step).await?);
    }
    Ok(Scores { classes, logits })
}

/// One step of a shared scoring pass: whole raw images of the network's input.
struct Scorer<'m> {
    model: &'m Classifier,
    shape: InputShape,
    classes: usize,
    device: &'m Device,
}

impl<'m> Scorer<'m> {
    fn new(model: &'m Classifier, shape: InputShape, classes: usize, device: &'m Device) -> Self {
        Self {
            model,
            shape,
            classes,
            device,
        }
    }

    /// The logits of `step`'s images, in order: the first half scored by the pass's replica
    /// while this side scores the rest (the replica's share here too when it fails).
    async fn step(
        &self,
        pass: &mut SharedPass<'_>,
        step: &[u8],
    ) -> Result<Vec<f32>, ExecutionError> {
        let (model, shape, classes, device) = (self.model, self.shape, self.classes, self.device);
        let values = shape.values();
        let (theirs, ours) = step.split_at(pass.replica_share(step.len() / values) * values);
        let share = pass.hand_over_pixels(theirs.to_vec(), theirs.len() / values);
        let own = score_pixels(model, ours, shape, classes, device).await?;
        let mut logits = match theirs.is_empty() {
            true => Vec::new(),
            false => match pass.collect(share, Some(classes)).await {
                Some(values) => values,
                None => {
                    score_pixels(model, theirs, shape, classes, device)
                        .await?
                        .logits
                }
            },
        };
        logits.extend(own.logits);
        Ok(logits)
    }
}

/// The second replica of a Predict of many files (the page's second core), kept across its
/// groups so that the weights travel once.
#[derive(Default)]
pub struct ScoringPeer {
    peer: Option<Box<dyn GradientPeer>>,
    loaded: bool,
}

impl ScoringPeer {
    /// Scoring shared with `peer` (started for the model's network).
    pub fn new(peer: Option<Box<dyn GradientPeer>>) -> Self {
        Self {
            peer,
            loaded: false,
        }
    }

    /// Whether the replica is still there (one that failed is dropped).
    pub fn is_sharing(&self) -> bool {
        self.peer.is_some()
    }
}

/// `evaluation::score_pixels` (whole images of `shape`, raw) with each step's first half
/// scored by `peer`'s replica when there is one: Predict's many files on two cores.
pub async fn score_pixels_shared(
    model: &Classifier,
    pixels: &[u8],
    shape: InputShape,
    classes: usize,
    device: &Device,
    peer: &mut ScoringPeer,
) -> Result<Scores, ExecutionError> {
    let values = shape.values();
    let mut logits = Vec::with_capacity(pixels.len() / values * classes);
    let batch = model.inference_batch(shape.size() as usize, INFERENCE_BATCH);
    let mut pass = match peer.loaded {
        true => SharedPass::loaded(&mut peer.peer, PassOutput::Logits),
        false => SharedPass::new(model, &mut peer.peer, PassOutput::Logits).await,
    };
    let scorer = Scorer::new(model, shape, classes, device);
    for step in pixels.chunks(pass.step(batch) * values) {
        logits.extend(scorer.step(&mut pass, step).await?);
    }
    peer.loaded = pass.replica_loaded();
    Ok(Scores { classes, logits })
}
