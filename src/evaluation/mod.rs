//! Evaluation: scores, accuracy, confusion matrix, per-class metrics, calibration,
//! ROC / precision-recall curves with their confidence intervals, and explanations.
mod assess;
mod calibration;
mod cross_validation;
mod explain;
mod inference;
mod intervals;
mod metrics;
mod overlay;
mod roc;

pub use assess::{
    Assessment, ClassRoc, INTERVAL_SEED, Prediction, ROC_POINTS, TwoClassScores, assess,
    assess_scores, roc_curves,
};
pub use calibration::{
    Calibration, CalibrationSummary, ECE_BINS, ReliabilityBin, calibration, choose_temperature,
    fit_temperature, softmax_with_temperature,
};
pub use cross_validation::{CrossValidation, FoldScores, Spread};
pub use explain::{ExplainMethod, Heatmap, grad_cam, saliency};
pub use inference::{INFERENCE_BATCH, Scores, probabilities_of, score_pixels, score_samples};
pub use intervals::{
    ClassIntervals, ConfidenceIntervals, DEFAULT_RESAMPLES, Interval, Z_95, accuracy_at,
    accuracy_interval, auc_interval, confidence_intervals, sensitivity_specificity_intervals,
    stratified_bootstrap, stratified_bootstrap_many, wilson, wilson_interval,
};
pub use metrics::{ClassMetrics, Evaluation, argmax};
pub use overlay::{heat_color, overlay_rgba};
pub use roc::{
    ClassCurves, OperatingPoint, PrecisionRecallCurve, RocCurve, ThresholdMetrics,
    average_precision, one_vs_rest, operating_point_metrics, precision_recall_curve, roc_auc,
    roc_curve, youden_threshold,
};
