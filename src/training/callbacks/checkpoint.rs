//! `ModelCheckpoint`: save the model when the monitored metric improves (or every epoch).

use serde::{Deserialize, Serialize};

use super::Monitor;

/// Settings, as in Keras.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointConfig {
    /// The metric to watch.
    pub monitor: Monitor,
    /// Save only when the metric improves; otherwise save after every epoch.
    pub save_best_only: bool,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self {
            monitor: Monitor::ValLoss,
            save_best_only: true,
        }
    }
}

/// State of the callback across epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCheckpoint {
    /// The settings.
    pub config: CheckpointConfig,
    /// Best value so far.
    #[serde(with = "crate::json_float::option", default)]
    pub best: Option<f64>,
}

impl ModelCheckpoint {
    /// A fresh callback.
    pub fn new(config: CheckpointConfig) -> Self {
        Self { config, best: None }
    }

    /// Feeds the metric of an epoch; returns `Some(previous best)` when the model must be saved.
    pub fn on_epoch_end(&mut self, value: f64) -> Option<Option<f64>> {
        let improved = self.config.monitor.is_improvement(value, self.best, 0.0);
        let previous = self.best;
        if improved {
            self.best = Some(value);
        }
        (improved || !self.config.save_best_only).then_some(previous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_best_only_saves_on_improvement() {
        let table: &[(Monitor, bool, &[f64], &[bool])] = &[
            (
                Monitor::ValLoss,
                true,
                &[1.0, 0.8, 0.9, 0.7, 0.7],
                &[true, true, false, true, false],
            ),
            (
                Monitor::ValAccuracy,
                true,
                &[0.5, 0.4, 0.9, 0.9],
                &[true, false, true, false],
            ),
            (
                Monitor::ValLoss,
                false,
                &[1.0, 2.0, 3.0],
                &[true, true, true],
            ),
            (
                Monitor::ValLoss,
                true,
                &[f64::NAN, 1.0, f64::INFINITY],
                &[false, true, false],
            ),
        ];
        for (monitor, best_only, values, expected) in table {
            let mut callback = ModelCheckpoint::new(CheckpointConfig {
                monitor: *monitor,
                save_best_only: *best_only,
            });
            let saved: Vec<bool> = values
                .iter()
                .map(|v| callback.on_epoch_end(*v).is_some())
                .collect();
            assert_eq!(
                &saved, expected,
                "{monitor} best_only={best_only} {values:?}"
            );
        }
    }

    #[test]
    fn reports_the_previous_best() {
        let mut callback = ModelCheckpoint::new(CheckpointConfig::default());
        assert_eq!(callback.on_epoch_end(1.0), Some(None));
        assert_eq!(callback.on_epoch_end(0.5), Some(Some(1.0)));
    }
}
