//! Class weighting for imbalanced data, as Keras' `class_weight`: each training image's
//! cross-entropy is multiplied by its class's weight and the batch loss is the mean over the
//! batch. Being a plain mean over images, the loss of a batch split between two replicas is
//! still the count-weighted mean of the parts' losses, so data parallelism stays exact
//! (PyTorch's weighted mean, divided by the sum of the weights, would not be).

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How the classes weigh in the training loss.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeighting {
    /// Every image counts the same.
    #[default]
    None,
    /// Inverse frequency in the training split, `n / (k * n_c)` (scikit-learn's and Keras'
    /// "balanced"): every class contributes the same total weight.
    Balanced,
    /// One weight per class, in class order.
    Custom(Vec<f64>),
}

impl ClassWeighting {
    /// Checks what can be checked without the data (the count is checked against the classes
    /// when training starts).
    pub fn validate(&self) -> Result<(), String> {
        if let ClassWeighting::Custom(weights) = self
            && (weights.is_empty() || weights.iter().any(|w| !(w.is_finite() && *w > 0.0)))
        {
            return Err(format!(
                "class weights must be finite numbers above 0, one per class (got {weights:?})"
            ));
        }
        Ok(())
    }

    /// The weight of each of `classes` classes, given the training labels; `None` when every
    /// image counts the same (the unweighted loss, bit for bit).
    pub fn weights(&self, labels: &[usize], classes: usize) -> Result<Option<Vec<f32>>, String> {
        match self {
            ClassWeighting::None => Ok(None),
            ClassWeighting::Custom(weights) if weights.len() != classes => Err(format!(
                "{} class weights for {classes} classes",
                weights.len()
            )),
            ClassWeighting::Custom(weights) => {
                Ok(Some(weights.iter().map(|&w| w as f32).collect()))
            }
            ClassWeighting::Balanced => {
                let mut counts = vec![0usize; classes];
                for &label in labels {
                    counts[label] += 1;
                }
                let n = labels.len() as f64;
                Ok(Some(
                    counts
                        .iter()
                        // A class absent from the training split contributes nothing anyway.
                        .map(|&c| {
                            if c == 0 {
                                1.0
                            } else {
                                (n / (classes as f64 * c as f64)) as f32
                            }
                        })
                        .collect(),
                ))
            }
        }
    }
}

/// Mean cross-entropy of `logits` against `labels`, each image's term multiplied by its
/// class's weight when there are weights; a one-element tensor.
pub fn cross_entropy(
    logits: Tensor<2>,
    labels: Tensor<1, Int>,
    class_weights: Option<&[f32]>,
) -> Tensor<1> {
    let device = logits.device();
    let Some(weights) = class_weights else {
        return CrossEntropyLossConfig::new()
            .init(&device)
            .forward(logits, labels);
    };
    let [count, _] = logits.dims();
    let picked = log_softmax(logits, 1)
        .gather(1, labels.clone().reshape([count, 1]))
        .reshape([count]);
    let per_class =
        Tensor::<1>::from_data(TensorData::new(weights.to_vec(), [weights.len()]), &device);
    (picked.neg() * per_class.select(0, labels)).mean()
}

/// Which training images an epoch visits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Every training image once, in a seeded shuffled order.
    #[default]
    Shuffle,
    /// As many images as the training split holds, the same number from every class (the
    /// small classes' images repeat, the large classes' are a fresh subset each epoch): the
    /// alternative to class weighting that balances the batches themselves.
    Balanced,
}

impl Sampling {
    /// The epoch's order of `train` (indices into the data set, whose labels `label_of`
    /// gives), drawn with `rng`.
    pub fn order(
        self,
        train: &[usize],
        label_of: impl Fn(usize) -> usize,
        classes: usize,
        rng: &mut ChaCha8Rng,
    ) -> Vec<usize> {
        let mut order = train.to_vec();
        if self == Sampling::Balanced {
            let by_class = shuffled_by_class(train, label_of, classes, rng);
            let per_class = train.len().div_ceil(by_class.len().max(1));
            order.clear();
            for members in &by_class {
                order.extend(members.iter().cycle().take(per_class));
            }
            order.truncate(train.len());
        }
        order.shuffle(rng);
        order
    }
}

/// `train`'s images (indices into the data set, whose labels below `classes` `label_of`
/// gives) class by class, in label order, each class's in an order drawn with `rng`; classes
/// with none left out.
pub(super) fn shuffled_by_class(
    train: &[usize],
    label_of: impl Fn(usize) -> usize,
    classes: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<usize>> {
    let mut by_class = vec![Vec::new(); classes];
    for &index in train {
        by_class[label_of(index)].push(index);
    }
    by_class.retain(|members| !members.is_empty());
    for members in &mut by_class {
        members.shuffle(rng);
    }
    by_class
}
