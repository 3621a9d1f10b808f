//! Which metric a callback watches, and what counts as better.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::training::EpochMetrics;

/// A per-epoch metric, named as in Keras.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// Mean validation cross-entropy (lower is better).
    ValLoss,
    /// Validation accuracy (higher is better).
    ValAccuracy,
    /// Mean training cross-entropy (lower is better).
    Loss,
    /// Training accuracy (higher is better).
    Accuracy,
}

impl Monitor {
    /// The Keras name: `val_loss`, `val_accuracy`, `loss`, `accuracy`.
    pub fn name(self) -> &'static str {
        match self {
            Monitor::ValLoss => "val_loss",
            Monitor::ValAccuracy => "val_accuracy",
            Monitor::Loss => "loss",
            Monitor::Accuracy => "accuracy",
        }
    }

    /// Parses a Keras name (`val_acc` and `acc` are accepted too).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "val_loss" => Some(Monitor::ValLoss),
            "val_accuracy" | "val_acc" => Some(Monitor::ValAccuracy),
            "loss" => Some(Monitor::Loss),
            "accuracy" | "acc" => Some(Monitor::Accuracy),
            _ => None,
        }
    }

    /// True when a lower value is better (Keras `mode="auto"`).
    pub fn lower_is_better(self) -> bool {
        matches!(self, Monitor::ValLoss | Monitor::Loss)
    }

    /// The metric's value in `metrics`.
    pub fn value(self, metrics: &EpochMetrics) -> f64 {
        match self {
            Monitor::ValLoss => metrics.val_loss,
            Monitor::ValAccuracy => metrics.val_accuracy,
            Monitor::Loss => metrics.loss,
            Monitor::Accuracy => metrics.accuracy,
        }
    }

    /// True when `current` beats `best` by more than `min_delta` (Keras semantics: a value
    /// equal to the best is not an improvement; no best yet means any finite value is one).
    pub fn is_improvement(self, current: f64, best: Option<f64>, min_delta: f64) -> bool {
        if !current.is_finite() {
            return false;
        }
        match best {
            None => true,
            Some(best) if self.lower_is_better() => current < best - min_delta.abs(),
            Some(best) => current > best + min_delta.abs(),
        }
    }
}

impl fmt::Display for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
