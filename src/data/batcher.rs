//! Batches built on the fly from the `u8` images: only one batch is ever `f32`.

use burn::prelude::*;
use rand_chacha::ChaCha8Rng;

use super::{AugmentConfig, Dataset, InputShape, augment_image};

/// Builds a `[n, channels, size, size]` image tensor (raw intensities; the model scales them on the
/// device) and a `[n]` label tensor for `indices`.
pub fn make_batch(
    dataset: &Dataset,
    indices: &[usize],
    augment: Option<(&AugmentConfig, &mut ChaCha8Rng)>,
    device: &Device,
) -> (Tensor<4>, Tensor<1, Int>) {
    let (images, labels) = batch_data(dataset, indices, augment);
    (
        Tensor::<4>::from_data(
            TensorData::new(images, dataset.shape.dims(indices.len())),
            device,
        ),
        Tensor::<1, Int>::from_data(TensorData::new(labels, [indices.len()]), device),
    )
}

/// The host-side buffers of [`make_batch`].
pub fn batch_data(
    dataset: &Dataset,
    indices: &[usize],
    augment: Option<(&AugmentConfig, &mut ChaCha8Rng)>,
) -> (Vec<f32>, Vec<i32>) {
    let (pixels, labels) = batch_pixels(dataset, indices, augment);
    (pixels.into_iter().map(f32::from).collect(), labels)
}

/// The images of `indices` (augmented when asked) as raw intensities, one after the other,
/// and their labels.
pub fn batch_pixels(
    dataset: &Dataset,
    indices: &[usize],
    augment: Option<(&AugmentConfig, &mut ChaCha8Rng)>,
) -> (Vec<u8>, Vec<i32>) {
    let mut pixels = Vec::with_capacity(indices.len() * dataset.image_len());
    let mut labels = Vec::with_capacity(indices.len());
    match augment {
        Some((config, rng)) => {
            let mut scratch = vec![0u8; dataset.image_len()];
            for &index in indices {
                augment_image(
                    &dataset.image(index),
                    dataset.shape,
                    config,
                    rng,
                    &mut scratch,
                );
                pixels.extend_from_slice(&scratch);
                labels.push(dataset.samples[index].label as i32);
            }
        }
        None => {
            for &index in indices {
                pixels.extend_from_slice(&dataset.image(index));
                labels.push(dataset.samples[index].label as i32);
            }
        }
    }
    (pixels, labels)
}

/// Raw images as a tensor, for inference (`pixels` holds `n` whole images of `shape`).
pub fn images_tensor(pixels: &[u8], shape: InputShape, device: &Device) -> Tensor<4> {
    let n = pixels.len() / shape.values();
    let data: Vec<f32> = pixels.iter().map(|&p| f32::from(p)).collect();
    Tensor::<4>::from_data(TensorData::new(data, shape.dims(n)), device)
}
