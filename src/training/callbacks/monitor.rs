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
    /// Two classes: the validation ROC AUC of class 1 (higher is better; Keras names it
    /// after an `AUC` metric, `val_auc`).
    ValAuc,
    /// Mean training cross-entropy (lower is better).
    Loss,
    /// Training accuracy (higher is better).
    Accuracy,
}

impl Monitor {
    /// The Keras name: `val_loss`, `val_accuracy`, `val_auc`, `loss`, `accuracy`.
    pub fn name(self) -> &'static str {
        match self {
            Monitor::ValLoss => "val_loss",
            Monitor::ValAccuracy => "val_accuracy",
            Monitor::ValAuc => "val_auc",
            Monitor::Loss => "loss",
            Monitor::Accuracy => "accuracy",
        }
    }

    /// Parses a Keras name (`val_acc` and `acc` are accepted too).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "val_loss" => Some(Monitor::ValLoss),
            "val_accuracy" | "val_acc" => Some(Monitor::ValAccuracy),
            "val_auc" => Some(Monitor::ValAuc),
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
            // No AUC (not two classes): NaN, which is never an improvement.
            Monitor::ValAuc => metrics.val_auc.unwrap_or(f64::NAN),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::CallbackSettings;

    fn epoch(val_auc: Option<f64>) -> EpochMetrics {
        EpochMetrics {
            epoch: 1,
            loss: 0.5,
            accuracy: 0.5,
            val_loss: 0.5,
            val_accuracy: 0.5,
            val_auc,
            learning_rate: 1e-3,
            seconds: 1.0,
            train_seconds: 1.0,
            images_per_second: 1.0,
        }
    }

    #[test]
    fn val_auc_is_named_like_keras_and_higher_is_better() {
        assert_eq!(Monitor::parse("val_auc"), Some(Monitor::ValAuc));
        assert_eq!(Monitor::ValAuc.name(), "val_auc");
        assert!(!Monitor::ValAuc.lower_is_better());
        assert!(Monitor::ValAuc.is_improvement(0.8, Some(0.7), 0.0));
        assert!(!Monitor::ValAuc.is_improvement(0.7, Some(0.8), 0.0));
        assert_eq!(Monitor::ValAuc.value(&epoch(Some(0.9))), 0.9);
        // Without an AUC there is nothing to improve on.
        let missing = Monitor::ValAuc.value(&epoch(None));
        assert!(!Monitor::ValAuc.is_improvement(missing, None, 0.0));
    }

    #[test]
    fn val_auc_is_refused_unless_there_are_two_classes_in_validation() {
        let six: Vec<(&str, usize)> = (0..6).map(|_| ("c", 10)).collect();
        let three = [("a", 5), ("b", 5), ("c", 5)];
        let two = [("normal", 5), ("pneumonia", 20)];
        let none_normal = [("normal", 0), ("pneumonia", 20)];
        let mut settings = CallbackSettings::default();
        assert!(settings.check_for(&six).is_ok());
        assert!(settings.check_for(&none_normal).is_ok());
        settings.watch(Monitor::ValAuc);
        assert_eq!(settings.monitors(), vec![Monitor::ValAuc; 3]);
        assert!(settings.check_for(&two).is_ok());
        let refused = settings.check_for(&three).unwrap_err();
        assert!(
            refused.contains("val_auc") && refused.contains("3 classes"),
            "{refused}"
        );
        let empty = settings.check_for(&none_normal).unwrap_err();
        assert!(
            empty.contains("val_auc") && empty.contains("no image of class \"normal\""),
            "{empty}"
        );
        // A callback that is off watches nothing.
        settings.early_stopping = None;
        settings.reduce_lr = None;
        settings.checkpoint.as_mut().unwrap().monitor = Monitor::ValLoss;
        assert!(settings.check_for(&three).is_ok());
        assert!(settings.check_for(&none_normal).is_ok());
    }
}
