//! The full test-set assessment of a trained model: metrics, calibration with temperature
//! scaling, and the misclassified images.

use burn::prelude::*;
use burn::tensor::ExecutionError;
use serde::{Deserialize, Serialize};

use super::{
    CalibrationSummary, ECE_BINS, Evaluation, Scores, argmax, calibration, fit_temperature,
    score_samples,
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
    let temperature = fit_temperature(&validation_scores.logits, k, &validation_labels);
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
    Assessment {
        evaluation,
        calibration: CalibrationSummary {
            before: calibration(&probabilities, k, &test_labels, ECE_BINS),
            temperature,
            after: calibration(&calibrated, k, &test_labels, ECE_BINS),
        },
        predictions,
    }
}
