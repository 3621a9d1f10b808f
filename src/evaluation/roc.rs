//! Ranking metrics of one class against the rest: the ROC curve and its area, the
//! precision-recall curve and average precision, the counts at a threshold, and the threshold
//! that maximises Youden's J.
//!
//! Everything follows scikit-learn's conventions, so that its numbers can be checked against
//! ours (`tests/metrics_oracle.rs`):
//! - a score **at or above** a threshold is a positive call;
//! - the curves keep a point for every distinct score (`drop_intermediate=False` in
//!   `roc_curve`, the default of `precision_recall_curve`): the charts get every operating
//!   point, and tied scores form a single step, which is what makes the trapezoid AUC equal the
//!   Mann-Whitney U statistic with ties counted one half, divided by `positives * negatives`;
//! - average precision is scikit-learn's uninterpolated one, `sum (R_n - R_{n-1}) P_n`.
//!
//! Where scikit-learn warns and returns NaN arrays (a class with no positive or no negative
//! example), these functions return `None` for a curve and NaN for a number, and never panic.
//! Scores should not be NaN (scikit-learn refuses them); one that is is ordered by
//! `f32::total_cmp` (a positive NaN above every number) instead of panicking.

use serde::{Deserialize, Serialize};

use super::argmax;

/// Cumulative counts at each distinct score, highest score first (scikit-learn's
/// `_binary_clf_curve`): calling every score `>= thresholds[i]` positive gives `tps[i]` true
/// and `fps[i]` false positives.
struct Steps {
    fps: Vec<usize>,
    tps: Vec<usize>,
    thresholds: Vec<f32>,
}

fn steps(scores: &[f32], positives: &[bool]) -> Steps {
    assert_eq!(scores.len(), positives.len(), "one label per score");
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut out = Steps {
        fps: Vec::new(),
        tps: Vec::new(),
        thresholds: Vec::new(),
    };
    let (mut tp, mut fp) = (0, 0);
    for (i, &j) in order.iter().enumerate() {
        if positives[j] {
            tp += 1;
        } else {
            fp += 1;
        }
        // `!=`, not `total_cmp`: -0.0 and 0.0 are one score, as in numpy's `diff != 0`.
        let last_of_group = order
            .get(i + 1)
            .is_none_or(|&next| scores[next] != scores[j]);
        if last_of_group {
            out.fps.push(fp);
            out.tps.push(tp);
            out.thresholds.push(scores[j]);
        }
    }
    out
}

/// `(positives, negatives)`, or `None` when either is zero (no ROC curve then).
fn both_classes(positives: &[bool]) -> Option<(usize, usize)> {
    let p = positives.iter().filter(|&&x| x).count();
    let n = positives.len() - p;
    (p > 0 && n > 0).then_some((p, n))
}

/// A receiver operating characteristic curve, as scikit-learn's
/// `roc_curve(drop_intermediate=False)` gives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RocCurve {
    /// False-positive rate (1 - specificity) at each threshold, rising from 0 to 1.
    pub fpr: Vec<f64>,
    /// True-positive rate (sensitivity) at each threshold, rising from 0 to 1.
    pub tpr: Vec<f64>,
    /// Falling: `+inf` first (nothing called positive: the point (0, 0)), then every distinct
    /// score.
    #[serde(with = "crate::json_float::vec")]
    pub thresholds: Vec<f64>,
}

impl RocCurve {
    /// Area under the curve by the trapezoid rule (scikit-learn's `auc`). With every distinct
    /// score a point, a run of tied scores is one straight segment, so this is the probability
    /// that a random positive scores above a random negative, ties counting one half.
    pub fn auc(&self) -> f64 {
        self.fpr
            .windows(2)
            .zip(self.tpr.windows(2))
            .map(|(x, y)| (x[1] - x[0]) * (y[1] + y[0]) / 2.0)
            .sum()
    }
}

/// The ROC curve of `scores` for the examples marked in `positives`; `None` when there is no
/// positive or no negative example (the rates would divide by zero).
pub fn roc_curve(scores: &[f32], positives: &[bool]) -> Option<RocCurve> {
    let (p, n) = both_classes(positives)?;
    let s = steps(scores, positives);
    let mut curve = RocCurve {
        fpr: vec![0.0],
        tpr: vec![0.0],
        thresholds: vec![f64::INFINITY],
    };
    for ((fp, tp), t) in s.fps.iter().zip(&s.tps).zip(&s.thresholds) {
        curve.fpr.push(*fp as f64 / n as f64);
        curve.tpr.push(*tp as f64 / p as f64);
        curve.thresholds.push(f64::from(*t));
    }
    Some(curve)
}

/// Area under the ROC curve of `scores` (scikit-learn's `roc_auc_score`); NaN when there is
/// no positive or no negative example.
pub fn roc_auc(scores: &[f32], positives: &[bool]) -> f64 {
    roc_curve(scores, positives).map_or(f64::NAN, |c| c.auc())
}

/// A precision-recall curve, as scikit-learn's `precision_recall_curve` gives it: thresholds
/// rising, and one more point than thresholds (precision 1 at recall 0, where nothing is
/// called positive).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrecisionRecallCurve {
    /// Precision at each threshold, then 1. Always defined: every threshold is a score, so at
    /// least one example is called positive.
    pub precision: Vec<f64>,
    /// Recall at each threshold (falling), then 0.
    pub recall: Vec<f64>,
    /// Every distinct score, rising.
    pub thresholds: Vec<f64>,
}

impl PrecisionRecallCurve {
    /// Average precision without interpolation (scikit-learn's `average_precision_score`):
    /// `sum over thresholds, highest first, of (R_n - R_{n-1}) P_n`. Not the trapezoid area,
    /// which is optimistic between points.
    pub fn average_precision(&self) -> f64 {
        let sum: f64 = self
            .recall
            .windows(2)
            .zip(&self.precision)
            .map(|(r, p)| (r[0] - r[1]) * p)
            .sum();
        // Rounding can give -0.0; scikit-learn clips it too.
        sum.max(0.0)
    }
}

/// The precision-recall curve of `scores` for `positives`; `None` when there is no positive
/// example (recall divides by zero; scikit-learn sets it to 1 with a warning). With positives
/// and no negatives it exists: precision is 1 everywhere.
pub fn precision_recall_curve(scores: &[f32], positives: &[bool]) -> Option<PrecisionRecallCurve> {
    let s = steps(scores, positives);
    let p = *s.tps.last()?;
    if p == 0 {
        return None;
    }
    let mut curve = PrecisionRecallCurve {
        precision: Vec::with_capacity(s.tps.len() + 1),
        recall: Vec::with_capacity(s.tps.len() + 1),
        thresholds: Vec::with_capacity(s.tps.len()),
    };
    for i in (0..s.tps.len()).rev() {
        let (tp, called) = (s.tps[i], s.tps[i] + s.fps[i]);
        curve.precision.push(tp as f64 / called as f64);
        curve.recall.push(tp as f64 / p as f64);
        curve.thresholds.push(f64::from(s.thresholds[i]));
    }
    curve.precision.push(1.0);
    curve.recall.push(0.0);
    Some(curve)
}

/// Average precision of `scores` for `positives`; NaN when there is no positive example.
pub fn average_precision(scores: &[f32], positives: &[bool]) -> f64 {
    precision_recall_curve(scores, positives).map_or(f64::NAN, |c| c.average_precision())
}

/// The curves of one class against all others.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassCurves {
    /// The class (label index).
    pub class: usize,
    /// Examples of this class.
    pub positives: usize,
    /// Examples of the other classes.
    pub negatives: usize,
    /// `None` when `positives` or `negatives` is 0.
    pub roc: Option<RocCurve>,
    /// Area under `roc`; NaN without it.
    #[serde(with = "crate::json_float")]
    pub auc: f64,
    /// `None` when `positives` is 0.
    pub precision_recall: Option<PrecisionRecallCurve>,
    /// From `precision_recall`; NaN without it.
    #[serde(with = "crate::json_float")]
    pub average_precision: f64,
}

/// Column `class` of `probabilities` (rows of `k`).
pub(super) fn class_scores(probabilities: &[f32], k: usize, class: usize) -> Vec<f32> {
    probabilities
        .chunks_exact(k)
        .map(|row| row[class])
        .collect()
}

/// Which labels are `class`.
pub(super) fn is_class(labels: &[usize], class: usize) -> Vec<bool> {
    labels.iter().map(|&l| l == class).collect()
}

/// One-vs-rest curves of every class: class `c`'s score is its probability, the positives its
/// examples. `probabilities` holds one row of `k` per label.
pub fn one_vs_rest(probabilities: &[f32], labels: &[usize], k: usize) -> Vec<ClassCurves> {
    assert_eq!(probabilities.len(), labels.len() * k, "one row per label");
    (0..k)
        .map(|class| {
            let scores = class_scores(probabilities, k, class);
            let positives = is_class(labels, class);
            let roc = roc_curve(&scores, &positives);
            let precision_recall = precision_recall_curve(&scores, &positives);
            let count = positives.iter().filter(|&&x| x).count();
            ClassCurves {
                class,
                positives: count,
                negatives: labels.len() - count,
                auc: roc.as_ref().map_or(f64::NAN, RocCurve::auc),
                average_precision: precision_recall
                    .as_ref()
                    .map_or(f64::NAN, PrecisionRecallCurve::average_precision),
                roc,
                precision_recall,
            }
        })
        .collect()
}

/// The counts and rates of one class's calls against the truth. A rate whose denominator is 0
/// (no positive example, nothing called positive, ...) is NaN, not 0: "undefined" must not
/// read as "always wrong".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdMetrics {
    /// Positives called positive.
    pub true_positives: usize,
    /// Negatives called positive.
    pub false_positives: usize,
    /// Negatives called negative.
    pub true_negatives: usize,
    /// Positives called negative.
    pub false_negatives: usize,
    /// `TP / (TP + FN)`: recall, the true-positive rate.
    #[serde(with = "crate::json_float")]
    pub sensitivity: f64,
    /// `TN / (TN + FP)`: the true-negative rate.
    #[serde(with = "crate::json_float")]
    pub specificity: f64,
    /// `TP / (TP + FP)`: the positive predictive value.
    #[serde(with = "crate::json_float")]
    pub precision: f64,
    /// `2 TP / (2 TP + FP + FN)`: the harmonic mean of precision and sensitivity.
    #[serde(with = "crate::json_float")]
    pub f1: f64,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

impl ThresholdMetrics {
    /// From which examples were called positive and which are.
    pub fn from_calls(called: &[bool], positives: &[bool]) -> Self {
        assert_eq!(called.len(), positives.len(), "one call per label");
        let mut m = [[0usize; 2]; 2];
        for (&c, &p) in called.iter().zip(positives) {
            m[usize::from(p)][usize::from(c)] += 1;
        }
        let (tn, fp, fn_, tp) = (m[0][0], m[0][1], m[1][0], m[1][1]);
        Self {
            true_positives: tp,
            false_positives: fp,
            true_negatives: tn,
            false_negatives: fn_,
            sensitivity: ratio(tp, tp + fn_),
            specificity: ratio(tn, tn + fp),
            precision: ratio(tp, tp + fp),
            f1: ratio(2 * tp, 2 * tp + fp + fn_),
        }
    }

    /// Calling every score `>= threshold` positive.
    pub fn at(scores: &[f32], positives: &[bool], threshold: f32) -> Self {
        let called: Vec<bool> = scores.iter().map(|&s| s >= threshold).collect();
        Self::from_calls(&called, positives)
    }
}

/// How probabilities become a predicted class.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum OperatingPoint {
    /// The most probable class (first on ties), as the accuracy and confusion matrix use.
    Argmax,
    /// `positive` when its probability is `>= threshold`, otherwise the most probable other
    /// class. For two classes, the usual threshold on P(positive) (0.5 by default, or
    /// [`youden_threshold`] chosen on the validation set).
    Threshold {
        /// The class the threshold applies to.
        positive: usize,
        /// Its probability threshold.
        threshold: f32,
    },
}

impl OperatingPoint {
    /// The class this operating point predicts for one row of probabilities.
    pub fn predict(&self, row: &[f32]) -> usize {
        match *self {
            Self::Argmax => argmax(row),
            Self::Threshold {
                positive,
                threshold,
            } => {
                if row[positive] >= threshold {
                    positive
                } else {
                    // Argmax over the others: the positive class's entry counted as -inf.
                    let mut best = usize::from(positive == 0);
                    for (i, &v) in row.iter().enumerate() {
                        if i != positive && v > row[best] {
                            best = i;
                        }
                    }
                    best
                }
            }
        }
    }

    /// The predicted class of every row of `probabilities` (rows of `k`).
    pub fn predict_all(&self, probabilities: &[f32], k: usize) -> Vec<usize> {
        probabilities
            .chunks_exact(k)
            .map(|row| self.predict(row))
            .collect()
    }
}

/// Sensitivity, specificity and the rest for every class (one vs rest) at an operating point.
pub fn operating_point_metrics(
    probabilities: &[f32],
    labels: &[usize],
    k: usize,
    point: OperatingPoint,
) -> Vec<ThresholdMetrics> {
    assert_eq!(probabilities.len(), labels.len() * k, "one row per label");
    let predicted = point.predict_all(probabilities, k);
    (0..k)
        .map(|class| {
            ThresholdMetrics::from_calls(&is_class(&predicted, class), &is_class(labels, class))
        })
        .collect()
}

/// The threshold that maximises Youden's J = sensitivity + specificity - 1, chosen among the
/// scores themselves (the ROC curve's thresholds without its `+inf`, so the answer is always a
/// usable score; J there is never below the 0 of calling everything positive). On a tie the
/// **highest** threshold wins: of equally good operating points, the one with fewer positive
/// calls. J is compared exactly (as `TP * N - FP * P`), so ties are real ties, not rounding.
/// `None` when there is no positive or no negative example.
pub fn youden_threshold(scores: &[f32], positives: &[bool]) -> Option<f32> {
    let (p, n) = both_classes(positives)?;
    let s = steps(scores, positives);
    let mut best: Option<(i128, f32)> = None;
    for ((&fp, &tp), &t) in s.fps.iter().zip(&s.tps).zip(&s.thresholds) {
        let j = tp as i128 * n as i128 - fp as i128 * p as i128;
        // Strictly greater: thresholds fall, so the first maximum is the highest threshold.
        if best.is_none_or(|(b, _)| j > b) {
            best = Some((j, t));
        }
    }
    best.map(|(_, t)| t)
}

#[cfg(test)]
mod tests;
