//! The full test-set assessment of a trained model: metrics, calibration with temperature
//! scaling, and the misclassified images.

use burn::prelude::*;
use burn::tensor::ExecutionError;
use serde::{Deserialize, Serialize};

use super::{
    CalibrationSummary, ConfidenceIntervals, DEFAULT_RESAMPLES, ECE_BINS, Evaluation,
    OperatingPoint, Scores, ThresholdMetrics, argmax, calibration, choose_temperature,
    confidence_intervals, one_vs_rest, score_samples, youden_threshold,
};
use crate::data::{Dataset, Split, Subset};
use crate::model::Classifier;

/// One test prediction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Sample index in the dataset.
    pub sample: usize,
    /// True label.
    pub label: usize,
    /// Predicted label.
    pub predicted: usize,
    /// Probability of the predicted label.
    pub confidence: f32,
}

/// Everything the Evaluate step shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// Metrics on the test set.
    pub evaluation: Evaluation,
    /// Calibration on the test set, before and after temperature scaling.
    pub calibration: CalibrationSummary,
    /// Every test prediction, in sample order.
    pub predictions: Vec<Prediction>,
    /// 95 % intervals of the accuracy and of each class's sensitivity, specificity and AUC.
    pub intervals: ConfidenceIntervals,
    /// Each class's one-vs-rest ROC curve (thinned for drawing) and average precision.
    pub curves: Vec<ClassRoc>,
    /// For two classes, what a movable decision threshold needs.
    #[serde(default)]
    pub two_class: Option<TwoClassScores>,
}

/// A two-class test set's probabilities, for the Evaluate step's movable threshold: the
/// confusion matrix and the metrics at any threshold are computed from these on the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwoClassScores {
    /// Test probabilities, two per image (class 0, class 1), in test-sample order.
    pub probabilities: Vec<f32>,
    /// True labels, in the same order.
    pub labels: Vec<usize>,
    /// The threshold on P(class c) that maximises Youden's J (sensitivity + specificity - 1)
    /// on the validation set, for c taken as the positive class; `None` when the validation
    /// set lacks a class.
    pub youden_validation: [Option<f32>; 2],
}

impl TwoClassScores {
    /// The counts and rates with `positive` (0 or 1) called when P(positive) >= `threshold`.
    pub fn at(&self, positive: usize, threshold: f32) -> ThresholdMetrics {
        let scores: Vec<f32> = self
            .probabilities
            .chunks_exact(2)
            .map(|r| r[positive])
            .collect();
        let positives: Vec<bool> = self.labels.iter().map(|&l| l == positive).collect();
        ThresholdMetrics::at(&scores, &positives, threshold)
    }
}

/// Seed of the bootstrap resamples: fixed, so an assessment is reproducible.
pub const INTERVAL_SEED: u64 = 0x4d45_4443_4c53;

/// Points a drawn ROC curve keeps at most.
pub const ROC_POINTS: usize = 200;

/// A class's one-vs-rest ROC curve as the Evaluate step draws it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassRoc {
    /// The class (label index).
    pub class: usize,
    /// (false-positive rate, true-positive rate), from (0, 0) to (1, 1), at most
    /// [`ROC_POINTS`] of them (the full curve has one point per distinct score).
    pub points: Vec<(f64, f64)>,
    /// Area under the full curve; NaN when the test set lacks the class or all others.
    #[serde(with = "crate::json_float")]
    pub auc: f64,
    /// Average precision (scikit-learn's definition); NaN without positives.
    #[serde(with = "crate::json_float")]
    pub average_precision: f64,
    /// (recall, precision) of the precision-recall curve, thinned like `points`.
    #[serde(default)]
    pub pr_points: Vec<(f64, f64)>,
}

/// Every `step`-th point of a curve, with both ends (enough to draw it faithfully at the
/// sizes the page uses).
fn thinned(fpr: &[f64], tpr: &[f64], keep: usize) -> Vec<(f64, f64)> {
    let n = fpr.len();
    let step = n.div_ceil(keep.max(2)).max(1);
    let mut points: Vec<(f64, f64)> = (0..n).step_by(step).map(|i| (fpr[i], tpr[i])).collect();
    if n > 0 && !(n - 1).is_multiple_of(step) {
        points.push((fpr[n - 1], tpr[n - 1]));
    }
    points
}

/// Each class's drawn ROC curve, AUC and average precision.
pub fn roc_curves(probabilities: &[f32], labels: &[usize], k: usize) -> Vec<ClassRoc> {
    one_vs_rest(probabilities, labels, k)
        .into_iter()
        .map(|c| ClassRoc {
            class: c.class,
            points: c
                .roc
                .as_ref()
                .map(|r| thinned(&r.fpr, &r.tpr, ROC_POINTS))
                .unwrap_or_default(),
            auc: c.auc,
            average_precision: c.average_precision,
            pr_points: c
                .precision_recall
                .as_ref()
                .map(|pr| thinned(&pr.recall, &pr.precision, ROC_POINTS))
                .unwrap_or_default(),
        })
        .collect()
}

impl Assessment {
    /// The wrong predictions, most confident first.
    pub fn misclassified(&self) -> Vec<&Prediction> {
        let mut wrong: Vec<&Prediction> = self
            .predictions
            .iter()
            .filter(|p| p.label != p.predicted)
            .collect();
        wrong.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        wrong
    }
}

/// Scores `model` on the test subset and calibrates it on the validation subset.
pub async fn assess(
    model: &Classifier,
    dataset: &Dataset,
    split: &Split,
    device: &Device,
) -> Result<Assessment, ExecutionError> {
    let test = split.indices(Subset::Test);
    let validation = split.indices(Subset::Validation);
    let test_scores = score_samples(model, dataset, &test, device).await?;
    let validation_scores = score_samples(model, dataset, &validation, device).await?;
    Ok(assess_scores(
        dataset,
        &test,
        &test_scores,
        &validation,
        &validation_scores,
    ))
}

/// [`assess`] from scores already computed.
pub fn assess_scores(
    dataset: &Dataset,
    test: &[usize],
    test_scores: &Scores,
    validation: &[usize],
    validation_scores: &Scores,
) -> Assessment {
    let k = dataset.classes.len();
    let test_labels: Vec<usize> = test.iter().map(|&i| dataset.samples[i].label).collect();
    let validation_labels: Vec<usize> = validation
        .iter()
        .map(|&i| dataset.samples[i].label)
        .collect();
    let probabilities = test_scores.probabilities(1.0);
    let evaluation = Evaluation::from_probabilities(&dataset.classes, &probabilities, &test_labels);
    let choice = choose_temperature(&validation_scores.logits, k, &validation_labels);
    let temperature = choice.temperature;
    let calibrated = test_scores.probabilities(temperature);
    let predictions = test
        .iter()
        .zip(probabilities.chunks_exact(k))
        .map(|(&sample, row)| {
            let predicted = argmax(row);
            Prediction {
                sample,
                label: dataset.samples[sample].label,
                predicted,
                confidence: row[predicted],
            }
        })
        .collect();
    let intervals = confidence_intervals(
        &probabilities,
        &test_labels,
        k,
        OperatingPoint::Argmax,
        DEFAULT_RESAMPLES,
        INTERVAL_SEED,
    );
    Assessment {
        evaluation,
        calibration: CalibrationSummary {
            before: calibration(&probabilities, k, &test_labels, ECE_BINS),
            temperature,
            after: calibration(&calibrated, k, &test_labels, ECE_BINS),
            not_applied: choice.not_applied,
        },
        predictions,
        intervals,
        curves: roc_curves(&probabilities, &test_labels, k),
        two_class: (k == 2).then(|| TwoClassScores {
            youden_validation: [0, 1].map(|positive| {
                let scores: Vec<f32> = validation_scores
                    .probabilities(1.0)
                    .chunks_exact(2)
                    .map(|row| row[positive])
                    .collect();
                let positives: Vec<bool> =
                    validation_labels.iter().map(|&l| l == positive).collect();
                youden_threshold(&scores, &positives)
            }),
            probabilities,
            labels: test_labels,
        }),
    }
}
