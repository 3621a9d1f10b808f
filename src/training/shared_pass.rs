//! A forward pass shared with the second replica (the page's training helper on another
//! core): each step's first half goes to the replica while this side computes the rest, for
//! the frozen backbone's features of a head-only run ([`super::FeatureCache`]), for the
//! scores of the test and validation sets after a run and for Predict (`session`'s scoring).
//! The weights travel once, with the first share. A replica that fails is dropped (the
//! reason kept for the caller to tell) and its share computed here.

use super::GradientPeer;
use super::parallel::{FeatureStep, PassOutput};
use crate::data::Dataset;
use crate::model::Classifier;
use burn::prelude::*;

/// A pass in progress, with or without a replica.
pub struct SharedPass<'p> {
    peer: &'p mut Option<Box<dyn GradientPeer>>,
    weights: Option<Vec<f32>>,
    output: PassOutput,
    /// Why the replica was dropped, until the caller takes it.
    failure: Option<String>,
}

/// A share handed to the replica: how many images.
pub struct Share(usize);

impl<'p> SharedPass<'p> {
    /// A pass of `model` giving `output`, shared with `peer` when there is one (dropped, the
    /// reason kept, when the weights cannot be read for it).
    pub async fn new(
        model: &Classifier,
        peer: &'p mut Option<Box<dyn GradientPeer>>,
        output: PassOutput,
    ) -> Self {
        let mut pass = Self {
            weights: None,
            peer,
            output,
            failure: None,
        };
        if pass.peer.is_some() {
            match super::flat_weights(model).await {
                Ok(weights) => pass.weights = Some(weights),
                Err(error) => pass.drop_peer(error),
            }
        }
        pass
    }

    /// A pass with `peer`'s replica already holding `model`'s weights (sent with an earlier
    /// pass of the same model): no weights travel.
    pub fn loaded(peer: &'p mut Option<Box<dyn GradientPeer>>, output: PassOutput) -> Self {
        Self {
            weights: None,
            peer,
            output,
            failure: None,
        }
    }

    /// Whether the replica is there and holds the weights (sent with a share of this pass, or
    /// before it).
    pub fn replica_loaded(&self) -> bool {
        self.peer.is_some() && self.weights.is_none()
    }

    /// Images a step takes: `batch` for each replica.
    pub fn step(&self, batch: usize) -> usize {
        batch * (1 + usize::from(self.peer.is_some()))
    }

    /// How many of a step's `images` go to the replica: the first half, when there is one.
    pub fn replica_share(&self, images: usize) -> usize {
        match self.peer.is_some() {
            true => images / 2,
            false => 0,
        }
    }

    /// A step's images as (the replica's, this side's): the first half to the replica.
    pub fn split<'s>(&self, chunk: &'s [usize]) -> (&'s [usize], &'s [usize]) {
        chunk.split_at(self.replica_share(chunk.len()))
    }

    /// Hands `samples` to the replica (the weights with the first share).
    pub fn hand_over(&mut self, dataset: &Dataset, samples: &[usize]) -> Share {
        let pixels = match self.peer.is_some() {
            true => samples
                .iter()
                .flat_map(|&i| dataset.image(i).to_vec())
                .collect(),
            false => Vec::new(),
        };
        self.hand_over_pixels(pixels, samples.len())
    }

    /// Hands `images` whole images (`pixels`, of the network's input shape) to the replica.
    pub fn hand_over_pixels(&mut self, pixels: Vec<u8>, images: usize) -> Share {
        let Some(helper) = self.peer.as_mut().filter(|_| images > 0) else {
            return Share(0);
        };
        let step = FeatureStep {
            weights: self.weights.take(),
            pixels,
            output: self.output,
        };
        match helper.submit_features(step) {
            Ok(()) => Share(images),
            Err(error) => {
                self.drop_peer(error);
                Share(0)
            }
        }
    }

    /// The replica's values for `share` (`per_image` each when known), flat, image after
    /// image; `None` when it failed (dropped) or handed nothing.
    pub async fn collect(&mut self, share: Share, per_image: Option<usize>) -> Option<Vec<f32>> {
        let helper = self.peer.as_mut().filter(|_| share.0 > 0)?;
        let answer = helper.features().await.and_then(|values| {
            let whole = !values.is_empty() && values.len() % share.0 == 0;
            let fits = per_image.is_none_or(|n| values.len() == n * share.0);
            match whole && fits {
                true => Ok(values),
                false => Err(format!("{} values for {} images", values.len(), share.0)),
            }
        });
        match answer {
            Ok(values) => Some(values),
            Err(error) => {
                self.drop_peer(error);
                None
            }
        }
    }

    /// Why the replica was dropped, once.
    pub fn take_failure(&mut self) -> Option<String> {
        self.failure.take()
    }

    fn drop_peer(&mut self, why: String) {
        if self.peer.take().is_some() {
            self.failure = Some(why);
        }
    }
}

/// `[n, values / n, 1, 1]` on `device`: `n` images' pooled features from flat values.
pub fn pooled_tensor(values: Vec<f32>, n: usize, device: &Device) -> Tensor<4> {
    let shape = [n, values.len() / n.max(1), 1, 1];
    Tensor::from_data(TensorData::new(values, shape), device)
}
