//! A small batch-normalised network with global average pooling.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu,
};
use burn::prelude::*;

use super::layers::{Layer, Weight, batch_norm_layer, conv_layer, pooled_dense_head};

/// Configuration of [`StrongNet`].
#[derive(Config, Debug)]
pub struct StrongConfig {
    /// Number of classes.
    pub num_classes: usize,
    /// Side of the square input image.
    pub image_size: usize,
    /// Input channels: 1 (grayscale) or 3 (RGB). Files from before colour have none: 1.
    #[config(default = 1)]
    pub channels: usize,
    /// Channels of the first block; the next blocks have 2x, 4x and 4x as many.
    #[config(default = 16)]
    pub width: usize,
    /// Dropout before the dense layer.
    #[config(default = 0.2)]
    pub dropout: f64,
}

/// Conv 3x3 (same padding, no bias) + BatchNorm + ReLU.
#[derive(Module, Debug)]
pub struct ConvBlock {
    conv: Conv2d,
    norm: BatchNorm,
    activation: Relu,
}

impl ConvBlock {
    fn new(channels_in: usize, channels_out: usize, device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([channels_in, channels_out], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .with_bias(false)
                .init(device),
            norm: BatchNormConfig::new(channels_out).init(device),
            activation: Relu::new(),
        }
    }

    /// - input: `[batch, c_in, h, w]`
    /// - output: `[batch, c_out, h, w]`
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.activation
            .forward(self.norm.forward(self.conv.forward(x)))
    }
}

impl ConvBlock {
    fn layers(&self) -> [Layer<Weight>; 3] {
        [
            conv_layer(&self.conv),
            batch_norm_layer(&self.norm),
            Layer::Relu,
        ]
    }
}

/// block(1->w), pool, block(w->2w), pool, block(2w->4w), pool, block(4w->4w),
/// global average pool, dropout, dense.
#[derive(Module, Debug)]
pub struct StrongNet {
    block1: ConvBlock,
    block2: ConvBlock,
    block3: ConvBlock,
    block4: ConvBlock,
    pool: MaxPool2d,
    global_pool: AdaptiveAvgPool2d,
    dropout: Dropout,
    dense: Linear,
}

impl StrongConfig {
    /// Builds the network on `device`.
    pub fn init(&self, device: &Device) -> StrongNet {
        let w = self.width;
        StrongNet {
            block1: ConvBlock::new(self.channels, w, device),
            block2: ConvBlock::new(w, 2 * w, device),
            block3: ConvBlock::new(2 * w, 4 * w, device),
            block4: ConvBlock::new(4 * w, 4 * w, device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            global_pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            dropout: DropoutConfig::new(self.dropout).init(),
            dense: LinearConfig::new(4 * w, self.num_classes).init(device),
        }
    }
}

impl StrongNet {
    /// Sets how far each training batch moves the running statistics of every BatchNorm
    /// layer (the schedule and why: `training::norm_momentum`).
    pub fn set_norm_momentum(&mut self, momentum: f64) {
        for block in [
            &mut self.block1,
            &mut self.block2,
            &mut self.block3,
            &mut self.block4,
        ] {
            block.norm.momentum = momentum;
        }
    }

    /// Convolutional part, input scaled to 0..1.
    ///
    /// - input: `[batch, channels, s, s]`
    /// - output: `[batch, 4w, s/8, s/8]`
    pub fn features(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.pool.forward(self.block1.forward(x)); // [B, w, s/2, s/2]
        let x = self.pool.forward(self.block2.forward(x)); // [B, 2w, s/4, s/4]
        let x = self.pool.forward(self.block3.forward(x)); // [B, 4w, s/8, s/8]
        self.block4.forward(x) // [B, 4w, s/8, s/8]
    }

    /// Global average pooling, dropout, dense.
    ///
    /// - input: `[batch, 4w, h, w]`
    /// - output: `[batch, classes]` (logits)
    pub fn head(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.global_pool.forward(x).flatten::<2>(1, 3); // [B, 4w]
        self.dense.forward(self.dropout.forward(x)) // [B, classes]
    }

    /// The inference-mode layers, in order, from the fields `forward` uses (dropout left out).
    pub fn layers(&self) -> Vec<Layer<Weight>> {
        let pool = Layer::MaxPool {
            kernel: self.pool.kernel_size,
            stride: self.pool.stride,
        };
        let mut layers = vec![Layer::Divide { divisor: 255.0 }];
        for (i, block) in [&self.block1, &self.block2, &self.block3, &self.block4]
            .into_iter()
            .enumerate()
        {
            layers.extend(block.layers());
            if i < 3 {
                layers.push(pool.clone());
            }
        }
        layers.extend(pooled_dense_head(&self.dense));
        layers
    }
}
