//! A forward pass shared with the second replica (the page's training helper on another
//! core): each step's first half goes to the replica while this side computes the rest, for
//! the frozen backbone's features of a head-only run ([`super::FeatureCache`]) and for the
//! scores of the test and validation sets after a run (`session`'s scoring).
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

    /// Images a step takes: `batch` for each replica.
    pub fn step(&self, batch: usize) -> usize {
        batch * (1 + usize::from(self.peer.is_some()))
    }

    /// A step's images as (the replica's, this side's): the first half to the replica.
    pub fn split<'s>(&self, chunk: &'s [usize]) -> (&'s [usize], &'s [usize]) {
        match self.peer.is_some() {
            true => chunk.split_at(chunk.len() / 2),
            false => (&chunk[..0], chunk),
        }
    }

    /// Hands `samples` to the replica (the weights with the first share).
    pub fn hand_over(&mut self, dataset: &Dataset, samples: &[usize]) -> Share {
        let Some(helper) = self.peer.as_mut().filter(|_| !samples.is_empty()) else {
            return Share(0);
        };
        let step = FeatureStep {
            weights: self.weights.take(),
            pixels: samples
                .iter()
                .flat_map(|&i| dataset.image(i).to_vec())
                .collect(),
            output: self.output,
        };
        match helper.submit_features(step) {
            Ok(()) => Share(samples.len()),
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
