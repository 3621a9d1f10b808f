//! Classification metrics from predicted probabilities: accuracy, confusion matrix,
//! precision / recall / F1 per class.

use serde::{Deserialize, Serialize};

/// Precision, recall, F1 and support of one class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Class name.
    pub class: String,
    /// Of the images predicted as this class, the fraction that are.
    #[serde(with = "crate::json_float")]
    pub precision: f64,
    /// Of the images of this class, the fraction predicted as it.
    #[serde(with = "crate::json_float")]
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    #[serde(with = "crate::json_float")]
    pub f1: f64,
    /// Images of this class.
    pub support: usize,
}

/// Scores of a model on a labelled set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Images scored.
    pub total: usize,
    /// Correct predictions.
    pub correct: usize,
    /// `correct / total`.
    #[serde(with = "crate::json_float")]
    pub accuracy: f64,
    /// Mean cross-entropy of the true class.
    #[serde(with = "crate::json_float")]
    pub loss: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
    /// Per-class metrics, in label order.
    pub per_class: Vec<ClassMetrics>,
    /// Unweighted mean F1 over classes.
    #[serde(with = "crate::json_float")]
    pub macro_f1: f64,
}

/// Index of the largest value (first one on ties).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

impl Evaluation {
    /// Mean recall over the classes present (balanced accuracy): what accuracy would be if
    /// every class were equally common, so a majority-class guess scores `1 / classes`.
    pub fn balanced_accuracy(&self) -> f64 {
        let present: Vec<f64> = self
            .per_class
            .iter()
            .filter(|m| m.support > 0)
            .map(|m| m.recall)
            .collect();
        present.iter().sum::<f64>() / present.len().max(1) as f64
    }

    /// F1 averaged over classes weighted by their support (scikit-learn's `average="weighted"`),
    /// beside the unweighted [`Evaluation::macro_f1`].
    pub fn weighted_f1(&self) -> f64 {
        let total: usize = self.per_class.iter().map(|m| m.support).sum();
        if total == 0 {
            return 0.0;
        }
        self.per_class
            .iter()
            .map(|m| m.f1 * m.support as f64)
            .sum::<f64>()
            / total as f64
    }

    /// Scores `probabilities` (one row of `classes.len()` per image) against `labels`.
    pub fn from_probabilities(classes: &[String], probabilities: &[f32], labels: &[usize]) -> Self {
        let k = classes.len();
        assert_eq!(
            probabilities.len(),
            labels.len() * k,
            "one probability row per label"
        );
        let mut confusion = vec![vec![0usize; k]; k];
        let mut loss = 0.0f64;
        for (row, &label) in probabilities.chunks_exact(k).zip(labels) {
            confusion[label][argmax(row)] += 1;
            loss -= f64::from(row[label].max(1e-12)).ln();
        }
        Self::from_confusion(classes, confusion, loss / labels.len().max(1) as f64)
    }

    /// Metrics of a confusion matrix (`confusion[true][predicted]`).
    pub fn from_confusion(classes: &[String], confusion: Vec<Vec<usize>>, loss: f64) -> Self {
        let k = classes.len();
        let total: usize = confusion.iter().flatten().sum();
        let correct: usize = (0..k).map(|i| confusion[i][i]).sum();
        let per_class: Vec<ClassMetrics> = (0..k)
            .map(|c| {
                let tp = confusion[c][c] as f64;
                let support: usize = confusion[c].iter().sum();
                let predicted: usize = (0..k).map(|t| confusion[t][c]).sum();
                let precision = if predicted == 0 {
                    0.0
                } else {
                    tp / predicted as f64
                };
                let recall = if support == 0 {
                    0.0
                } else {
                    tp / support as f64
                };
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassMetrics {
                    class: classes[c].clone(),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let macro_f1 = per_class.iter().map(|m| m.f1).sum::<f64>() / k.max(1) as f64;
        Self {
            classes: classes.to_vec(),
            total,
            correct,
            accuracy: if total == 0 {
                0.0
            } else {
                correct as f64 / total as f64
            },
            loss,
            confusion,
            per_class,
            macro_f1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_match_a_hand_computed_case() {
        let classes = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        // true a: 3 right, 1 as b; true b: 2 right; true c: 1 as a, 1 right.
        let confusion = vec![vec![3, 1, 0], vec![0, 2, 0], vec![1, 0, 1]];
        let e = Evaluation::from_confusion(&classes, confusion, 0.0);
        assert_eq!((e.total, e.correct), (8, 6));
        assert!((e.accuracy - 0.75).abs() < 1e-12);
        let a = &e.per_class[0];
        assert!((a.precision - 0.75).abs() < 1e-12 && (a.recall - 0.75).abs() < 1e-12);
        let b = &e.per_class[1];
        assert!((b.precision - 2.0 / 3.0).abs() < 1e-12 && (b.recall - 1.0).abs() < 1e-12);
        assert!((b.f1 - 0.8).abs() < 1e-12);
        let c = &e.per_class[2];
        assert_eq!(c.support, 2);
        assert!((c.precision - 1.0).abs() < 1e-12 && (c.recall - 0.5).abs() < 1e-12);
    }

    #[test]
    fn probabilities_give_confusion_and_loss() {
        let classes = vec!["x".to_string(), "y".to_string()];
        let probabilities = [0.9, 0.1, 0.2, 0.8, 0.6, 0.4];
        let e = Evaluation::from_probabilities(&classes, &probabilities, &[0, 1, 1]);
        assert_eq!(e.confusion, vec![vec![1, 0], vec![1, 1]]);
        let expected = -(0.9f64.ln() + 0.8f64.ln() + 0.4f64.ln()) / 3.0;
        assert!((e.loss - expected).abs() < 1e-6);
    }
}
