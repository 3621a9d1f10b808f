//! What a training or scoring step feeds the network: images, or a head-only run's cached
//! backbone features (`features.rs`). A leaf, so that the replicas (`parallel.rs`) and the
//! cache can both name it.

use burn::prelude::*;

use crate::model::Classifier;

/// A network's input for one batch: images, or the frozen backbone's cached features.
pub enum Inputs {
    /// Raw images, `[batch, channels, size, size]`.
    Images(Tensor<4>),
    /// Pooled backbone features, `[batch, features, 1, 1]`.
    Features(Tensor<4>),
}

impl Inputs {
    /// The logits of `model` for these inputs.
    pub fn logits(self, model: &Classifier) -> Tensor<2> {
        match self {
            Inputs::Images(images) => model.forward(images),
            Inputs::Features(features) => model.head(features),
        }
    }
}
