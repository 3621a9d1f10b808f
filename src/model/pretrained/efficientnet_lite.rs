//! EfficientNet-Lite0 (Tan and Le 2019; the Lite variants of 2020): MBConv blocks with
//! depthwise convolutions and residual adds, ReLU6, no squeeze-and-excitation, a fixed stem
//! and head. The parameter names follow the PyTorch port whose ImageNet weights MedClassify
//! imports (`_conv_stem`, `_blocks.N._depthwise_conv`, ...), so loading is one name per
//! parameter.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;

use super::Transfer;
use super::cpu_kernels::Depthwise;
use super::weights::WeightsFile;
use crate::model::layers::{Layer, Weight, batch_norm_layer, conv_layer, pooled_dense_head};

/// The stages: (repeats, kernel, stride of the first block, expansion, input, output).
const STAGES: [(usize, usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
];
/// Channels of the stem's output.
const STEM: usize = 32;
/// Channels of the last convolution: the features the head (and Grad-CAM) sees.
pub const FEATURES: usize = 1280;
/// The classes of the ImageNet classifier shipped with the weights.
pub const IMAGENET_CLASSES: usize = 1000;
/// BatchNorm's epsilon in the original (TensorFlow) training.
const BN_EPSILON: f64 = 1e-3;
/// BatchNorm's momentum in PyTorch's sense (TensorFlow's decay 0.99).
const BN_MOMENTUM: f64 = 0.01;
/// The input normalisation the weights expect, on 8-bit intensities: `(v - 127) / 128` per
/// channel, as Google's EfficientNet-Lite training did (`MEAN_RGB`, `STDDEV_RGB`), not the
/// ImageNet mean and deviation. Proved in tests/fixtures/imagenet/README.md: the stem's
/// BatchNorm statistics match this input's and not the other, and the photographs agree.
pub const INPUT_MEAN: f32 = 127.0;
/// See [`INPUT_MEAN`].
pub const INPUT_STD: f32 = 128.0;

/// Configuration of [`EfficientNetLite`].
#[derive(Config, Debug)]
pub struct EfficientNetLiteConfig {
    /// Number of classes of the new head.
    pub num_classes: usize,
    /// Side of the square input image (224 as trained; 128, 160 or 192 to trade accuracy for
    /// time).
    pub image_size: usize,
    /// Input channels: 1 (grayscale, repeated to three) or 3 (RGB).
    #[config(default = 3)]
    pub channels: usize,
    /// Dropout before the head, as in the original training.
    #[config(default = 0.2)]
    pub dropout: f64,
}

/// Conv + BatchNorm (+ ReLU6 where the block applies it).
#[derive(Module, Debug)]
pub struct ConvNorm {
    conv: Conv2d,
    norm: BatchNorm,
}

impl ConvNorm {
    fn new(
        channels: [usize; 2],
        kernel: usize,
        stride: usize,
        groups: usize,
        device: &Device,
    ) -> Self {
        Self {
            conv: Conv2dConfig::new(channels, [kernel, kernel])
                .with_stride([stride, stride])
                .with_padding(PADDING)
                .with_groups(groups)
                .with_bias(false)
                .init(device),
            norm: BatchNormConfig::new(channels[1])
                .with_epsilon(BN_EPSILON)
                .with_momentum(BN_MOMENTUM)
                .init(device),
        }
    }

    /// The convolution with the BatchNorm folded into its weights: a frozen BatchNorm is an
    /// affine map per output channel, `scale * y + shift`, so `conv(x, w * scale) + shift` is
    /// the same function at the cost of one pass over the weights (3.4 M values) instead of
    /// four over the activation (the subtraction, division, product and sum of Burn's
    /// `batch_norm`, up to 27 M values per image at 224 px). Gradients still reach the
    /// convolution's weight through the product. A BatchNorm that trains on its batches'
    /// statistics (never here: [`Self::prepare`] freezes them all) keeps Burn's path.
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let norm = &self.norm;
        if x.device().is_autodiff() && norm.training.is_enabled() {
            return norm.forward(self.conv.forward(x));
        }
        let (weight, shift) = self.folded(&x.device());
        self.convolve(x, weight, shift)
    }

    /// [`Self::forward`] of three equal input channels, given one of them (`[batch, 1, h, w]`),
    /// for inference.
    fn forward_grey(&self, x: Tensor<4>) -> Tensor<4> {
        let (weight, shift) = self.folded(&x.device());
        self.convolve(x, weight.sum_dim(1), shift)
    }

    /// `x` convolved with `weight` plus `bias` at this layer's stride and "SAME" pads, in as
    /// many groups as `weight` reads `x`'s channels in.
    fn convolve(&self, x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
        let [_, channels, height, width] = x.dims();
        let [_, per_group, ..] = weight.dims();
        let options = ConvOptions::new_with_padding(
            self.conv.stride,
            self.pads(height, width),
            self.conv.dilation,
            channels / per_group,
        );
        conv2d(x, weight, Some(bias), options)
    }

    /// The convolution's weight and bias with the frozen BatchNorm folded in.
    fn folded(&self, device: &Device) -> (Tensor<4>, Tensor<1>) {
        let norm = &self.norm;
        let mean = norm.running_mean.value().to_device(device);
        let var = norm.running_var.value().to_device(device);
        let scale = norm.gamma.val() / (var + norm.epsilon).sqrt();
        let shift = norm.beta.val() - mean * scale.clone();
        let [out, ..] = self.conv.weight.dims();
        let weight = self.conv.weight.val() * scale.reshape([out, 1, 1, 1]);
        (weight, shift)
    }

    /// [`Self::forward`] then ReLU6. On the CPU, where no gradient passes through (features,
    /// scoring, prediction, the frozen blocks of a partly frozen run), a depthwise
    /// convolution is MedClassify's own kernel, which also adds the bias and applies ReLU6
    /// (`cpu_kernels.rs` says why); anything else is Burn's. (Doing the same bias and ReLU6
    /// pass in place after the other convolutions was 4 % faster natively and 5 % slower in
    /// the page, so those stay Burn's.)
    fn forward_relu6(&self, x: Tensor<4>) -> Tensor<4> {
        let [out, per_group, ..] = self.conv.weight.dims();
        let depthwise = per_group == 1 && self.conv.groups == out && out > 1;
        let gradients =
            x.is_autodiff() && (x.is_tracked() || self.conv.weight.val().is_require_grad());
        let cpu = x.device() == Device::flex();
        if !(depthwise && cpu && !gradients && self.conv.dilation == [1, 1]) {
            return relu6(self.forward(x));
        }
        let device = x.device();
        let (weight, shift) = self.folded(&device);
        let [batch, channels, height, width] = x.dims();
        let geometry = Depthwise {
            channels,
            height,
            width,
            kernel: self.conv.kernel_size[0],
            stride: self.conv.stride[0],
            pads: self.pads(height, width),
        };
        let (input, weight, shift) = (x.into_data(), weight.into_data(), shift.into_data());
        let (Ok(values), Ok(w), Ok(b)) = (
            input.as_slice::<f32>(),
            weight.as_slice::<f32>(),
            shift.as_slice::<f32>(),
        ) else {
            return relu6(self.forward(Tensor::from_data(input, &device)));
        };
        let (rows, columns) = geometry.output();
        let output = geometry.relu6(values, w, b);
        let shape = [batch, channels, rows, columns];
        Tensor::from_data(TensorData::new(output, shape), &device)
    }

    /// The BatchNorm in training mode, its records moved by `momentum` a batch
    /// ([`EfficientNetLite::adapt_norm`]).
    fn thaw_norm(self, momentum: f64) -> Self {
        let mut norm = self.norm.unfreeze();
        norm.momentum = momentum;
        Self { norm, ..self }
    }

    /// The convolution with its BatchNorm's statistics made current after
    /// [`EfficientNetLite::adapt_norm`]'s pass: Burn holds a running state's last update back
    /// until something syncs it (`value()` is "outdated by one update", so the folded
    /// convolutions would compute without the last part's, or with ImageNet's after a pass of
    /// one part), and the pass syncs its records itself rather than leave them to whichever
    /// use comes first.
    fn sync_statistics(self) -> Self {
        let _ = self.norm.running_mean.value_sync();
        let _ = self.norm.running_var.value_sync();
        self
    }

    /// Trainable convolution (or frozen), BatchNorm always frozen.
    fn prepare(self, trainable: bool) -> Self {
        Self {
            // Both ways: a network prepared for one mode may be prepared for another (the
            // head trained first, then every layer).
            conv: if trainable {
                self.conv.unfreeze()
            } else {
                self.conv.freeze()
            },
            norm: self.norm.freeze(),
        }
    }

    /// The convolution's "SAME" pads (before, after) of rows and of columns for a `height` x
    /// `width` input: what Burn's `PaddingConfig2d::Same` applies, and what the folded forward
    /// pass and the ONNX export both use.
    fn pads(&self, height: usize, width: usize) -> [(usize, usize); 2] {
        let [kh, kw] = self.conv.kernel_size;
        let [sh, sw] = self.conv.stride;
        [same_padding(kh, sh, height), same_padding(kw, sw, width)]
    }

    /// The convolution and the BatchNorm as layers for a `side`-pixel input (then the output's
    /// side): "SAME" padding becomes the explicit pads Burn applies at that side.
    fn layers(&self, side: &mut usize) -> [Layer<Weight>; 2] {
        let mut conv = conv_layer(&self.conv);
        if let Layer::Conv { padding, .. } = &mut conv {
            let [(top, bottom), (left, right)] = self.pads(*side, *side);
            *padding = [top, left, bottom, right];
        }
        *side = side.div_ceil(self.conv.stride[0]);
        [conv, batch_norm_layer(&self.norm)]
    }

    fn load(mut self, weights: &WeightsFile, conv: &str, norm: &str) -> Result<Self, String> {
        let device = self.conv.weight.device();
        let shape = self.conv.weight.dims();
        self.conv.weight =
            Param::from_tensor(weights.tensor(&format!("{conv}.weight"), shape, &device)?);
        let [n] = self.norm.gamma.dims();
        let get = |field: &str| weights.tensor(&format!("{norm}.{field}"), [n], &device);
        self.norm.gamma = Param::from_tensor(get("weight")?);
        self.norm.beta = Param::from_tensor(get("bias")?);
        self.norm.running_mean = burn::module::RunningState::new(get("running_mean")?);
        self.norm.running_var = burn::module::RunningState::new(get("running_var")?);
        Ok(self)
    }
}

/// The padding of the original TensorFlow model, "SAME": the output has ceil(input /
/// stride) pixels, and where the padding is odd (a stride of 2 on an even side) the extra row
/// and column go after the image. Symmetric padding moves the logits (chelsea's top-1
/// probability 0.79 -> 0.65).
const PADDING: PaddingConfig2d = PaddingConfig2d::Same;

/// The pads (before, after) of "SAME" along one side of `size` pixels: the output keeps
/// ceil(size / stride) pixels, the odd pixel after.
fn same_padding(kernel: usize, stride: usize, size: usize) -> (usize, usize) {
    let out = size.div_ceil(stride).max(1);
    let total = ((out - 1) * stride + kernel).saturating_sub(size);
    (total / 2, total - total / 2)
}

/// Input pixels per pass of [`EfficientNetLite::features`] on the CPU without gradients: two
/// images at 224 px, whose largest activation (96 channels at 112 px) is 9.6 MB, so that it
/// stays near the cache from one layer to the next where the inference batch (17 images at
/// 224 px) goes through memory at every layer. Measured in the page (wasm, headless Chromium,
/// 2 cores) on the feature pass at 224 px: 28.4-29.3 images/s whole, 36.5-40.3 in fours,
/// 42.0-44.1 in twos, 38.8-42.0 one by one (bench/results/cpu-chunk-2026-12-06.txt).
const CPU_CHUNK_PIXELS: usize = 2 * 224 * 224;

/// Images per pass of [`EfficientNetLite::features`] for `side`-pixel inputs: see
/// [`CPU_CHUNK_PIXELS`]; natively at least one per thread, as Burn's CPU backend spreads a
/// convolution's images over them.
fn cpu_chunk(side: usize) -> usize {
    let images = (CPU_CHUNK_PIXELS / (side * side).max(1)).max(1);
    #[cfg(not(target_arch = "wasm32"))]
    let images = images.max(rayon::current_num_threads());
    images
}

/// From intensities in 0..1 to the normalised values the weights expect, channel by channel.
fn standardise(x: Tensor<4>) -> Tensor<4> {
    (x * 255.0 - INPUT_MEAN) / INPUT_STD
}

/// ReLU6 as a layer.
const RELU6: Layer<Weight> = Layer::Clip { min: 0.0, max: 6.0 };

/// ReLU6, `min(max(x, 0), 6)`, as two one-sided bounds: Burn's `relu6` is a two-sided clamp,
/// which the CPU backend runs as a scalar loop (24 ms on a 20 M-value activation on this
/// machine, one core), where each bound alone vectorises (4.5 ms each). Half the
/// activations of this network go through it. NaN stays NaN, as in the clamp. (Where no
/// gradient is needed on the CPU, the depthwise kernel applies it as it writes.)
fn relu6(x: Tensor<4>) -> Tensor<4> {
    relu(x).clamp_max(6.0)
}

/// Mobile inverted bottleneck: expand (1x1), depthwise (kxk), project (1x1), residual add
/// when the shape is kept.
#[derive(Module, Debug)]
pub struct MbConv {
    expand: Option<ConvNorm>,
    depthwise: ConvNorm,
    project: ConvNorm,
    #[module(skip)]
    residual: bool,
}

impl MbConv {
    fn new(
        kernel: usize,
        stride: usize,
        expansion: usize,
        io: [usize; 2],
        device: &Device,
    ) -> Self {
        let hidden = io[0] * expansion;
        Self {
            expand: (expansion != 1).then(|| ConvNorm::new([io[0], hidden], 1, 1, 1, device)),
            depthwise: ConvNorm::new([hidden, hidden], kernel, stride, hidden, device),
            project: ConvNorm::new([hidden, io[1]], 1, 1, 1, device),
            residual: stride == 1 && io[0] == io[1],
        }
    }

    fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let x = match &self.expand {
            Some(expand) => relu6(expand.forward(input.clone())),
            None => input.clone(),
        };
        let x = self.project.forward(self.depthwise.forward_relu6(x));
        if self.residual { x + input } else { x }
    }

    /// The block as layers for a `side`-pixel input (then the output's side).
    fn layers(&self, side: &mut usize) -> Vec<Layer<Weight>> {
        let mut body = Vec::new();
        if let Some(expand) = &self.expand {
            body.extend(expand.layers(side));
            body.push(RELU6);
        }
        body.extend(self.depthwise.layers(side));
        body.push(RELU6);
        body.extend(self.project.layers(side));
        if self.residual {
            vec![Layer::Residual { body }]
        } else {
            body
        }
    }

    /// The block with `f` applied to each of its convolutions.
    fn map_norms(self, f: impl Fn(ConvNorm) -> ConvNorm) -> Self {
        Self {
            expand: self.expand.map(&f),
            depthwise: f(self.depthwise),
            project: f(self.project),
            residual: self.residual,
        }
    }

    fn prepare(self, trainable: bool) -> Self {
        Self {
            expand: self.expand.map(|e| e.prepare(trainable)),
            depthwise: self.depthwise.prepare(trainable),
            project: self.project.prepare(trainable),
            residual: self.residual,
        }
    }

    fn load(self, weights: &WeightsFile, prefix: &str) -> Result<Self, String> {
        let name = |part: &str| format!("{prefix}.{part}");
        // The PyTorch port numbers the norms from the block's first convolution: without an
        // expansion the depthwise norm is still `_bn1`.
        let expand = match self.expand {
            Some(e) => Some(e.load(weights, &name("_expand_conv"), &name("_bn0"))?),
            None => None,
        };
        Ok(Self {
            expand,
            depthwise: self
                .depthwise
                .load(weights, &name("_depthwise_conv"), &name("_bn1"))?,
            project: self
                .project
                .load(weights, &name("_project_conv"), &name("_bn2"))?,
            residual: self.residual,
        })
    }
}

/// EfficientNet-Lite0 with a head of the user's classes.
#[derive(Module, Debug)]
pub struct EfficientNetLite {
    stem: ConvNorm,
    blocks: Vec<MbConv>,
    top: ConvNorm,
    pool: AdaptiveAvgPool2d,
    dropout: Dropout,
    classifier: Linear,
    #[module(skip)]
    channels: usize,
}

impl EfficientNetLiteConfig {
    /// Builds the network on `device` with freshly initialised weights (see
    /// [`EfficientNetLite::load_backbone`] for the pretrained ones).
    pub fn init(&self, device: &Device) -> EfficientNetLite {
        let mut blocks = Vec::new();
        for (repeats, kernel, stride, expansion, input, output) in STAGES {
            for i in 0..repeats {
                let (s, c_in) = if i == 0 { (stride, input) } else { (1, output) };
                blocks.push(MbConv::new(kernel, s, expansion, [c_in, output], device));
            }
        }
        EfficientNetLite {
            stem: ConvNorm::new([3, STEM], 3, 2, 1, device),
            blocks,
            top: ConvNorm::new([STAGES[6].5, FEATURES], 1, 1, 1, device),
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            dropout: DropoutConfig::new(self.dropout).init(),
            classifier: LinearConfig::new(FEATURES, self.num_classes).init(device),
            channels: self.channels,
        }
    }

    /// The number of weights (the backbone's 3.37 M plus the head).
    pub fn parameter_estimate(&self) -> usize {
        3_371_008 + (FEATURES + 1) * self.num_classes
    }
}

impl EfficientNetLite {
    /// Bytes a training pass of all layers keeps per input pixel of one image (times side x
    /// side), measured: one epoch of `medclassify train --transfer all --size 224` on 71 of
    /// the shipped images on the CPU, batches computed whole, peaked at 354 MB resident with
    /// batches of 6 and 1,024 MB with batches of 24, 37 MB more per image (740 bytes per input
    /// pixel); rounded up. (The outputs of its convolutions add up to about 134 values per
    /// input pixel, which the backward pass keeps with their inputs.)
    pub const TRAINING_BYTES_PER_PIXEL: usize = 800;

    /// Bytes an inference pass holds at once per input pixel of one image: the largest
    /// activation (the first expansion, 24 values per input pixel) with its input and the
    /// next one's, four bytes a value.
    pub const INFERENCE_BYTES_PER_PIXEL: usize = 300;

    /// The blocks [`Transfer::Top`] trains: the last two stages (192 and 320 channels).
    pub const TOP_BLOCKS: usize = 5;

    /// The network as a run that trains `part` of it needs it: the rest frozen, and every
    /// BatchNorm of the backbone frozen in inference mode (its statistics, ImageNet's or those
    /// [`Self::adapt_norm`] fitted, are not moved by a small data set's batches).
    pub fn prepare(self, part: Transfer) -> Self {
        let trained_from = match part {
            Transfer::Head => self.blocks.len() + 1,
            Transfer::Top => self.blocks.len() - Self::TOP_BLOCKS,
            Transfer::All => 0,
        };
        // Trained: the blocks from `trained_from` on; the stem only with them all, the last
        // convolution (after the blocks) in every mode but Head.
        let n = self.blocks.len();
        Self {
            stem: self.stem.prepare(trained_from == 0),
            blocks: self
                .blocks
                .into_iter()
                .enumerate()
                .map(|(i, b)| b.prepare(i >= trained_from))
                .collect(),
            top: self.top.prepare(trained_from <= n),
            ..self
        }
    }

    /// Every BatchNorm's running statistics re-estimated from `parts` (images scaled to 0..1),
    /// then frozen again as `part` wants them (AdaBN; `training::adapt_norm` says why). Each
    /// part goes through in training mode, so that every layer normalises with its own batch
    /// statistics and records them; the records average over the parts, each weighted by its
    /// images (Wu and Johnson's "precise BatchNorm"). Weights do not change. `parts` is
    /// consumed one part at a time: only the part going through is held.
    ///
    /// A channel that barely varies on these images is scaled up by it: on grey images the
    /// stem's colour-contrast channels (three equal inputs nearly cancel) come out 3 to 63
    /// times louder than with ImageNet's statistics. Keeping each variance at least ImageNet's
    /// was tried and measured: it gave back the AUC AdaBN costs on chest radiographs and most
    /// of what it gains on MedNIST's scans (BENCHMARKS.md, "Where AdaBN loses"), so the
    /// amplification is both, and the statistics stay as fitted.
    pub fn adapt_norm(self, parts: impl IntoIterator<Item = Tensor<4>>, part: Transfer) -> Self {
        let mut net = self;
        let mut seen = 0usize;
        for x in parts {
            let count = x.dims()[0];
            seen += count;
            let momentum = count as f64 / seen as f64;
            let thaw = |c: ConvNorm| c.thaw_norm(momentum);
            net = Self {
                stem: thaw(net.stem),
                blocks: net.blocks.into_iter().map(|b| b.map_norms(thaw)).collect(),
                top: thaw(net.top),
                ..net
            };
            // The records are what this pass is for; its output is dropped.
            let _ = net.features_of_batch(x);
        }
        let net = Self {
            stem: net.stem.sync_statistics(),
            blocks: (net.blocks.into_iter())
                .map(|b| b.map_norms(ConvNorm::sync_statistics))
                .collect(),
            top: net.top.sync_statistics(),
            ..net
        };
        net.prepare(part)
    }

    /// Moves the backbone's gradients out of `gradients` (they take a smaller step).
    pub fn take_backbone_gradients(&self, gradients: &mut GradientsParams) -> GradientsParams {
        let mut mover = MoveGradients {
            from: gradients,
            to: GradientsParams::new(),
        };
        self.stem.visit(&mut mover);
        self.blocks.visit(&mut mover);
        self.top.visit(&mut mover);
        mover.to
    }

    /// From intensities in 0..1 to the normalised three-channel input the weights expect
    /// (a grayscale image becomes three equal channels).
    fn normalise(&self, x: Tensor<4>) -> Tensor<4> {
        let x = standardise(x);
        if self.channels == 1 {
            x.repeat_dim(1, 3)
        } else {
            x
        }
    }

    /// Whether `x` is an inference tensor on the CPU: what the CPU's own paths (the batch in
    /// parts, the one-channel stem) need. (`Device::flex()` also equals Flex's autodiff device.)
    fn cpu_inference(x: &Tensor<4>) -> bool {
        x.device() == Device::flex() && !x.is_autodiff()
    }

    /// The stem and its ReLU6. A grayscale image on the CPU without gradients is not made
    /// three equal channels: the stem's kernel summed over its three input channels gives the
    /// same convolution at a third of the work.
    fn stem_relu6(&self, x: Tensor<4>) -> Tensor<4> {
        if self.channels == 1 && Self::cpu_inference(&x) {
            return relu6(self.stem.forward_grey(standardise(x)));
        }
        relu6(self.stem.forward(self.normalise(x)))
    }

    /// Output of the last convolution after its activation: what Grad-CAM explains.
    ///
    /// - input: `[batch, channels, s, s]`, intensities scaled to 0..1
    /// - output: `[batch, 1280, s/32, s/32]`
    ///
    /// On the CPU without gradients the batch goes through in parts of [`cpu_chunk`] images.
    pub fn features(&self, x: Tensor<4>) -> Tensor<4> {
        let [batch, _, side, _] = x.dims();
        let chunk = cpu_chunk(side);
        if batch > chunk && Self::cpu_inference(&x) {
            let parts = (0..batch).step_by(chunk).map(|start| {
                let part = x.clone().narrow(0, start, chunk.min(batch - start));
                self.features_of_batch(part)
            });
            return Tensor::cat(parts.collect(), 0);
        }
        self.features_of_batch(x)
    }

    /// [`Self::features`] of the whole batch at once.
    fn features_of_batch(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = self.stem_relu6(x); // [B, 32, s/2, s/2]
        for block in &self.blocks {
            x = block.forward(x);
        }
        relu6(self.top.forward(x)) // [B, 1280, s/32, s/32]
    }

    /// The inference-mode layers (dropout left out) for `side`-pixel inputs, as the ONNX
    /// export writes them: the input scaling and normalisation, the stem, the blocks (a
    /// residual connection around each block that keeps its shape), the last convolution and
    /// the head.
    pub fn layers(&self, side: usize) -> Vec<Layer<Weight>> {
        let mut side = side;
        let mut layers = vec![Layer::Divide { divisor: 255.0 }];
        if self.channels == 1 {
            layers.push(Layer::RepeatChannels { times: 3 });
        }
        // `normalise`: (x * 255 - mean) / std.
        layers.push(Layer::Affine {
            scale: 255.0 / INPUT_STD,
            shift: -INPUT_MEAN / INPUT_STD,
        });
        layers.extend(self.stem.layers(&mut side));
        layers.push(RELU6);
        for block in &self.blocks {
            layers.extend(block.layers(&mut side));
        }
        layers.extend(self.top.layers(&mut side));
        layers.push(RELU6);
        layers.extend(pooled_dense_head(&self.classifier));
        layers
    }

    /// Global average pooling, dropout, the new dense layer.
    ///
    /// - input: `[batch, 1280, h, w]`
    /// - output: `[batch, classes]` (logits)
    pub fn head(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.pool.forward(x).flatten::<2>(1, 3); // [B, 1280]
        self.classifier.forward(self.dropout.forward(x))
    }

    /// The network with the pretrained backbone (everything but the head) from `weights`.
    pub fn load_backbone(self, weights: &WeightsFile) -> Result<Self, String> {
        let blocks = self
            .blocks
            .into_iter()
            .enumerate()
            .map(|(i, block)| block.load(weights, &format!("_blocks.{i}")))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            stem: self.stem.load(weights, "_conv_stem", "_bn0")?,
            blocks,
            top: self.top.load(weights, "_conv_head", "_bn1")?,
            ..self
        })
    }

    /// The network with the ImageNet classifier of `weights` as its head (1,000 classes):
    /// the check that the import is right, and nothing a user trains.
    pub fn load_imagenet(self, weights: &WeightsFile) -> Result<Self, String> {
        let [inputs, classes] = self.classifier.weight.dims();
        if classes != IMAGENET_CLASSES {
            return Err(format!(
                "the ImageNet head has {IMAGENET_CLASSES} classes, this network {classes}"
            ));
        }
        let mut net = self.load_backbone(weights)?;
        let device = net.classifier.weight.device();
        // PyTorch keeps a dense layer as [outputs, inputs], Burn as [inputs, outputs].
        let weight = weights
            .tensor("_fc.weight", [classes, inputs], &device)?
            .transpose();
        net.classifier.weight = Param::from_tensor(weight);
        net.classifier.bias = Some(Param::from_tensor(weights.tensor(
            "_fc.bias",
            [classes],
            &device,
        )?));
        Ok(net)
    }
}

/// Moves the gradients of the visited parameters from one set to another.
struct MoveGradients<'a> {
    from: &'a mut GradientsParams,
    to: GradientsParams,
}

impl ModuleVisitor for MoveGradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(gradient) = self.from.remove::<D>(param.id) {
            self.to.register::<D>(param.id, gradient);
        }
    }
}
