//! The frozen backbone's own CPU kernel: the depthwise convolution with its folded BatchNorm's
//! bias and ReLU6, in one pass per channel plane.
//!
//! Why not Burn's: its CPU backend walks each output row per kernel tap, which vectorises on
//! 112-pixel rows but not on the 14- and 7-pixel rows of EfficientNet's later stages (where
//! most of its depthwise work is), runs a stride of 2 as a scalar loop, and pads a "SAME"
//! stride-2 input by copying it first. Measured natively, one core, 17 images at 224 px: its
//! depthwise convolutions were 37 % of the backbone's time at about 2 G multiply-adds/s while
//! the 1x1 convolutions' matrix products ran at about 40 G.
//!
//! Here each plane is first laid into a zero-bordered copy whose rows keep the padded width,
//! so that one kernel row's taps are one run over the whole plane (`row_taps`): the columns
//! past the output's width are computed and dropped. A stride of 2 splits the padded plane
//! into its four phases (even and odd rows and columns), which turns it into stride-1 runs over
//! those. Bias and ReLU6 are applied while the plane is in cache, so the activation is written
//! once instead of three times.
//!
//! Only for inference: gradients go through Burn's convolution (see `ConvNorm::forward`).

/// The geometry of one depthwise convolution over `[batch, channels, height, width]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Depthwise {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// Side of the square kernel: 3 or 5 in EfficientNet-Lite (any size from 1 to 7 works).
    pub kernel: usize,
    /// 1 or 2.
    pub stride: usize,
    /// (before, after) for rows, then for columns.
    pub pads: [(usize, usize); 2],
}

impl Depthwise {
    fn padded(&self) -> (usize, usize) {
        let [(top, bottom), (left, right)] = self.pads;
        (self.height + top + bottom, self.width + left + right)
    }

    /// The output's side, rows then columns.
    pub fn output(&self) -> (usize, usize) {
        let (ph, pw) = self.padded();
        (
            (ph - self.kernel) / self.stride + 1,
            (pw - self.kernel) / self.stride + 1,
        )
    }

    /// `min(max(conv(x) + bias, 0), 6)` per channel, `input` holding whole planes (`[batch,
    /// channels, height, width]`, row-major), `weight` `[channels, kernel, kernel]`, `bias`
    /// `[channels]`. Returns `[batch, channels, rows, columns]` of [`Self::output`].
    pub fn relu6(&self, input: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
        let plane = self.height * self.width;
        let k2 = self.kernel * self.kernel;
        assert!(
            self.stride == 1 || self.stride == 2,
            "stride {}",
            self.stride
        );
        assert!((1..=7).contains(&self.kernel), "kernel {}", self.kernel);
        assert!(self.height > 0 && self.width > 0 && plane * self.channels > 0);
        assert_eq!(input.len() % (plane * self.channels), 0);
        assert_eq!(weight.len(), self.channels * k2);
        assert_eq!(bias.len(), self.channels);
        #[cfg(not(target_arch = "wasm32"))]
        return self.parallel(input, weight, bias);
        #[cfg(target_arch = "wasm32")]
        return self.sequential(input, weight, bias);
    }

    /// The weights and bias of plane `index`'s channel.
    fn weights<'a>(&self, index: usize, weight: &'a [f32], bias: &[f32]) -> (&'a [f32], f32) {
        let (c, k2) = (index % self.channels, self.kernel * self.kernel);
        (&weight[c * k2..(c + 1) * k2], bias[c])
    }

    /// [`Self::relu6`] on one core, the output appended row by row: no pass to zero it
    /// first (wasm's allocator zeroes by writing).
    #[cfg(any(target_arch = "wasm32", test))]
    fn sequential(&self, input: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
        let plane = self.height * self.width;
        let (oh, ow) = self.output();
        let mut output = Vec::with_capacity(input.len() / plane * oh * ow);
        let mut scratch = Scratch::new(self);
        for (index, src) in input.chunks(plane).enumerate() {
            let (w, b) = self.weights(index, weight, bias);
            scratch.plane(self, src, w, b);
            for row in scratch.rows(self) {
                output.extend(row.iter().map(|&v| relu6_value(v)));
            }
        }
        output
    }

    /// [`Self::relu6`] over every core, a plane per task.
    #[cfg(not(target_arch = "wasm32"))]
    fn parallel(&self, input: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
        use rayon::prelude::*;
        let plane = self.height * self.width;
        let (oh, ow) = self.output();
        let mut output = vec![0.0f32; input.len() / plane * oh * ow];
        let jobs: Vec<_> = input
            .chunks(plane)
            .enumerate()
            .zip(output.chunks_mut(oh * ow))
            .collect();
        jobs.into_par_iter().for_each_init(
            || Scratch::new(self),
            |scratch, ((index, src), dst)| {
                let (w, b) = self.weights(index, weight, bias);
                scratch.plane(self, src, w, b);
                for (out, row) in dst.chunks_mut(ow).zip(scratch.rows(self)) {
                    out.iter_mut()
                        .zip(row)
                        .for_each(|(o, &v)| *o = relu6_value(v));
                }
            },
        );
        output
    }
}

/// One plane's working buffers: the padded input (or its four phases) and the wide output.
/// Their borders stay zero from one plane to the next, as every plane has the same geometry.
struct Scratch {
    /// Row width of the padded input (stride 1) or of each phase (stride 2).
    width: usize,
    /// Stride 1: one buffer; stride 2: the phases (row parity, column parity) 00, 01, 10, 11.
    phases: Vec<Vec<f32>>,
    wide: Vec<f32>,
}

impl Scratch {
    fn new(geometry: &Depthwise) -> Self {
        let (ph, pw) = geometry.padded();
        let (oh, _) = geometry.output();
        let (rows, width, count) = match geometry.stride {
            1 => (ph, pw, 1),
            _ => (ph.div_ceil(2), pw.div_ceil(2), 4),
        };
        // A run reads up to `kernel` values past the last full row.
        let len = rows * width + geometry.kernel;
        Scratch {
            width,
            phases: vec![vec![0.0; len]; count],
            wide: vec![0.0; oh * width],
        }
    }

    #[inline(never)]
    /// The convolution of one plane plus its bias into `wide`; [`Self::rows`] reads it.
    fn plane(&mut self, g: &Depthwise, src: &[f32], weight: &[f32], bias: f32) {
        let [(top, _), (left, _)] = g.pads;
        let k = g.kernel;
        let width = self.width;
        if g.stride == 1 {
            let padded = &mut self.phases[0];
            for (y, row) in src.chunks(g.width).enumerate() {
                let at = (y + top) * width + left;
                padded[at..at + g.width].copy_from_slice(row);
            }
        } else {
            // Phase (r, c) holds padded pixel (2i + r, 2j + c) at (i, j).
            for (y, row) in src.chunks(g.width).enumerate() {
                let (r, i) = ((y + top) % 2, (y + top) / 2);
                for c in 0..2 {
                    // The first column x of this parity, and where it lands in the phase.
                    let x = (c + 2 - left % 2) % 2;
                    let at = i * width + (x + left) / 2;
                    let phase = &mut self.phases[r * 2 + c][at..];
                    for (to, from) in phase.iter_mut().zip(row.iter().skip(x).step_by(2)) {
                        *to = *from;
                    }
                }
            }
        }
        self.wide.fill(bias);
        let mut taps = [0.0f32; 7];
        for a in 0..k {
            let row = &weight[a * k..(a + 1) * k];
            if g.stride == 1 {
                taps[..k].copy_from_slice(row);
                row_taps(&mut self.wide, &self.phases[0][a * width..], &taps[..k]);
            } else {
                // Taps b of one parity read one column phase at consecutive offsets b / 2.
                for c in 0..2 {
                    let n = (c..k).step_by(2).count();
                    for (t, b) in (c..k).step_by(2).enumerate() {
                        taps[t] = row[b];
                    }
                    let phase = &self.phases[(a % 2) * 2 + c][(a / 2) * width..];
                    row_taps(&mut self.wide, phase, &taps[..n]);
                }
            }
        }
    }

    /// The output rows of the last [`Self::plane`], before ReLU6.
    fn rows(&self, g: &Depthwise) -> impl Iterator<Item = &[f32]> {
        let (oh, ow) = g.output();
        self.wide
            .chunks(self.width)
            .take(oh)
            .map(move |row| &row[..ow])
    }
}

/// `wide[j] += sum_t taps[t] * src[j + t]` for every `j`: one kernel row over the whole plane.
fn row_taps(wide: &mut [f32], src: &[f32], taps: &[f32]) {
    match taps.len() {
        0 => {}
        1 => row_taps_n::<1>(wide, src, taps),
        2 => row_taps_n::<2>(wide, src, taps),
        3 => row_taps_n::<3>(wide, src, taps),
        4 => row_taps_n::<4>(wide, src, taps),
        5 => row_taps_n::<5>(wide, src, taps),
        6 => row_taps_n::<6>(wide, src, taps),
        _ => row_taps_n::<7>(wide, src, taps),
    }
}

/// [`row_taps`] with the tap count known to the compiler, so the inner sum unrolls and the
/// loop over `j` vectorises.
fn row_taps_n<const N: usize>(wide: &mut [f32], src: &[f32], taps: &[f32]) {
    let taps: [f32; N] = taps.try_into().expect("tap count");
    let src = &src[..wide.len() + N - 1];
    for (j, out) in wide.iter_mut().enumerate() {
        let mut sum = *out;
        for (t, tap) in taps.iter().enumerate() {
            sum += tap * src[j + t];
        }
        *out = sum;
    }
}

/// `min(max(v, 0), 6)` with NaN kept (as Burn's clamp keeps it).
fn relu6_value(v: f32) -> f32 {
    v.clamp(0.0, 6.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::*;
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;

    /// A deterministic spread of values in [-4, 8): both ReLU6 bounds are hit.
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 12_000) as f32 / 1000.0 - 4.0
            })
            .collect()
    }

    /// Burn's grouped convolution, bias and clamp: the reference.
    fn burn_reference(g: &Depthwise, batch: usize, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
        let device = Device::flex();
        let (k, c) = (g.kernel, g.channels);
        let x = Tensor::<4>::from_data(
            TensorData::new(x.to_vec(), [batch, c, g.height, g.width]),
            &device,
        );
        let w = Tensor::<4>::from_data(TensorData::new(w.to_vec(), [c, 1, k, k]), &device);
        let b = Tensor::<1>::from_data(TensorData::new(b.to_vec(), [c]), &device);
        let options = ConvOptions::new_with_padding([g.stride; 2], g.pads, [1, 1], c);
        let y = conv2d(x, w, Some(b), options).clamp(0.0, 6.0);
        y.into_data().try_into_vec::<f32>().unwrap()
    }

    #[test]
    fn matches_burns_convolution_for_every_kernel_stride_and_padding() {
        let mut checked = 0;
        for kernel in [1, 3, 5] {
            for stride in [1, 2] {
                for (height, width) in [(7, 7), (8, 8), (14, 15), (1, 3)] {
                    for pads in [[(0, 0); 2], [(1, 1); 2], [(0, 1), (1, 2)], [(2, 2), (2, 1)]] {
                        let g = Depthwise {
                            channels: 3,
                            height,
                            width,
                            kernel,
                            stride,
                            pads,
                        };
                        let (ph, pw) = g.padded();
                        if ph < kernel || pw < kernel {
                            continue;
                        }
                        let batch = 2;
                        let x = values(batch * 3 * height * width, checked);
                        let w: Vec<f32> = values(3 * kernel * kernel, 7 + checked)
                            .iter()
                            .map(|v| v / 4.0)
                            .collect();
                        let b = values(3, 11 + checked);
                        let ours = g.relu6(&x, &w, &b);
                        assert_eq!(ours, g.sequential(&x, &w, &b), "{g:?}");
                        let reference = burn_reference(&g, batch, &x, &w, &b);
                        assert_eq!(ours.len(), reference.len(), "{g:?}");
                        for (i, (o, r)) in ours.iter().zip(&reference).enumerate() {
                            assert!(
                                (o - r).abs() <= 1e-5 * (1.0 + r.abs()),
                                "{g:?} [{i}]: {o} vs {r}"
                            );
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 70, "{checked} cases");
    }

    #[test]
    fn keeps_nan_as_the_clamp_does() {
        let g = Depthwise {
            channels: 1,
            height: 2,
            width: 2,
            kernel: 1,
            stride: 1,
            pads: [(0, 0); 2],
        };
        let out = g.relu6(&[f32::NAN, -1.0, 3.0, 9.0], &[1.0], &[0.0]);
        assert!(out[0].is_nan());
        assert_eq!(&out[1..], &[0.0, 3.0, 6.0]);
    }
}
