//! Data parallelism for the CPU path.
//!
//! A browser page gives a WebAssembly module one thread per worker, and the Flex CPU backend
//! then computes on one core. To use a second core the trainer hands part of every batch to a
//! [`GradientPeer`]: a second replica of the network (in the page, a helper worker running the
//! same module) that receives the current weights and its images, and returns the gradient of
//! its part's mean loss. The trainer computes the rest of the batch meanwhile, weighs the two
//! gradients by their shares of the batch and takes one optimiser step, so a run with a peer
//! follows the same mathematics as one without (only dropout masks differ).
//!
//! Weights and gradients travel flat: every float parameter in the model's visiting order,
//! concatenated.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Transaction;
use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use super::micro_batch::{in_parts, part_size};
use crate::data::{InputShape, images_tensor};
use crate::model::{Classifier, ModelConfig, Transfer};

/// What a peer needs to build its replica.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PeerSetup {
    /// The network (architecture, classes, input size).
    pub model: ModelConfig,
    /// Seed of the replica's own random streams (dropout).
    pub seed: u64,
    /// The loss's class weights, when the run weighs classes (see `weighting.rs`).
    #[serde(default)]
    pub class_weights: Option<Vec<f32>>,
    /// What a pretrained network trains (`None` for one trained from scratch): the replica
    /// freezes the same parameters and BatchNorm statistics as the trainer, so it returns no
    /// gradient for what is frozen and its BatchNorm uses the running statistics.
    #[serde(default)]
    pub transfer: Option<Transfer>,
}

/// One step's work for a peer.
#[derive(Clone, Debug)]
pub struct PeerStep {
    /// The trainer's current weights, flat.
    pub weights: Vec<f32>,
    /// The peer's images, raw intensities, whole images of the network's input shape.
    pub pixels: Vec<u8>,
    /// Their class indices.
    pub labels: Vec<i32>,
}

/// A peer's answer to a [`PeerStep`].
#[derive(Clone, Debug)]
pub struct PeerGradients {
    /// Gradient of the mean loss over the peer's images, flat.
    pub gradients: Vec<f32>,
    /// Sum of the per-image losses.
    pub loss_sum: f64,
    /// Images classified correctly (before the step).
    pub correct: usize,
    /// Milliseconds the peer spent computing.
    pub compute_ms: f64,
}

/// What a shared pass gives per image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassOutput {
    /// The network's features averaged over the positions (what a head-only run trains on).
    #[default]
    Pooled,
    /// The logits.
    Logits,
}

/// A share of a frozen backbone's feature pass for a peer ([`super::FeatureCache`]).
#[derive(Clone, Debug)]
pub struct FeatureStep {
    /// The network's weights, flat, with the first share (`None`: the ones already sent).
    pub weights: Option<Vec<f32>>,
    /// The images, raw intensities, whole images of the network's input shape.
    pub pixels: Vec<u8>,
    /// What to compute for each.
    pub output: PassOutput,
}

/// A second replica computing gradients on part of each batch, on another core.
///
/// The trainer calls [`start`](Self::start) once, then for each batch
/// [`submit`](Self::submit) and, after computing its own part, [`gradients`](Self::gradients).
/// Any error makes the trainer compute that batch alone and drop the peer. A head-only run of
/// a pretrained network uses the replica for its feature pass instead
/// ([`submit_features`](Self::submit_features), then [`features`](Self::features)).
pub trait GradientPeer {
    /// Builds the replica (asynchronously; errors surface at the first `gradients`).
    fn start(&mut self, setup: &PeerSetup) -> Result<(), String>;
    /// Hands over one step; the peer starts on it at once.
    fn submit(&mut self, step: PeerStep) -> Result<(), String>;
    /// The answer to the last `submit`.
    fn gradients(&mut self) -> LocalBoxFuture<'_, Result<PeerGradients, String>>;
    /// Hands over a share of a feature pass; the peer starts on it at once.
    fn submit_features(&mut self, step: FeatureStep) -> Result<(), String> {
        drop(step);
        Err("this replica does not compute features".into())
    }
    /// The answer to the last `submit_features`: each image's pooled features, flat, image
    /// after image.
    fn features(&mut self) -> LocalBoxFuture<'_, Result<Vec<f32>, String>> {
        Box::pin(async { Err("this replica does not compute features".into()) })
    }
}

/// Number of float values in `model`'s parameters.
pub fn parameter_count(model: &Classifier) -> usize {
    struct Count(usize);
    impl ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0 += param.shape().num_elements();
        }
    }
    let mut count = Count(0);
    model.visit(&mut count);
    count.0
}

/// Every float parameter of `model`, flat, in visiting order (read without blocking).
pub async fn flat_weights(model: &Classifier) -> Result<Vec<f32>, String> {
    Ok(crate::model::parameter_values(model)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// Replaces every float parameter of `model` by the next values of `flat`.
struct LoadFlat<'a> {
    flat: &'a [f32],
    offset: usize,
}

impl ModuleMapper for LoadFlat<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let shape = param.shape();
        let end = self.offset + shape.num_elements();
        let values = self.flat[self.offset..end].to_vec();
        self.offset = end;
        param.map(|tensor| {
            let require_grad = tensor.is_require_grad();
            Tensor::from_data(TensorData::new(values, shape), &tensor.device())
                .set_require_grad(require_grad)
        })
    }
}

/// Reads the gradient of every float parameter, in visiting order (zeros where a parameter
/// has none).
struct GatherGradients<'a> {
    gradients: &'a GradientsParams,
    transaction: Transaction,
    /// Per parameter: `Some(len)` for zeros of that length, `None` for a value in the transaction.
    layout: Vec<Option<usize>>,
}

impl ModuleVisitor for GatherGradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        match self.gradients.get::<D>(param.id) {
            Some(gradient) => {
                let transaction = std::mem::take(&mut self.transaction);
                self.transaction = transaction.register(gradient);
                self.layout.push(None);
            }
            None => self.layout.push(Some(param.shape().num_elements())),
        }
    }
}

/// `share_a * a + share_b * b`, parameter by parameter, where `b` is flat.
struct Combine<'a> {
    own: GradientsParams,
    own_share: f32,
    other: &'a [f32],
    other_share: f32,
    offset: usize,
    device: Device,
    out: GradientsParams,
}

impl ModuleVisitor for Combine<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let shape = param.shape();
        let end = self.offset + shape.num_elements();
        if !param.val().is_require_grad() {
            // Frozen (a pretrained backbone's part, BatchNorm statistics): the peer sent
            // zeros for it, and a zero gradient would still let the optimiser move it.
            self.offset = end;
            return;
        }
        let other = Tensor::<D>::from_data(
            TensorData::new(self.other[self.offset..end].to_vec(), shape),
            &self.device,
        );
        self.offset = end;
        let combined = match self.own.remove::<D>(param.id) {
            Some(own) => own.mul_scalar(self.own_share) + other.mul_scalar(self.other_share),
            None => other.mul_scalar(self.other_share),
        };
        self.out.register(param.id, combined);
    }
}

/// The gradient of the mean loss over a whole batch from the gradients of its two parts:
/// `own` (a gradient map of `model`, from `own_count` images) and `other` (flat, from
/// `other_count` images). `device` is the device the gradients live on (the training device
/// without autodiff).
pub fn combine_gradients(
    model: &Classifier,
    own: GradientsParams,
    own_count: usize,
    other: &[f32],
    other_count: usize,
    device: &Device,
) -> GradientsParams {
    let total = (own_count + other_count) as f32;
    let mut combine = Combine {
        own,
        own_share: own_count as f32 / total,
        other,
        other_share: other_count as f32 / total,
        offset: 0,
        device: device.clone(),
        out: GradientsParams::new(),
    };
    model.visit(&mut combine);
    combine.out
}

/// Every gradient of `model` in `gradients`, flat, in visiting order (read without blocking).
pub async fn flat_gradients(
    model: &Classifier,
    gradients: &GradientsParams,
) -> Result<Vec<f32>, String> {
    let mut gather = GatherGradients {
        gradients,
        transaction: Transaction::default(),
        layout: Vec::new(),
    };
    model.visit(&mut gather);
    let GatherGradients {
        transaction,
        layout,
        ..
    } = gather;
    let mut values = if layout.iter().any(Option::is_none) {
        transaction
            .execute_async()
            .await
            .map_err(|error| format!("reading the gradients failed: {error}"))?
            .into_iter()
    } else {
        Vec::new().into_iter()
    };
    let mut flat = Vec::new();
    for entry in layout {
        match entry {
            Some(zeros) => flat.extend(std::iter::repeat_n(0.0, zeros)),
            None => {
                let value = values.next().ok_or("a gradient was not read")?;
                flat.extend(
                    value
                        .try_into_vec_as::<f32>()
                        .map_err(|error| format!("a gradient is not float: {error:?}"))?,
                );
            }
        }
    }
    Ok(flat)
}

/// The peer's side: a replica that turns [`PeerStep`]s into [`PeerGradients`].
pub struct GradientReplica {
    model: Classifier,
    /// The device with automatic differentiation (gradients).
    device: Device,
    /// The same device without (the feature pass).
    plain: Device,
    shape: InputShape,
    parameters: usize,
    class_weights: Option<Vec<f32>>,
    transfer: Option<Transfer>,
    /// Whether a feature pass's weights were loaded.
    loaded: bool,
}

impl GradientReplica {
    /// Builds the replica on `device` (without autodiff; the replica adds it).
    pub fn new(setup: &PeerSetup, device: &Device) -> Self {
        device.seed(setup.seed);
        let autodiff = device.clone().autodiff();
        let model = setup.model.init(&autodiff);
        let model = match setup.transfer {
            Some(part) => model.prepare_transfer(part),
            None => model,
        };
        let parameters = parameter_count(&model);
        Self {
            model,
            device: autodiff,
            plain: device.clone(),
            shape: setup.model.input_shape(),
            parameters,
            class_weights: setup.class_weights.clone(),
            transfer: setup.transfer,
            loaded: false,
        }
    }

    /// Number of weights a step must carry.
    pub fn parameters(&self) -> usize {
        self.parameters
    }

    /// What the step asks of its images, in inference mode, at the step's weights or at the
    /// last ones sent: the pooled features (the network's [`Classifier::features`], averaged
    /// over the positions) or the logits.
    pub async fn features(&mut self, step: &FeatureStep) -> Result<Vec<f32>, String> {
        if let Some(weights) = &step.weights {
            self.load(weights)?;
            self.loaded = true;
        } else if !self.loaded {
            return Err("no weights were sent for the feature pass".into());
        }
        let count = self.images_in(&step.pixels, None)?;
        let model = self.model.valid();
        let images = images_tensor(&step.pixels, self.shape, &self.plain);
        let read = match step.output {
            PassOutput::Pooled => {
                let pooled = model.features(images).mean_dim(3).mean_dim(2);
                debug_assert_eq!(pooled.dims()[0], count);
                pooled.into_data_async().await
            }
            PassOutput::Logits => model.forward(images).into_data_async().await,
        };
        read.map_err(|error| format!("reading the features failed: {error}"))?
            .try_into_vec_as::<f32>()
            .map_err(|error| format!("the features are not float: {error:?}"))
    }

    /// Replaces the replica's weights by `flat`, which must hold all of them.
    fn load(&mut self, flat: &[f32]) -> Result<(), String> {
        if flat.len() != self.parameters {
            return Err(format!(
                "the replica has {} weights, the step carries {}",
                self.parameters,
                flat.len()
            ));
        }
        self.model = self.model.clone().map(&mut LoadFlat { flat, offset: 0 });
        Ok(())
    }

    /// The number of whole images in `pixels` (`expected` of them when given); an error
    /// when they are not whole images or none.
    fn images_in(&self, pixels: &[u8], expected: Option<usize>) -> Result<usize, String> {
        let per_image = self.shape.values();
        let count = expected.unwrap_or(pixels.len() / per_image);
        if count == 0 || pixels.len() != count * per_image {
            return Err(format!(
                "{} pixels do not make {count} images of {}",
                pixels.len(),
                self.shape
            ));
        }
        Ok(count)
    }

    /// Loads the step's weights and computes the gradient of the mean loss over its images,
    /// in parts that fit in memory when the network trains more than a head (as the trainer
    /// computes its own share, [`super::micro_batch`]).
    pub async fn compute(&mut self, step: &PeerStep) -> Result<PeerGradients, String> {
        let count = step.labels.len();
        self.load(&step.weights)?;
        self.images_in(&step.pixels, Some(count))?;
        let size = match self.transfer {
            Some(Transfer::Head) => count,
            // A replica always works beside the trainer: two parts at a time.
            _ => part_size(&self.model, self.shape.size() as usize, count, 2),
        };
        let values = self.shape.values();
        let weights = self.class_weights.as_deref();
        let (gradients, loss_sum, correct) = in_parts(&self.model, 0..count, size, |part| {
            let pixels = &step.pixels[part.start * values..part.end * values];
            let images = images_tensor(pixels, self.shape, &self.device);
            let labels = Tensor::<1, Int>::from_data(
                TensorData::new(step.labels[part.clone()].to_vec(), [part.len()]),
                &self.device,
            );
            let (gradients, loss, correct) =
                part_gradients(&self.model, super::Inputs::Images(images), labels, weights);
            (gradients, loss.inner(), correct.inner())
        });
        let flat = flat_gradients(&self.model, &gradients).await?;
        let (loss_sum, correct) = super::loss::read_sums(loss_sum, correct)
            .await
            .map_err(|error| format!("reading the loss failed: {error}"))?;
        Ok(PeerGradients {
            gradients: flat,
            loss_sum,
            correct: correct as usize,
            compute_ms: 0.0,
        })
    }
}

/// Forward and backward pass over one part of a batch: the gradient of the part's mean loss
/// (class-weighted when `class_weights` are given), the sum of its losses and the number it
/// classified correctly (both still on the device).
pub fn part_gradients(
    model: &Classifier,
    inputs: super::Inputs,
    labels: Tensor<1, Int>,
    class_weights: Option<&[f32]>,
) -> (GradientsParams, Tensor<1>, Tensor<1, Int>) {
    let loss = super::loss::batch_loss(inputs.logits(model), labels, class_weights);
    let gradients = GradientsParams::from_grads(loss.mean.backward(), model);
    (gradients, loss.sum, loss.correct)
}
