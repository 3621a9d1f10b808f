//! `EarlyStopping`: stop when the monitored metric has stopped improving.

use serde::{Deserialize, Serialize};

use super::Monitor;

/// Settings, as in Keras.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStoppingConfig {
    /// The metric to watch.
    pub monitor: Monitor,
    /// Smallest change that counts as an improvement.
    #[serde(with = "crate::json_float")]
    pub min_delta: f64,
    /// Epochs without improvement before training stops.
    pub patience: usize,
    /// On stopping, go back to the weights of the best epoch.
    pub restore_best_weights: bool,
    /// Epochs to train before watching at all (Keras' `start_from_epoch`; 0 watches from the
    /// first). A network trained from scratch on a few images a class can sit at chance on
    /// validation for several epochs while it learns, and with a short patience the run stops
    /// there and keeps epoch 1 (`bench/results/small-data-2026-12-06-32e11d1-seed9-patience.txt`).
    /// Epochs up to this one are neither a best nor a wait.
    #[serde(default)]
    pub start_from_epoch: usize,
}

impl Default for EarlyStoppingConfig {
    fn default() -> Self {
        Self {
            monitor: Monitor::ValLoss,
            min_delta: 0.0,
            patience: 3,
            restore_best_weights: true,
            start_from_epoch: 0,
        }
    }
}

/// What [`EarlyStopping::on_epoch_end`] decided.
#[derive(Clone, Debug, PartialEq)]
pub enum EarlyStoppingDecision {
    /// The epoch is within `start_from_epoch`: not watched.
    WarmingUp,
    /// The metric improved: this epoch is the new best.
    Improved,
    /// No improvement for `wait` epochs (fewer than the patience).
    Waiting {
        /// Epochs since the best.
        wait: usize,
    },
    /// Patience ran out: stop training.
    Stop {
        /// The best epoch (1-based).
        best_epoch: usize,
        /// Its metric value.
        best: f64,
    },
}

/// State of the callback across epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// The settings.
    pub config: EarlyStoppingConfig,
    /// Best value so far.
    #[serde(with = "crate::json_float::option", default)]
    pub best: Option<f64>,
    /// Epoch of the best value (1-based, 0 before any).
    pub best_epoch: usize,
    /// Epochs since the best.
    pub wait: usize,
}

impl EarlyStopping {
    /// A fresh callback.
    pub fn new(config: EarlyStoppingConfig) -> Self {
        Self {
            config,
            best: None,
            best_epoch: 0,
            wait: 0,
        }
    }

    /// Feeds the metric value of `epoch` (1-based).
    pub fn on_epoch_end(&mut self, epoch: usize, value: f64) -> EarlyStoppingDecision {
        if epoch <= self.config.start_from_epoch {
            return EarlyStoppingDecision::WarmingUp;
        }
        if self
            .config
            .monitor
            .is_improvement(value, self.best, self.config.min_delta)
        {
            self.best = Some(value);
            self.best_epoch = epoch;
            self.wait = 0;
            return EarlyStoppingDecision::Improved;
        }
        self.wait += 1;
        if self.wait >= self.config.patience {
            EarlyStoppingDecision::Stop {
                best_epoch: self.best_epoch,
                best: self.best.unwrap_or(f64::NAN),
            }
        } else {
            EarlyStoppingDecision::Waiting { wait: self.wait }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (value, expected decision as a short code) per epoch.
    fn run(config: EarlyStoppingConfig, script: &[(f64, &str)]) {
        let mut callback = EarlyStopping::new(config);
        for (i, (value, expected)) in script.iter().enumerate() {
            let decision = callback.on_epoch_end(i + 1, *value);
            let code = match decision {
                EarlyStoppingDecision::WarmingUp => "warming".to_string(),
                EarlyStoppingDecision::Improved => "improved".to_string(),
                EarlyStoppingDecision::Waiting { wait } => format!("wait{wait}"),
                EarlyStoppingDecision::Stop { best_epoch, .. } => format!("stop@{best_epoch}"),
            };
            assert_eq!(&code, expected, "epoch {} value {value}", i + 1);
        }
    }

    #[test]
    fn never_stops_while_improving() {
        let config = EarlyStoppingConfig {
            patience: 1,
            ..Default::default()
        };
        run(
            config,
            &[
                (1.0, "improved"),
                (0.8, "improved"),
                (0.5, "improved"),
                (0.1, "improved"),
            ],
        );
    }

    #[test]
    fn stops_after_patience_epochs_without_improvement() {
        let config = EarlyStoppingConfig {
            patience: 2,
            ..Default::default()
        };
        run(
            config,
            &[
                (1.0, "improved"),
                (0.5, "improved"),
                (0.6, "wait1"),
                (0.55, "stop@2"),
            ],
        );
    }

    #[test]
    fn equal_value_is_not_an_improvement() {
        let config = EarlyStoppingConfig {
            patience: 2,
            ..Default::default()
        };
        run(
            config,
            &[(0.5, "improved"), (0.5, "wait1"), (0.5, "stop@1")],
        );
    }

    #[test]
    fn min_delta_ignores_tiny_gains() {
        let config = EarlyStoppingConfig {
            patience: 2,
            min_delta: 0.01,
            ..Default::default()
        };
        run(
            config,
            &[
                (0.5, "improved"),
                (0.495, "wait1"),
                (0.48, "improved"),
                (0.479, "wait1"),
                (0.4799, "stop@3"),
            ],
        );
    }

    #[test]
    fn accuracy_is_maximised() {
        let config = EarlyStoppingConfig {
            monitor: Monitor::ValAccuracy,
            patience: 2,
            ..Default::default()
        };
        run(
            config,
            &[
                (0.90, "improved"),
                (0.95, "improved"),
                (0.94, "wait1"),
                (0.96, "improved"),
                (0.96, "wait1"),
                (0.90, "stop@4"),
            ],
        );
    }

    #[test]
    fn improvement_resets_the_wait() {
        let config = EarlyStoppingConfig {
            patience: 3,
            ..Default::default()
        };
        run(
            config,
            &[
                (1.0, "improved"),
                (1.1, "wait1"),
                (1.2, "wait2"),
                (0.9, "improved"),
                (1.0, "wait1"),
                (1.0, "wait2"),
                (1.0, "stop@4"),
            ],
        );
    }

    #[test]
    fn nan_never_improves() {
        let config = EarlyStoppingConfig {
            patience: 2,
            ..Default::default()
        };
        run(
            config,
            &[(0.7, "improved"), (f64::NAN, "wait1"), (f64::NAN, "stop@1")],
        );
    }

    /// The failure that `start_from_epoch` is for: validation loss at its lowest in epoch 1
    /// (chance) and worse while the network starts to learn, then falling below it. Watched
    /// from epoch 1 the run stops at epoch 3 and keeps epoch 1; with three epochs of warm-up it
    /// goes on, and its best is an epoch after the warm-up.
    #[test]
    fn start_from_epoch_ignores_a_slow_start() {
        let losses = [1.79, 1.95, 2.40, 2.10, 1.20, 0.60, 0.70, 0.80];
        let from_the_first = EarlyStoppingConfig {
            patience: 2,
            ..Default::default()
        };
        let script = ["improved", "wait1", "stop@1"];
        run(from_the_first.clone(), &zip(&losses, &script));
        let warmed = EarlyStoppingConfig {
            start_from_epoch: 3,
            ..from_the_first
        };
        let script = [
            "warming", "warming", "warming", "improved", "improved", "improved", "wait1", "stop@6",
        ];
        run(warmed, &zip(&losses, &script));
    }

    fn zip<'a>(values: &[f64], codes: &[&'a str]) -> Vec<(f64, &'a str)> {
        values.iter().copied().zip(codes.iter().copied()).collect()
    }

    /// Settings saved before `start_from_epoch` existed (sessions, checkpoints, model files)
    /// still load, watching from the first epoch as they did.
    #[test]
    fn settings_without_start_from_epoch_still_load() {
        let saved = EarlyStoppingConfig {
            patience: 7,
            start_from_epoch: 4,
            ..Default::default()
        };
        let mut old = serde_json::to_value(&saved).expect("settings as JSON");
        let removed = old
            .as_object_mut()
            .and_then(|o| o.remove("start_from_epoch"));
        assert_eq!(removed, Some(serde_json::json!(4)));
        let config: EarlyStoppingConfig = serde_json::from_value(old).expect("old settings");
        assert_eq!(config.start_from_epoch, 0);
        assert_eq!(config.patience, 7);
    }
}
