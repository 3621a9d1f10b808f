//! The summary of a cross-validation: each fold's held-out scores, and the mean and standard
//! deviation of each metric over the folds. The folds themselves are `crate::data::Folds`;
//! the runs are the session layer's `cross_validate`.

use serde::{Deserialize, Serialize};

use super::Assessment;

/// One fold's scores on its held-out images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldScores {
    /// The fold held out (0-based).
    pub fold: usize,
    /// Images held out.
    pub images: usize,
    /// Accuracy.
    #[serde(with = "crate::json_float")]
    pub accuracy: f64,
    /// Mean recall over classes.
    #[serde(with = "crate::json_float")]
    pub balanced_accuracy: f64,
    /// Unweighted mean F1.
    #[serde(with = "crate::json_float")]
    pub macro_f1: f64,
    /// Unweighted mean one-vs-rest ROC AUC (over classes where it is defined).
    #[serde(with = "crate::json_float")]
    pub macro_auc: f64,
    /// Epochs trained.
    pub epochs: usize,
}

impl FoldScores {
    /// The scores of `assessment` (of the run holding out `fold`, trained for `epochs`).
    pub fn of(fold: usize, assessment: &Assessment, epochs: usize) -> Self {
        let evaluation = &assessment.evaluation;
        let aucs: Vec<f64> = assessment
            .curves
            .iter()
            .map(|c| c.auc)
            .filter(|a| a.is_finite())
            .collect();
        Self {
            fold,
            images: evaluation.total,
            accuracy: evaluation.accuracy,
            balanced_accuracy: evaluation.balanced_accuracy(),
            macro_f1: evaluation.macro_f1,
            macro_auc: if aucs.is_empty() {
                f64::NAN
            } else {
                aucs.iter().sum::<f64>() / aucs.len() as f64
            },
            epochs,
        }
    }
}

/// Mean and sample standard deviation (n - 1; 0 for one value) of a metric over folds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Mean.
    #[serde(with = "crate::json_float")]
    pub mean: f64,
    /// Sample standard deviation.
    #[serde(with = "crate::json_float")]
    pub sd: f64,
}

impl Spread {
    /// Of `values` (NaN ones left out; NaN when none is left).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        let n = values.len() as f64;
        if values.is_empty() {
            return Self {
                mean: f64::NAN,
                sd: f64::NAN,
            };
        }
        let mean = values.iter().sum::<f64>() / n;
        let sd = if values.len() < 2 {
            0.0
        } else {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        };
        Self { mean, sd }
    }
}

/// A cross-validation's folds and their summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrossValidation {
    /// Folds asked for.
    pub k: usize,
    /// Seed of the folds (and of each run).
    pub seed: u64,
    /// The folds run, in order (fewer than `k` when stopped).
    pub folds: Vec<FoldScores>,
    /// Accuracy over the folds run.
    pub accuracy: Spread,
    /// Balanced accuracy over the folds run.
    pub balanced_accuracy: Spread,
    /// Macro F1 over the folds run.
    pub macro_f1: Spread,
    /// Macro AUC over the folds run.
    pub macro_auc: Spread,
}

impl CrossValidation {
    /// The summary of `folds` out of `k`.
    pub fn new(k: usize, seed: u64, folds: Vec<FoldScores>) -> Self {
        Self {
            k,
            seed,
            accuracy: Spread::of(folds.iter().map(|f| f.accuracy)),
            balanced_accuracy: Spread::of(folds.iter().map(|f| f.balanced_accuracy)),
            macro_f1: Spread::of(folds.iter().map(|f| f.macro_f1)),
            macro_auc: Spread::of(folds.iter().map(|f| f.macro_auc)),
            folds,
        }
    }

    /// Whether every fold ran.
    pub fn complete(&self) -> bool {
        self.folds.len() == self.k
    }

    /// One line: `5-fold: accuracy 0.912 ± 0.013, ...` (± one standard deviation).
    pub fn describe(&self) -> String {
        let run = if self.complete() {
            format!("{}-fold", self.k)
        } else {
            format!("{} of {} folds (stopped)", self.folds.len(), self.k)
        };
        let spread = |s: Spread| format!("{:.4} ± {:.4}", s.mean, s.sd);
        format!(
            "{run}: accuracy {}, balanced accuracy {}, macro F1 {}, macro AUC {} (mean ± SD)",
            spread(self.accuracy),
            spread(self.balanced_accuracy),
            spread(self.macro_f1),
            spread(self.macro_auc)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_the_sample_standard_deviation() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population SD 2, sample SD sqrt(32/7).
        let s = Spread::of([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(s.mean, 5.0);
        assert!((s.sd - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(Spread::of([0.5]).sd, 0.0);
        assert!(Spread::of([f64::NAN]).mean.is_nan());
        assert_eq!(Spread::of([1.0, f64::NAN, 3.0]).mean, 2.0);
    }
}
