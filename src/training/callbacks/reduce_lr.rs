//! `ReduceLROnPlateau`: cut the learning rate when the monitored metric stops improving.

use serde::{Deserialize, Serialize};

use super::Monitor;

/// Settings, as in Keras.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReduceLrConfig {
    /// The metric to watch.
    pub monitor: Monitor,
    /// New rate = old rate x factor (0 < factor < 1).
    #[serde(with = "crate::json_float")]
    pub factor: f64,
    /// Epochs without improvement before the rate is cut.
    pub patience: usize,
    /// Smallest change that counts as an improvement.
    #[serde(with = "crate::json_float")]
    pub min_delta: f64,
    /// Epochs to wait after a cut before counting again.
    pub cooldown: usize,
    /// The rate is never cut below this.
    #[serde(with = "crate::json_float")]
    pub min_lr: f64,
}

impl Default for ReduceLrConfig {
    fn default() -> Self {
        Self {
            monitor: Monitor::ValLoss,
            factor: 0.5,
            patience: 2,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 1e-6,
        }
    }
}

/// State of the callback across epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReduceLrOnPlateau {
    /// The settings.
    pub config: ReduceLrConfig,
    /// Best value so far.
    #[serde(with = "crate::json_float::option", default)]
    pub best: Option<f64>,
    /// Epochs without improvement.
    pub wait: usize,
    /// Epochs of cooldown left.
    pub cooldown_counter: usize,
}

impl ReduceLrOnPlateau {
    /// A fresh callback.
    pub fn new(config: ReduceLrConfig) -> Self {
        Self {
            config,
            best: None,
            wait: 0,
            cooldown_counter: 0,
        }
    }

    /// Feeds the metric of an epoch and the current rate; returns the new rate when it is cut.
    pub fn on_epoch_end(&mut self, value: f64, learning_rate: f64) -> Option<f64> {
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if self
            .config
            .monitor
            .is_improvement(value, self.best, self.config.min_delta)
        {
            self.best = Some(value);
            self.wait = 0;
            return None;
        }
        if self.cooldown_counter > 0 {
            return None;
        }
        self.wait += 1;
        if self.wait >= self.config.patience && learning_rate > self.config.min_lr {
            let new_rate = (learning_rate * self.config.factor).max(self.config.min_lr);
            self.cooldown_counter = self.config.cooldown;
            self.wait = 0;
            return Some(new_rate);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a script of (metric, expected rate after the epoch).
    fn run(config: ReduceLrConfig, start: f64, script: &[(f64, f64)]) {
        let mut callback = ReduceLrOnPlateau::new(config);
        let mut rate = start;
        for (i, (value, expected)) in script.iter().enumerate() {
            if let Some(new_rate) = callback.on_epoch_end(*value, rate) {
                assert!(new_rate < rate);
                rate = new_rate;
            }
            assert!(
                (rate - expected).abs() < 1e-12,
                "epoch {}: rate {rate}, expected {expected}",
                i + 1
            );
        }
    }

    #[test]
    fn cuts_after_patience() {
        let config = ReduceLrConfig {
            factor: 0.5,
            patience: 2,
            min_delta: 0.0,
            ..Default::default()
        };
        run(
            config,
            1e-3,
            &[
                (1.0, 1e-3),
                (1.1, 1e-3),
                (1.2, 5e-4),
                (1.3, 5e-4),
                (1.4, 2.5e-4),
            ],
        );
    }

    #[test]
    fn improvement_resets_the_count() {
        let config = ReduceLrConfig {
            factor: 0.1,
            patience: 2,
            min_delta: 0.0,
            ..Default::default()
        };
        run(
            config,
            1e-2,
            &[
                (1.0, 1e-2),
                (1.1, 1e-2),
                (0.9, 1e-2),
                (1.0, 1e-2),
                (1.0, 1e-3),
            ],
        );
    }

    #[test]
    fn cooldown_delays_the_next_cut() {
        let config = ReduceLrConfig {
            factor: 0.5,
            patience: 1,
            cooldown: 2,
            min_delta: 0.0,
            ..Default::default()
        };
        // As in Keras: a cut sets the counter to 2; each epoch first decrements it, and an
        // epoch that brings it to 0 already counts. Cuts at epochs 2, 4 and 6.
        run(
            config.clone(),
            1.0,
            &[
                (1.0, 1.0),
                (2.0, 0.5),
                (2.0, 0.5),
                (2.0, 0.25),
                (2.0, 0.25),
                (2.0, 0.125),
            ],
        );
        // Without cooldown the same plateau cuts every epoch.
        run(
            ReduceLrConfig {
                cooldown: 0,
                ..config
            },
            1.0,
            &[(1.0, 1.0), (2.0, 0.5), (2.0, 0.25), (2.0, 0.125)],
        );
    }

    #[test]
    fn never_goes_below_min_lr() {
        let config = ReduceLrConfig {
            factor: 0.1,
            patience: 1,
            min_lr: 5e-4,
            min_delta: 0.0,
            ..Default::default()
        };
        run(
            config,
            1e-3,
            &[(1.0, 1e-3), (1.0, 5e-4), (1.0, 5e-4), (1.0, 5e-4)],
        );
    }

    #[test]
    fn min_delta_counts_tiny_gains_as_plateau() {
        let config = ReduceLrConfig {
            factor: 0.5,
            patience: 2,
            min_delta: 0.1,
            ..Default::default()
        };
        run(config, 1.0, &[(1.0, 1.0), (0.95, 1.0), (0.92, 0.5)]);
    }

    #[test]
    fn accuracy_monitor_is_maximised() {
        let config = ReduceLrConfig {
            monitor: Monitor::ValAccuracy,
            factor: 0.5,
            patience: 1,
            min_delta: 0.0,
            ..Default::default()
        };
        run(
            config,
            1.0,
            &[(0.5, 1.0), (0.6, 1.0), (0.55, 0.5), (0.7, 0.5)],
        );
    }
}
