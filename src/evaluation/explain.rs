//! Why did the network say that? Grad-CAM and input-gradient saliency.

use burn::prelude::*;
use burn::tensor::ExecutionError;
use serde::{Deserialize, Serialize};

use crate::data::{InputShape, images_tensor};
use crate::model::Classifier;

/// How a heatmap was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExplainMethod {
    /// Gradient-weighted class activation map of the last convolutional layer.
    GradCam,
    /// Absolute gradient of the class score with respect to each input pixel.
    Saliency,
}

/// A heatmap over the input image, values in 0..=1, `size * size`, row-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Heatmap {
    /// Method used.
    pub method: ExplainMethod,
    /// The class explained.
    pub class: usize,
    /// The map's shape: the input's side, one channel (a colour input's map is one plane
    /// over its three channels); serialised as `size`, the bare side.
    #[serde(rename = "size")]
    pub shape: InputShape,
    /// The values.
    pub values: Vec<f32>,
    /// The side of the grid the map was computed on, before it was scaled to the image:
    /// Grad-CAM's is the last convolution's (2 x 2 for EfficientNet-Lite0 at 64 px, so the
    /// map can only say which quarter mattered); `None` for saliency, pixel by pixel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<usize>,
}

impl Heatmap {
    /// A word for people where the map is coarse: Grad-CAM on a grid of 4 x 4 cells or fewer.
    pub fn coarseness(&self) -> Option<String> {
        let grid = self.grid.filter(|&g| g <= 4)?;
        let side = self.shape.side();
        Some(format!(
            "This Grad-CAM map has only {grid} x {grid} cells (the last convolution's grid for a {side} px image): it shows roughly which part of the image mattered, no more. Input-gradient saliency is pixel by pixel; a larger image size gives Grad-CAM finer cells."
        ))
    }
}

fn normalise(mut values: Vec<f32>) -> Vec<f32> {
    let max = values.iter().cloned().fold(0.0f32, f32::max);
    if max > 0.0 && max.is_finite() {
        for v in &mut values {
            *v = (*v / max).clamp(0.0, 1.0);
        }
    } else {
        values.iter_mut().for_each(|v| *v = 0.0);
    }
    values
}

/// Bilinear upsampling of an `h x w` map to `size x size` (align-corners style).
fn upsample(map: &[f32], h: usize, w: usize, size: usize) -> Vec<f32> {
    let mut out = vec![0.0; size * size];
    for y in 0..size {
        let sy = if size > 1 {
            y as f32 * (h as f32 - 1.0) / (size as f32 - 1.0)
        } else {
            0.0
        };
        let (y0, fy) = (sy.floor() as usize, sy - sy.floor());
        let y1 = (y0 + 1).min(h - 1);
        for x in 0..size {
            let sx = if size > 1 {
                x as f32 * (w as f32 - 1.0) / (size as f32 - 1.0)
            } else {
                0.0
            };
            let (x0, fx) = (sx.floor() as usize, sx - sx.floor());
            let x1 = (x0 + 1).min(w - 1);
            let top = map[y0 * w + x0] * (1.0 - fx) + map[y0 * w + x1] * fx;
            let bottom = map[y1 * w + x0] * (1.0 - fx) + map[y1 * w + x1] * fx;
            out[y * size + x] = top * (1.0 - fy) + bottom * fy;
        }
    }
    out
}

/// What is explained: the margin of `class`'s logit over the mean logit of the other classes.
/// Unlike the raw logit, the margin is positive for the predicted class even when every logit
/// is negative, and unlike the log-probability it does not saturate for confident predictions.
fn class_margin(logits: Tensor<2>, class: usize) -> Tensor<1> {
    let [_, k] = logits.dims();
    if k < 2 {
        return logits.sum();
    }
    let others = (k - 1) as f32;
    logits
        .clone()
        .narrow(1, class, 1)
        .sum()
        .mul_scalar(1.0 + 1.0 / others)
        - logits.sum().div_scalar(others)
}

/// Input-gradient saliency of `class` for one image (one image of `shape`, raw values): the
/// absolute gradient, summed over the channels of a colour image.
/// `model` must be in inference mode; `device` is the plain (non-autodiff) device.
pub async fn saliency(
    model: &Classifier,
    image: &[u8],
    shape: InputShape,
    class: usize,
    device: &Device,
) -> Result<Heatmap, ExecutionError> {
    let autodiff = device.clone().autodiff();
    let model = model.valid().fork(&autodiff);
    let input = images_tensor(image, shape, &autodiff).require_grad();
    let logits = model.forward(input.clone());
    let gradients = class_margin(logits, class).backward();
    let gradient = input
        .grad(&gradients)
        .expect("the input requires a gradient");
    // The absolute value and the sum over channels are taken here, not on the device: on
    // WebGPU (with Burn's fusion) `abs` of this gradient gave values of 1e-13 where the CPU
    // gave 1e-5, while the gradient itself, read back without `abs`, was the CPU's (a probe of
    // 2026-12-06; tests/webgpu.rs now holds the maps to the CPU's). The map is at most three
    // planes of 224 x 224.
    let data = gradient.into_data_async().await?; // [1, channels, s, s]
    let values = data.try_into_vec_as::<f32>().unwrap_or_default();
    Ok(Heatmap {
        method: ExplainMethod::Saliency,
        class,
        shape: InputShape::square(shape.size()),
        values: normalise(channel_sum_of_magnitudes(
            &values,
            shape.side() * shape.side(),
        )),
        grid: None,
    })
}

/// `|v|` summed over the planes of `plane` values each: `[c, s, s]` to `[s, s]`.
fn channel_sum_of_magnitudes(values: &[f32], plane: usize) -> Vec<f32> {
    let mut out = vec![0.0; plane];
    for channel in values.chunks_exact(plane.max(1)) {
        for (o, v) in out.iter_mut().zip(channel) {
            *o += v.abs();
        }
    }
    out
}

/// Grad-CAM of `class` for one image, in its element-wise form (HiResCAM, Draelos & Carin
/// 2020): the last convolutional feature maps multiplied by the gradients of the class margin
/// position by position, summed over channels, rectified and upsampled to the input size.
/// For networks ending in global average pooling (the `strong` preset) this equals classic
/// Grad-CAM up to a constant; for networks with a dense layer over spatial positions (the
/// `seed` preset) classic Grad-CAM's channel-mean weights blur away where the evidence is,
/// while the element-wise form stays faithful to what the dense layer uses.
pub async fn grad_cam(
    model: &Classifier,
    image: &[u8],
    shape: InputShape,
    class: usize,
    device: &Device,
) -> Result<Heatmap, ExecutionError> {
    let autodiff = device.clone().autodiff();
    let model = model.valid().fork(&autodiff);
    let input = images_tensor(image, shape, &autodiff);
    let features = model.features(input).detach().require_grad(); // [1, C, h, w]
    let logits = model.head(features.clone());
    let gradients = class_margin(logits, class).backward();
    let gradient = features
        .grad(&gradients)
        .expect("the features require a gradient"); // [1, C, h, w]
    let [_, _, h, w] = gradient.dims();
    let cam = (features.inner() * gradient).sum_dim(1).clamp_min(0.0); // [1, 1, h, w]
    let data = cam.into_data_async().await?;
    let map = data.try_into_vec_as::<f32>().unwrap_or_default();
    Ok(Heatmap {
        method: ExplainMethod::GradCam,
        class,
        shape: InputShape::square(shape.size()),
        values: normalise(upsample(&map, h, w, shape.side())),
        grid: Some(h.max(w)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Grad-CAM on a grid of a few cells says so; finer grids and saliency say nothing.
    #[test]
    fn a_coarse_grad_cam_map_says_how_coarse() {
        let map = |method, grid| Heatmap {
            method,
            class: 0,
            shape: InputShape::square(64),
            values: vec![1.0; 64 * 64],
            grid,
        };
        let coarse = map(ExplainMethod::GradCam, Some(2)).coarseness().unwrap();
        assert!(
            coarse.contains("2 x 2 cells") && coarse.contains("64 px"),
            "{coarse}"
        );
        assert_eq!(map(ExplainMethod::GradCam, Some(7)).coarseness(), None);
        assert_eq!(map(ExplainMethod::Saliency, None).coarseness(), None);
    }

    #[test]
    fn saliency_sums_the_magnitudes_of_the_channels() {
        // Three planes of two values: red, green, blue.
        let values = [1.0, -2.0, -3.0, 0.5, 0.25, -0.25];
        assert_eq!(channel_sum_of_magnitudes(&values, 2), [4.25, 2.75]);
        assert_eq!(channel_sum_of_magnitudes(&[-1.0, 2.0], 2), [1.0, 2.0]);
    }
}
