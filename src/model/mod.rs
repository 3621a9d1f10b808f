//! Model: the two network presets and what they share.
//!
//! Every model takes raw pixel intensities (`[batch, channels, size, size]`, values 0..=255) and
//! returns logits (`[batch, classes]`); scaling to 0..1 happens on the device, inside
//! `forward`, so a saved model carries its own preprocessing.

mod layers;
pub mod pretrained;
mod seed;
mod strong;

pub use layers::{Layer, WeightValues, inference_layers};

use burn::prelude::*;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};
use std::fmt;

pub use seed::{SeedConfig, SeedNet};
pub use strong::{StrongConfig, StrongNet};

/// The network presets offered to the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// The reference network of the original notebook: conv32-pool-conv64-pool-dropout-dense.
    Seed,
    /// Four conv-batchnorm-ReLU blocks with global average pooling.
    Strong,
    /// EfficientNet-Lite0 pretrained on ImageNet, with a new head (transfer learning).
    #[serde(rename = "efficientnet_lite0")]
    EfficientNetLite0,
}

impl Preset {
    /// `seed` or `strong`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Seed => "seed",
            Preset::Strong => "strong",
            Preset::EfficientNetLite0 => "efficientnet_lite0",
        }
    }

    /// The network's name in the page's choice.
    pub fn label(self) -> &'static str {
        match self {
            Preset::Seed => "seed (reference CNN)",
            Preset::Strong => "strong (conv-BN-ReLU ×4)",
            Preset::EfficientNetLite0 => "EfficientNet-Lite0 (pretrained)",
        }
    }

    /// What the network is, in a sentence.
    pub fn about(self) -> &'static str {
        match self {
            Preset::Seed => "the reference CNN: conv32-pool-conv64-pool-dropout-dense",
            Preset::Strong => "four conv-BatchNorm-ReLU blocks and global average pooling",
            Preset::EfficientNetLite0 => {
                "EfficientNet-Lite0 pretrained on ImageNet with a new head (transfer learning; 18.8 MB of weights, downloaded once)"
            }
        }
    }

    /// Every preset, in the order the page and the command offer them.
    pub const ALL: [Preset; 3] = [Preset::Seed, Preset::Strong, Preset::EfficientNetLite0];

    /// The pretrained backbone this preset starts from (`None`: trained from scratch).
    pub fn pretrained(self) -> Option<&'static pretrained::BackboneInfo> {
        match self {
            Preset::EfficientNetLite0 => pretrained::backbone("efficientnet_lite0"),
            Preset::Seed | Preset::Strong => None,
        }
    }

    /// Parses `seed` or `strong`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "seed" => Some(Preset::Seed),
            "strong" => Some(Preset::Strong),
            "efficientnet_lite0" | "efficientnet-lite0" => Some(Preset::EfficientNetLite0),
            _ => None,
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

use crate::data::{Colour, InputShape};
pub use pretrained::Transfer;

mod parameters;
pub use crate::data::{MAX_IMAGE_SIZE, MIN_IMAGE_SIZE};
pub use parameters::{parameter_values, read_parameters};
/// The most classes a model may have.
pub const MAX_CLASSES: usize = 1000;
/// The widest first block of the strong network.
pub const MAX_WIDTH: usize = 256;
/// The most weights a network may have (100 MB of `f32`): far above both presets at 128 px,
/// far below what would exhaust a browser tab.
pub const MAX_PARAMETERS: usize = 25_000_000;

/// The configuration of any preset: what a model file records to rebuild the network.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "preset", rename_all = "snake_case")]
pub enum ModelConfig {
    /// See [`SeedConfig`].
    Seed(SeedConfig),
    /// See [`StrongConfig`].
    Strong(StrongConfig),
    /// See [`pretrained::EfficientNetLiteConfig`].
    #[serde(rename = "efficientnet_lite0")]
    EfficientNetLite0(pretrained::EfficientNetLiteConfig),
}

impl ModelConfig {
    /// The default configuration of `preset` for `num_classes` classes and inputs of `shape`.
    pub fn new(preset: Preset, num_classes: usize, shape: InputShape) -> Self {
        match preset {
            Preset::Seed => ModelConfig::Seed(
                SeedConfig::new(num_classes, shape.side()).with_channels(shape.channels()),
            ),
            Preset::Strong => ModelConfig::Strong(
                StrongConfig::new(num_classes, shape.side()).with_channels(shape.channels()),
            ),
            Preset::EfficientNetLite0 => ModelConfig::EfficientNetLite0(
                pretrained::EfficientNetLiteConfig::new(num_classes, shape.side())
                    .with_channels(shape.channels()),
            ),
        }
    }

    /// Which preset this is.
    pub fn preset(&self) -> Preset {
        match self {
            ModelConfig::Seed(_) => Preset::Seed,
            ModelConfig::Strong(_) => Preset::Strong,
            ModelConfig::EfficientNetLite0(_) => Preset::EfficientNetLite0,
        }
    }

    /// Number of output classes.
    pub fn num_classes(&self) -> usize {
        match self {
            ModelConfig::Seed(c) => c.num_classes,
            ModelConfig::Strong(c) => c.num_classes,
            ModelConfig::EfficientNetLite0(c) => c.num_classes,
        }
    }

    /// The input the network takes. The presets' configs keep their `image_size` and
    /// `channels` fields (part of the model file and of Burn's `Config` derive); this is the
    /// one place they become an [`InputShape`]. After [`ModelConfig::validate`] the size is
    /// at most [`MAX_IMAGE_SIZE`], so the conversion is exact.
    pub fn input_shape(&self) -> InputShape {
        let (side, channels) = match self {
            ModelConfig::Seed(c) => (c.image_size, c.channels),
            ModelConfig::Strong(c) => (c.image_size, c.channels),
            ModelConfig::EfficientNetLite0(c) => (c.image_size, c.channels),
        };
        let colour = if channels == 3 {
            Colour::Rgb
        } else {
            Colour::Grayscale
        };
        InputShape::square(u32::try_from(side).unwrap_or(u32::MAX)).with_colour(colour)
    }

    /// Whether the network fits data of `classes` classes at `shape`; the message says what
    /// differs. The one check of a network against data: the trainer, a resumed checkpoint
    /// and an imported model file all go through it.
    pub fn check_input(&self, classes: usize, shape: InputShape) -> Result<(), String> {
        let expected = self.input_shape();
        if self.num_classes() == classes
            && expected.size() == shape.size()
            && expected.colour() != shape.colour()
        {
            return Err(format!(
                "this is a {} model and the data is {}: load the data again with Colour set to {}",
                expected.colour().label(),
                shape.colour().label(),
                expected.colour().label()
            ));
        }
        if self.num_classes() != classes || expected != shape {
            return Err(format!(
                "the network expects {} classes at {expected}, the data has {classes} classes at {shape}",
                self.num_classes()
            ));
        }
        Ok(())
    }

    /// Checks every number before anything is built from it: a model file is untrusted input,
    /// and Burn panics (dropout outside 0..1), divides by zero (size 0), underflows (a seed
    /// network under 10 pixels) or allocates gigabytes (a huge width or class count) on bad
    /// ones. The message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let (classes, size, channels, dropout) = match self {
            ModelConfig::Seed(c) => (c.num_classes, c.image_size, c.channels, c.dropout),
            ModelConfig::Strong(c) => (c.num_classes, c.image_size, c.channels, c.dropout),
            ModelConfig::EfficientNetLite0(c) => {
                (c.num_classes, c.image_size, c.channels, c.dropout)
            }
        };
        if channels != 1 && channels != 3 {
            return Err(format!(
                "channels is {channels}; supported are 1 (grayscale) and 3 (RGB)"
            ));
        }
        if !(2..=MAX_CLASSES).contains(&classes) {
            return Err(format!(
                "num_classes is {classes}; a classifier needs 2 to {MAX_CLASSES} classes"
            ));
        }
        if !(MIN_IMAGE_SIZE..=MAX_IMAGE_SIZE).contains(&size) {
            return Err(format!(
                "image_size is {size}; supported are {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} pixels"
            ));
        }
        if !(dropout.is_finite() && (0.0..1.0).contains(&dropout)) {
            return Err(format!(
                "dropout is {dropout}; it must be at least 0 and below 1"
            ));
        }
        if let ModelConfig::Strong(c) = self
            && !(1..=MAX_WIDTH).contains(&c.width)
        {
            return Err(format!(
                "width is {}; supported are 1 to {MAX_WIDTH}",
                c.width
            ));
        }
        let parameters = self.parameter_estimate();
        if parameters > MAX_PARAMETERS {
            return Err(format!(
                "the network would have {parameters} weights; at most {MAX_PARAMETERS} are supported"
            ));
        }
        Ok(())
    }

    /// The number of weights the network will have (computed, nothing allocated).
    pub fn parameter_estimate(&self) -> usize {
        match self {
            ModelConfig::Seed(c) => {
                let side = c.final_side();
                (9 * c.channels * 32 + 32)
                    + (9 * 32 * 64 + 64)
                    + (64 * side * side + 1) * c.num_classes
            }
            ModelConfig::Strong(c) => {
                let w = c.width;
                let convs = 9 * (c.channels * w + w * 2 * w + 2 * w * 4 * w + 4 * w * 4 * w);
                let norms = 4 * (w + 2 * w + 4 * w + 4 * w);
                convs + norms + (4 * w + 1) * c.num_classes
            }
            ModelConfig::EfficientNetLite0(c) => c.parameter_estimate(),
        }
    }

    /// Builds the network on `device` with freshly initialised weights.
    pub fn init(&self, device: &Device) -> Classifier {
        match self {
            ModelConfig::Seed(c) => Classifier::Seed(c.init(device)),
            ModelConfig::Strong(c) => Classifier::Strong(c.init(device)),
            ModelConfig::EfficientNetLite0(c) => Classifier::EfficientNetLite0(c.init(device)),
        }
    }

    /// Builds the network on `device` as a new run starts it: a pretrained preset with its
    /// backbone's weights from `weights` (and a new head), any other preset freshly
    /// initialised (`weights` unused).
    pub fn init_for_training(
        &self,
        device: &Device,
        weights: Option<&pretrained::WeightsFile>,
    ) -> Result<Classifier, String> {
        let model = self.init(device);
        match (model, weights) {
            (Classifier::EfficientNetLite0(net), Some(weights)) => {
                Ok(Classifier::EfficientNetLite0(net.load_backbone(weights)?))
            }
            (Classifier::EfficientNetLite0(_), None) => Err(format!(
                "{} starts from pretrained weights, and none were supplied",
                self.preset()
            )),
            (model, _) => Ok(model),
        }
    }
}

/// Activation memory one inference batch may take, in bytes.
pub const INFERENCE_BUDGET: usize = 256 << 20;

/// A network of any preset.
// Unboxed although the variants differ in size: a model is held once per run and moved rarely,
// and Burn's `Module` derive would have to see through a `Box` for each variant.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Classifier {
    /// The reference network.
    Seed(SeedNet),
    /// The batch-normalised network.
    Strong(StrongNet),
    /// The pretrained EfficientNet-Lite0 with a new head.
    EfficientNetLite0(pretrained::EfficientNetLite),
}

impl Classifier {
    /// Logits for a batch of raw images.
    ///
    /// - input: `[batch, channels, size, size]`, intensities 0..=255
    /// - output: `[batch, classes]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let features = self.features(images);
        self.head(features)
    }

    /// Class probabilities (softmax of the logits), `[batch, classes]`.
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(images), 1)
    }

    /// Output of the last convolutional layer, after its activation: what Grad-CAM explains.
    ///
    /// - input: `[batch, channels, size, size]`
    /// - output: `[batch, channels, h, w]`
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        let x = images / 255.0;
        match self {
            Classifier::Seed(net) => net.features(x),
            Classifier::Strong(net) => net.features(x),
            Classifier::EfficientNetLite0(net) => net.features(x),
        }
    }

    /// From [`Classifier::features`] to logits.
    pub fn head(&self, features: Tensor<4>) -> Tensor<2> {
        match self {
            Classifier::Seed(net) => net.head(features),
            Classifier::Strong(net) => net.head(features),
            Classifier::EfficientNetLite0(net) => net.head(features),
        }
    }

    /// Bytes a training pass keeps per image at `side` px for the backward pass, for a
    /// network large enough that a batch must be split to fit (`None`: any batch fits).
    pub fn training_bytes_per_image(&self, side: usize) -> Option<usize> {
        match self {
            Classifier::EfficientNetLite0(_) => {
                Some(pretrained::EfficientNetLite::TRAINING_BYTES_PER_PIXEL * side * side)
            }
            _ => None,
        }
    }

    /// Images per inference batch at `side` px: `wanted`, or fewer where the network's
    /// activations of that many images would pass [`INFERENCE_BUDGET`] bytes.
    pub fn inference_batch(&self, side: usize, wanted: usize) -> usize {
        let per_image = match self {
            Classifier::EfficientNetLite0(_) => {
                pretrained::EfficientNetLite::INFERENCE_BYTES_PER_PIXEL * side * side
            }
            _ => return wanted.max(1),
        };
        (INFERENCE_BUDGET / per_image.max(1)).clamp(1, wanted.max(1))
    }

    /// The network prepared for a run that trains `part` of it: everything else frozen (no
    /// gradient, not changed by the optimiser). A pretrained backbone's BatchNorm layers stay
    /// in inference mode in every mode: their statistics are not moved by small batches of a
    /// small data set during training (fine-tuning fits them once before, [`Self::adapt_norm`]).
    /// Networks trained from scratch train everything.
    pub fn prepare_transfer(self, part: Transfer) -> Self {
        match self {
            Classifier::EfficientNetLite0(net) => Classifier::EfficientNetLite0(net.prepare(part)),
            other => other,
        }
    }

    /// A pretrained backbone's BatchNorm statistics re-estimated on `parts` (raw images,
    /// 0..=255), then frozen for `part` ([`pretrained::EfficientNetLite::adapt_norm`]);
    /// networks trained from scratch are returned as they are (and `parts` is not made).
    pub fn adapt_norm(self, parts: impl IntoIterator<Item = Tensor<4>>, part: Transfer) -> Self {
        match self {
            Classifier::EfficientNetLite0(net) => Classifier::EfficientNetLite0(
                net.adapt_norm(parts.into_iter().map(|x| x / 255.0), part),
            ),
            other => other,
        }
    }

    /// Sets the momentum of the running statistics of the BatchNorm layers that training
    /// updates: the network trained from scratch. (A pretrained backbone's statistics stay
    /// frozen, [`Classifier::prepare_transfer`]; the seed network has none.)
    pub fn set_norm_momentum(&mut self, momentum: f64) {
        if let Classifier::Strong(net) = self {
            net.set_norm_momentum(momentum);
        }
    }

    /// The gradients of the parameters that train at the backbone's lower learning rate,
    /// moved out of `gradients` (`None` for networks without a pretrained backbone).
    pub fn take_backbone_gradients(
        &self,
        gradients: &mut burn::optim::GradientsParams,
    ) -> Option<burn::optim::GradientsParams> {
        match self {
            Classifier::EfficientNetLite0(net) => Some(net.take_backbone_gradients(gradients)),
            _ => None,
        }
    }
}
