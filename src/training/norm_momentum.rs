//! How far each training step moves BatchNorm's running statistics.
//!
//! Burn's default momentum, 0.1 (PyTorch's too), makes the running statistics an average of
//! about the last ten steps, starting from mean 0 and variance 1. With a small data set an
//! epoch is a step or two (30 images at batch 16: two), so after eight epochs the statistics
//! that validation and inference use still carry much of their starting values, and
//! validation sees a network that training does not. On two of twelve 5-a-class draws of
//! MedNIST the strong network stayed at chance on validation for eleven epochs and
//! EarlyStopping ended the run there (BENCHMARKS.md, "Transfer learning on small data").
//! So the momentum of step `t` (counted from the run's first, `steps_per_epoch` a epoch) is
//! the largest of:
//! - `1 / (t + 1)`: the first steps average every batch so far (PyTorch's `momentum=None`),
//!   so the starting values are gone after the first step;
//! - `1 / steps_per_epoch`: the statistics an epoch's validation uses come from about that
//!   epoch's batches, however few there are;
//! - 0.1, Burn's default, which is what a large data set gets after its first ten steps.
//!
//! A resumed run (from epoch `e`, so `t >= e * steps_per_epoch`) gets what the run that
//! went on would have had. Only networks trained from scratch update running statistics: a
//! pretrained backbone's stay frozen ([`crate::model::Classifier::prepare_transfer`]).

/// Burn's and PyTorch's default BatchNorm momentum.
pub const DEFAULT_MOMENTUM: f64 = 0.1;

/// The momentum of step `step` (0 for the run's first) of a run with `steps_per_epoch` steps
/// an epoch.
pub fn norm_momentum(step: usize, steps_per_epoch: usize) -> f64 {
    let cumulative = 1.0 / (step as f64 + 1.0);
    let one_epoch = 1.0 / steps_per_epoch.max(1) as f64;
    cumulative.max(one_epoch).max(DEFAULT_MOMENTUM)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The running value after `batches`, each step `t` at `norm_momentum(t, per_epoch)`, as
    /// BatchNorm updates it: `running = (1 - m) running + m batch`, from `start`.
    fn running(start: f64, batches: &[f64], per_epoch: usize) -> f64 {
        batches.iter().enumerate().fold(start, |r, (t, b)| {
            let m = norm_momentum(t, per_epoch);
            (1.0 - m) * r + m * b
        })
    }

    #[test]
    fn the_first_steps_average_every_batch_so_far() {
        let batches = [3.0, 5.0, 10.0, -2.0, 7.0];
        for n in 1..=batches.len() {
            let mean = batches[..n].iter().sum::<f64>() / n as f64;
            // Whatever the start, and with many steps an epoch.
            for start in [0.0, 1.0, 100.0] {
                assert!((running(start, &batches[..n], 1000) - mean).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn a_large_data_set_gets_the_default_after_ten_steps() {
        assert_eq!(norm_momentum(0, 1000), 1.0);
        assert_eq!(norm_momentum(9, 1000), DEFAULT_MOMENTUM);
        assert_eq!(norm_momentum(5000, 1000), DEFAULT_MOMENTUM);
    }

    #[test]
    fn a_small_data_set_keeps_about_one_epoch() {
        // Two steps an epoch: every later step counts half.
        assert_eq!(norm_momentum(0, 2), 1.0);
        assert_eq!(norm_momentum(1, 2), 0.5);
        assert_eq!(norm_momentum(40, 2), 0.5);
        // After a shift of the batches' values, one epoch brings the statistics most of the
        // way to the new value; Burn's fixed 0.1 would leave them near the old one.
        let mut batches = vec![0.0; 20];
        batches.extend([1.0, 1.0]);
        assert!(running(0.0, &batches, 2) >= 0.75);
        let fixed = batches.iter().fold(0.0, |r, b| 0.9 * r + 0.1 * b);
        assert!(fixed < 0.2);
    }
}
