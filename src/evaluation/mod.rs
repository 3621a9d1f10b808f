//! Evaluation: scores, accuracy, confusion matrix, per-class metrics, calibration and
//! explanations.
mod assess;
mod calibration;
mod explain;
mod inference;
mod metrics;

pub use assess::{Assessment, Prediction, assess, assess_scores};
pub use calibration::{
    Calibration, CalibrationSummary, ECE_BINS, ReliabilityBin, calibration, fit_temperature,
    softmax_with_temperature,
};
pub use explain::{ExplainMethod, Heatmap, grad_cam, saliency};
pub use inference::{INFERENCE_BATCH, Scores, probabilities_of, score_pixels, score_samples};
pub use metrics::{ClassMetrics, Evaluation, argmax};
