//! The network as a list of inference-mode layers with their weights: what an exporter (the
//! ONNX writer of the storage layer) needs, without reaching into Burn's modules.
//!
//! The presets describe themselves ([`super::SeedNet::layers`], [`super::StrongNet::layers`])
//! from the fields Burn actually uses in `forward` (kernel, stride, padding, epsilon), so an
//! export cannot drift from the network it describes; dropout is left out (the identity at
//! inference). [`inference_layers`] reads every weight in one asynchronous transaction, as
//! a browser requires for a model on WebGPU.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::Transaction;

use super::Classifier;

/// One inference step; `W` is a weight: a tensor while described, then its values.
#[derive(Clone, Debug, PartialEq)]
pub enum Layer<W> {
    /// Input scaling: divide by `divisor` (raw intensities to 0..1).
    Divide {
        /// 255 for 8-bit intensities.
        divisor: f32,
    },
    /// 2-D convolution, weight `[out, in, kh, kw]`.
    Conv {
        /// The kernel.
        weight: W,
        /// One per output channel, if any.
        bias: Option<W>,
        /// Rows and columns between windows.
        stride: [usize; 2],
        /// Top, left, bottom, right zero padding.
        padding: [usize; 4],
        /// Channel groups (1: a plain convolution; the channels: depthwise).
        groups: usize,
    },
    /// `min(max(x, min), max)`: ReLU6 is `Clip { min: 0, max: 6 }`.
    Clip {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// `x * scale + shift`, elementwise (an input normalisation).
    Affine {
        /// Factor.
        scale: f32,
        /// Then added.
        shift: f32,
    },
    /// A one-channel input as `times` equal channels.
    RepeatChannels {
        /// Channels made.
        times: usize,
    },
    /// `body(x) + x`: a residual connection around `body`.
    Residual {
        /// The layers the shortcut skips.
        body: Vec<Layer<W>>,
    },
    /// Batch normalisation with the running statistics.
    BatchNorm {
        /// Scale (gamma).
        gamma: W,
        /// Shift (beta).
        beta: W,
        /// Running mean.
        mean: W,
        /// Running variance.
        var: W,
        /// Added to the variance.
        epsilon: f64,
    },
    /// max(x, 0).
    Relu,
    /// Max pooling without padding.
    MaxPool {
        /// Window.
        kernel: [usize; 2],
        /// Step.
        stride: [usize; 2],
    },
    /// Mean over each channel's whole map, `[b, c, h, w]` to `[b, c, 1, 1]`.
    GlobalAveragePool,
    /// `[b, c, h, w]` to `[b, c * h * w]` (row-major, as Burn's `flatten(1, 3)`).
    Flatten,
    /// `x W + b`, weight `[inputs, outputs]` (Burn's row layout).
    Dense {
        /// The matrix.
        weight: W,
        /// One per output, if any.
        bias: Option<W>,
    },
}

/// A weight tensor of any rank, as the presets hold them.
#[derive(Clone, Debug)]
pub enum Weight {
    /// Biases, batch-norm vectors.
    D1(Tensor<1>),
    /// Dense matrices.
    D2(Tensor<2>),
    /// Convolution kernels.
    D4(Tensor<4>),
}

/// A weight's values and shape.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightValues {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub values: Vec<f32>,
}

impl<W> Layer<W> {
    /// The same layer with each weight replaced by `f(weight)`, in a fixed order.
    pub fn map_weights<U, E>(self, f: &mut impl FnMut(W) -> Result<U, E>) -> Result<Layer<U>, E> {
        Ok(match self {
            Layer::Divide { divisor } => Layer::Divide { divisor },
            Layer::Conv {
                weight,
                bias,
                stride,
                padding,
                groups,
            } => Layer::Conv {
                weight: f(weight)?,
                bias: bias.map(&mut *f).transpose()?,
                stride,
                padding,
                groups,
            },
            Layer::Clip { min, max } => Layer::Clip { min, max },
            Layer::Affine { scale, shift } => Layer::Affine { scale, shift },
            Layer::RepeatChannels { times } => Layer::RepeatChannels { times },
            Layer::Residual { body } => Layer::Residual {
                body: body
                    .into_iter()
                    .map(|layer| layer.map_weights(f))
                    .collect::<Result<_, _>>()?,
            },
            Layer::BatchNorm {
                gamma,
                beta,
                mean,
                var,
                epsilon,
            } => Layer::BatchNorm {
                gamma: f(gamma)?,
                beta: f(beta)?,
                mean: f(mean)?,
                var: f(var)?,
                epsilon,
            },
            Layer::Relu => Layer::Relu,
            Layer::MaxPool { kernel, stride } => Layer::MaxPool { kernel, stride },
            Layer::GlobalAveragePool => Layer::GlobalAveragePool,
            Layer::Flatten => Layer::Flatten,
            Layer::Dense { weight, bias } => Layer::Dense {
                weight: f(weight)?,
                bias: bias.map(&mut *f).transpose()?,
            },
        })
    }
}

/// A convolution as a layer; the padding is the one Burn applies (for `Same`, half the kernel
/// on each side, which is exact for the odd kernels the presets use).
pub(super) fn conv_layer(conv: &Conv2d) -> Layer<Weight> {
    let [kh, kw] = conv.kernel_size;
    let padding = match conv.padding {
        PaddingConfig2d::Valid => [0; 4],
        PaddingConfig2d::Same => [(kh - 1) / 2, (kw - 1) / 2, kh / 2, kw / 2],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [top, left, bottom, right],
    };
    Layer::Conv {
        weight: Weight::D4(conv.weight.val()),
        bias: conv.bias.as_ref().map(|b| Weight::D1(b.val())),
        stride: conv.stride,
        padding,
        groups: conv.groups,
    }
}

/// A BatchNorm with its running statistics (inference mode) as a layer.
pub(super) fn batch_norm_layer(norm: &burn::nn::BatchNorm) -> Layer<Weight> {
    Layer::BatchNorm {
        gamma: Weight::D1(norm.gamma.val()),
        beta: Weight::D1(norm.beta.val()),
        mean: Weight::D1(norm.running_mean.value()),
        var: Weight::D1(norm.running_var.value()),
        epsilon: norm.epsilon,
    }
}

/// Global average pooling, flattening and `dense`: the head of the networks that pool their
/// last feature maps (dropout is not an inference layer).
pub(super) fn pooled_dense_head(dense: &burn::nn::Linear) -> [Layer<Weight>; 3] {
    [
        Layer::GlobalAveragePool,
        Layer::Flatten,
        Layer::Dense {
            weight: Weight::D2(dense.weight.val()),
            bias: dense.bias.as_ref().map(|b| Weight::D1(b.val())),
        },
    ]
}

/// The layers of `model` in inference mode for `side`-pixel inputs, with every weight read
/// (one transaction).
pub async fn inference_layers(
    model: &Classifier,
    side: usize,
) -> Result<Vec<Layer<WeightValues>>, String> {
    let described = match model {
        Classifier::Seed(net) => net.layers(),
        Classifier::Strong(net) => net.layers(),
        Classifier::EfficientNetLite0(net) => net.layers(side),
    };
    let mut transaction = Some(Transaction::default());
    let mut shapes = Vec::new();
    let mut register = |weight: Weight| -> Result<usize, String> {
        let pending = transaction.take().unwrap_or_default();
        transaction = Some(match weight {
            Weight::D1(t) => {
                shapes.push(t.dims().to_vec());
                pending.register(t)
            }
            Weight::D2(t) => {
                shapes.push(t.dims().to_vec());
                pending.register(t)
            }
            Weight::D4(t) => {
                shapes.push(t.dims().to_vec());
                pending.register(t)
            }
        });
        Ok(shapes.len() - 1)
    };
    let indexed = described
        .into_iter()
        .map(|layer| layer.map_weights(&mut register))
        .collect::<Result<Vec<_>, _>>()?;
    let data = transaction
        .unwrap_or_default()
        .execute_async()
        .await
        .map_err(|error| format!("reading the weights from the device failed: {error}"))?;
    let mut values = data.into_iter().map(Some).collect::<Vec<_>>();
    indexed
        .into_iter()
        .map(|layer| {
            layer.map_weights(&mut |i: usize| {
                let data = values.get_mut(i).and_then(Option::take);
                let data = data.ok_or("a weight was not read")?;
                Ok(WeightValues {
                    shape: shapes[i].clone(),
                    values: data.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?,
                })
            })
        })
        .collect()
}
