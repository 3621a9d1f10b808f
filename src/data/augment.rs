//! On-the-fly augmentation of training images (off by default).

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::InputShape;

/// Random geometric changes applied to each training image, Keras-style.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AugmentConfig {
    /// Largest rotation either way, in degrees.
    pub rotation_degrees: f32,
    /// Mirror left-right with probability 1/2.
    pub horizontal_flip: bool,
    /// Largest zoom in or out, as a fraction (0.1 = 90% to 110%).
    pub zoom: f32,
    /// Largest shift either way, as a fraction of the side.
    pub shift: f32,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            rotation_degrees: 10.0,
            horizontal_flip: false,
            zoom: 0.1,
            shift: 0.1,
        }
    }
}

/// Writes a randomly transformed copy of `image` (one image of `shape`) into `out`.
///
/// One inverse affine map per image, the same for each of its channels, bilinear sampling,
/// edges repeated (Keras `fill_mode="nearest"`).
pub fn augment_image(
    image: &[u8],
    shape: InputShape,
    config: &AugmentConfig,
    rng: &mut impl Rng,
    out: &mut [u8],
) {
    let size = shape.side();
    let angle = rng.random_range(-1.0f32..=1.0) * config.rotation_degrees.to_radians();
    let scale = 1.0 + rng.random_range(-1.0f32..=1.0) * config.zoom;
    let shift_x = rng.random_range(-1.0f32..=1.0) * config.shift * size as f32;
    let shift_y = rng.random_range(-1.0f32..=1.0) * config.shift * size as f32;
    let flip = config.horizontal_flip && rng.random_bool(0.5);
    let (sin, cos) = angle.sin_cos();
    let center = (size as f32 - 1.0) / 2.0;
    let max = size as f32 - 1.0;
    let plane = shape.plane();
    for y in 0..size {
        for x in 0..size {
            // Output pixel -> source position (inverse map).
            let mut dx = x as f32 - center - shift_x;
            let dy = y as f32 - center - shift_y;
            if flip {
                dx = -dx;
            }
            let sx = ((cos * dx + sin * dy) / scale + center).clamp(0.0, max);
            let sy = ((-sin * dx + cos * dy) / scale + center).clamp(0.0, max);
            let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(size - 1), (y0 + 1).min(size - 1));
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            for channel in 0..shape.channels() {
                let image = &image[channel * plane..(channel + 1) * plane];
                let p = |xx: usize, yy: usize| f32::from(image[yy * size + xx]);
                let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
                let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
                out[channel * plane + y * size + x] =
                    (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn identity_settings_keep_the_image() {
        let image: Vec<u8> = (0..64u32).map(|i| (i * 4) as u8).collect();
        let mut out = vec![0; 64];
        let none = AugmentConfig {
            rotation_degrees: 0.0,
            horizontal_flip: false,
            zoom: 0.0,
            shift: 0.0,
        };
        augment_image(
            &image,
            InputShape::square(8),
            &none,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(1),
            &mut out,
        );
        assert_eq!(out, image);
    }

    #[test]
    fn flip_mirrors_and_is_seeded() {
        let image: Vec<u8> = (0..16u32).map(|i| (i % 4 * 60) as u8).collect();
        let flip = AugmentConfig {
            rotation_degrees: 0.0,
            horizontal_flip: true,
            zoom: 0.0,
            shift: 0.0,
        };
        let mut seen_flip = false;
        for seed in 0..8 {
            let mut a = vec![0; 16];
            let mut b = vec![0; 16];
            augment_image(
                &image,
                InputShape::square(4),
                &flip,
                &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed),
                &mut a,
            );
            augment_image(
                &image,
                InputShape::square(4),
                &flip,
                &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed),
                &mut b,
            );
            assert_eq!(a, b, "same seed, same result");
            if a != image {
                seen_flip = true;
                assert_eq!(&a[..4], &[180, 120, 60, 0]);
            }
        }
        assert!(seen_flip);
    }

    #[test]
    fn colour_channels_move_together() {
        // Three channels: the gray ramp, its negative and a constant. Augmented with one
        // seed, each channel must equal that channel augmented alone with the same seed.
        let ramp: Vec<u8> = (0..64u32).map(|i| (i * 4) as u8).collect();
        let negative: Vec<u8> = ramp.iter().map(|v| 255 - v).collect();
        let colour = [ramp.clone(), negative.clone(), vec![77; 64]].concat();
        let config = AugmentConfig {
            horizontal_flip: true,
            ..AugmentConfig::default()
        };
        let rgb = InputShape::square(8).with_colour(crate::data::Colour::Rgb);
        let mut out = vec![0; 192];
        augment_image(
            &colour,
            rgb,
            &config,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(7),
            &mut out,
        );
        for (channel, alone) in [ramp, negative, vec![77; 64]].iter().enumerate() {
            let mut expected = vec![0; 64];
            augment_image(
                alone,
                InputShape::square(8),
                &config,
                &mut rand_chacha::ChaCha8Rng::seed_from_u64(7),
                &mut expected,
            );
            assert_eq!(&out[channel * 64..(channel + 1) * 64], &expected[..]);
        }
        assert_ne!(&out[..64], &colour[..64], "the seed moved the image");
    }
}
