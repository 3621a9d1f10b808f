//! The reference network: seven layers, two with ReLU, softmax output.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, Relu};
use burn::prelude::*;

use super::layers::{Layer, Weight, conv_layer};

/// Configuration of [`SeedNet`].
#[derive(Config, Debug)]
pub struct SeedConfig {
    /// Number of classes (width of the output layer).
    pub num_classes: usize,
    /// Side of the square input image.
    pub image_size: usize,
    /// Input channels: 1 (grayscale) or 3 (RGB). Files from before colour have none: 1.
    #[config(default = 1)]
    pub channels: usize,
    /// Probability of dropping a flattened feature during training.
    #[config(default = 0.5)]
    pub dropout: f64,
}

/// Conv2d(channels->32, 3x3) + ReLU, MaxPool 2x2, Conv2d(32->64, 3x3) + ReLU, MaxPool 2x2, Flatten,
/// Dropout, Dense(-> classes) + softmax (the softmax is applied by the loss and by
/// [`super::Classifier::probabilities`]).
#[derive(Module, Debug)]
pub struct SeedNet {
    conv1: Conv2d,
    pool1: MaxPool2d,
    conv2: Conv2d,
    pool2: MaxPool2d,
    dropout: Dropout,
    dense: Linear,
    activation: Relu,
}

impl SeedConfig {
    /// Side of the feature map after the second pooling (valid 3x3 convolutions).
    pub fn final_side(&self) -> usize {
        ((self.image_size - 2) / 2 - 2) / 2
    }

    /// Builds the network on `device`.
    pub fn init(&self, device: &Device) -> SeedNet {
        let side = self.final_side();
        SeedNet {
            conv1: Conv2dConfig::new([self.channels, 32], [3, 3]).init(device),
            pool1: MaxPool2dConfig::new([2, 2]).init(),
            conv2: Conv2dConfig::new([32, 64], [3, 3]).init(device),
            pool2: MaxPool2dConfig::new([2, 2]).init(),
            dropout: DropoutConfig::new(self.dropout).init(),
            dense: LinearConfig::new(64 * side * side, self.num_classes).init(device),
            activation: Relu::new(),
        }
    }
}

impl SeedNet {
    /// Convolutional part, input scaled to 0..1.
    ///
    /// - input: `[batch, channels, s, s]`
    /// - output: `[batch, 64, (s-2)/2-2, (s-2)/2-2]`
    pub fn features(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.activation.forward(self.conv1.forward(x)); // [B, 32, s-2, s-2]
        let x = self.pool1.forward(x); // [B, 32, (s-2)/2, (s-2)/2]
        self.activation.forward(self.conv2.forward(x)) // [B, 64, (s-2)/2-2, ...]
    }

    /// Pooling, flatten, dropout and the dense layer.
    ///
    /// - input: `[batch, 64, h, w]`
    /// - output: `[batch, classes]` (logits)
    pub fn head(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.pool2.forward(x); // [B, 64, h/2, w/2]
        let x = x.flatten::<2>(1, 3); // [B, 64 * h/2 * w/2]
        let x = self.dropout.forward(x);
        self.dense.forward(x) // [B, classes]
    }

    /// The inference-mode layers, in order, from the fields `forward` uses (dropout left out).
    pub fn layers(&self) -> Vec<Layer<Weight>> {
        let pool = |p: &MaxPool2d| Layer::MaxPool {
            kernel: p.kernel_size,
            stride: p.stride,
        };
        vec![
            Layer::Divide { divisor: 255.0 },
            conv_layer(&self.conv1),
            Layer::Relu,
            pool(&self.pool1),
            conv_layer(&self.conv2),
            Layer::Relu,
            pool(&self.pool2),
            Layer::Flatten,
            Layer::Dense {
                weight: Weight::D2(self.dense.weight.val()),
                bias: self.dense.bias.as_ref().map(|b| Weight::D1(b.val())),
            },
        ]
    }
}
