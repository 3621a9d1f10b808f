//! Calibration: expected calibration error, reliability diagram, temperature scaling.

use serde::{Deserialize, Serialize};

use super::argmax;

/// One bin of a reliability diagram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge of the confidence bin.
    #[serde(with = "crate::json_float")]
    pub lower: f64,
    /// Upper edge of the confidence bin.
    #[serde(with = "crate::json_float")]
    pub upper: f64,
    /// Predictions whose top probability fell in the bin.
    pub count: usize,
    /// Mean top probability in the bin.
    #[serde(with = "crate::json_float")]
    pub confidence: f64,
    /// Fraction of those predictions that were right.
    #[serde(with = "crate::json_float")]
    pub accuracy: f64,
}

/// Calibration of a set of predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Expected calibration error: the count-weighted mean gap |accuracy - confidence|.
    #[serde(with = "crate::json_float")]
    pub ece: f64,
    /// The bins (equal width over [0, 1]).
    pub bins: Vec<ReliabilityBin>,
}

/// Number of bins the app uses for ECE, as in Guo et al. (2017).
pub const ECE_BINS: usize = 15;

/// ECE and reliability bins of `probabilities` (rows of `classes`) against `labels`.
pub fn calibration(
    probabilities: &[f32],
    classes: usize,
    labels: &[usize],
    bins: usize,
) -> Calibration {
    let mut count = vec![0usize; bins];
    let mut confidence = vec![0.0f64; bins];
    let mut correct = vec![0usize; bins];
    for (row, &label) in probabilities.chunks_exact(classes).zip(labels) {
        let predicted = argmax(row);
        let p = f64::from(row[predicted]);
        let bin = ((p * bins as f64).ceil() as usize).clamp(1, bins) - 1;
        count[bin] += 1;
        confidence[bin] += p;
        correct[bin] += usize::from(predicted == label);
    }
    let total = labels.len().max(1) as f64;
    let mut ece = 0.0;
    let bins: Vec<ReliabilityBin> = (0..bins)
        .map(|b| {
            let n = count[b];
            let (conf, acc) = if n == 0 {
                (0.0, 0.0)
            } else {
                (confidence[b] / n as f64, correct[b] as f64 / n as f64)
            };
            ece += n as f64 / total * (acc - conf).abs();
            ReliabilityBin {
                lower: b as f64 / bins as f64,
                upper: (b + 1) as f64 / bins as f64,
                count: n,
                confidence: conf,
                accuracy: acc,
            }
        })
        .collect();
    Calibration { ece, bins }
}

/// Softmax of `logits / temperature`, row by row.
pub fn softmax_with_temperature(logits: &[f32], classes: usize, temperature: f64) -> Vec<f32> {
    let mut out = Vec::with_capacity(logits.len());
    for row in logits.chunks_exact(classes) {
        let scaled: Vec<f64> = row.iter().map(|&z| f64::from(z) / temperature).collect();
        let max = scaled.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = scaled.iter().map(|z| (z - max).exp()).sum();
        out.extend(scaled.iter().map(|z| ((z - max).exp() / sum) as f32));
    }
    out
}

fn nll(logits: &[f32], classes: usize, labels: &[usize], temperature: f64) -> f64 {
    let mut total = 0.0;
    for (row, &label) in logits.chunks_exact(classes).zip(labels) {
        let scaled: Vec<f64> = row.iter().map(|&z| f64::from(z) / temperature).collect();
        let max = scaled.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let log_sum = max + scaled.iter().map(|z| (z - max).exp()).sum::<f64>().ln();
        total += log_sum - scaled[label];
    }
    total / labels.len().max(1) as f64
}

/// The temperatures a fit may choose. Below 0.5 a fit on a small or easy validation set pushes
/// every probability to 0 or 1 (38 images gave T = 0.05); above 10 it flattens every answer.
pub const TEMPERATURE_RANGE: (f64, f64) = (0.5, 10.0);
/// The fewest validation images a temperature is fitted on.
pub const MIN_CALIBRATION_IMAGES: usize = 50;

/// The temperature that minimises the negative log-likelihood of `labels` (fitted on the
/// validation set), by golden-section search over log T in [`TEMPERATURE_RANGE`].
pub fn fit_temperature(logits: &[f32], classes: usize, labels: &[usize]) -> f64 {
    if labels.is_empty() {
        return 1.0;
    }
    let (mut lo, mut hi) = (TEMPERATURE_RANGE.0.ln(), TEMPERATURE_RANGE.1.ln());
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    let f = |log_t: f64| nll(logits, classes, labels, log_t.exp());
    let mut c = hi - golden * (hi - lo);
    let mut d = lo + golden * (hi - lo);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..60 {
        if fc < fd {
            hi = d;
            d = c;
            fd = fc;
            c = hi - golden * (hi - lo);
            fc = f(c);
        } else {
            lo = c;
            c = d;
            fc = fd;
            d = lo + golden * (hi - lo);
            fd = f(d);
        }
    }
    ((lo + hi) / 2.0).exp()
}

/// The temperature to apply, or 1 and why none is applied.
#[derive(Clone, Debug, PartialEq)]
pub struct TemperatureChoice {
    /// The temperature (1 when not applied).
    pub temperature: f64,
    /// Why no temperature is applied, for the page, the command and the card.
    pub not_applied: Option<String>,
}

/// Fits a temperature on the validation set's `logits` and keeps it only where it can be
/// trusted: on at least [`MIN_CALIBRATION_IMAGES`] images, and only if it lowers the
/// validation set's own ECE; otherwise 1, with the reason.
pub fn choose_temperature(logits: &[f32], classes: usize, labels: &[usize]) -> TemperatureChoice {
    let none = |why: String| TemperatureChoice {
        temperature: 1.0,
        not_applied: Some(why),
    };
    if labels.len() < MIN_CALIBRATION_IMAGES {
        return none(format!(
            "temperature scaling not applied: {} validation images, at least {MIN_CALIBRATION_IMAGES} are needed to fit it",
            labels.len()
        ));
    }
    let t = fit_temperature(logits, classes, labels);
    let ece = |t: f64| {
        calibration(
            &softmax_with_temperature(logits, classes, t),
            classes,
            labels,
            ECE_BINS,
        )
        .ece
    };
    let (before, after) = (ece(1.0), ece(t));
    if after >= before {
        return none(format!(
            "temperature scaling not applied: the fitted temperature {t:.2} did not lower the validation ECE ({before:.4} -> {after:.4})"
        ));
    }
    TemperatureChoice {
        temperature: t,
        not_applied: None,
    }
}

/// Calibration on the test set, before and after temperature scaling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationSummary {
    /// Reliability and ECE of the raw probabilities.
    pub before: Calibration,
    /// Temperature fitted on the validation set.
    #[serde(with = "crate::json_float")]
    pub temperature: f64,
    /// Reliability and ECE after dividing the logits by the temperature.
    pub after: Calibration,
    /// Why no temperature was applied (then `temperature` is 1 and `after` is `before`);
    /// files from before this existed: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_applied: Option<String>,
}

impl CalibrationSummary {
    /// The temperature part in words, the same in the page, the command and the card.
    pub fn temperature_sentence(&self) -> String {
        match &self.not_applied {
            Some(why) => format!("{why}; the probabilities are the model's own"),
            None => format!(
                "temperature scaling fitted on the validation set: T = {:.3}, test ECE after: {:.4}",
                self.temperature, self.after.ece
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfectly_calibrated_predictions_have_zero_ece() {
        // Ten predictions at confidence 0.8, eight of them right.
        let mut probabilities = Vec::new();
        let mut labels = Vec::new();
        for i in 0..10 {
            probabilities.extend([0.8f32, 0.2]);
            labels.push(if i < 8 { 0 } else { 1 });
        }
        let c = calibration(&probabilities, 2, &labels, ECE_BINS);
        assert!(c.ece < 1e-6, "{}", c.ece);
        assert_eq!(c.bins.iter().map(|b| b.count).sum::<usize>(), 10);
    }

    #[test]
    fn overconfident_predictions_have_the_expected_ece() {
        // Confidence 0.99 but only half right: ECE = |0.5 - 0.99| = 0.49.
        let probabilities = [0.99f32, 0.01, 0.99, 0.01];
        let c = calibration(&probabilities, 2, &[0, 1], ECE_BINS);
        assert!((c.ece - 0.49).abs() < 1e-6, "{}", c.ece);
    }

    #[test]
    fn temperature_scaling_softens_overconfident_logits() {
        // Logits that are right 75% of the time but claim ~100%: the fitted T is above 1
        // and lowers the NLL.
        let mut logits = Vec::new();
        let mut labels = Vec::new();
        for i in 0..40 {
            logits.extend([10.0f32, 0.0]);
            labels.push(if i % 4 == 0 { 1 } else { 0 });
        }
        let t = fit_temperature(&logits, 2, &labels);
        assert!(t > 1.5, "{t}");
        assert!(nll(&logits, 2, &labels, t) < nll(&logits, 2, &labels, 1.0));
        // The optimum for a constant logit gap g and accuracy a is g / ln(a / (1 - a)).
        let expected = 10.0 / (0.75f64 / 0.25).ln();
        assert!((t - expected).abs() < 1e-3 * expected, "{t} vs {expected}");
    }

    #[test]
    fn a_temperature_is_applied_only_where_it_can_be_trusted() {
        // Too few validation images: not fitted (the case that gave T = 0.05 on 38).
        let logits: Vec<f32> = (0..38).flat_map(|_| [2.0f32, 0.0]).collect();
        let labels = vec![0usize; 38];
        let few = choose_temperature(&logits, 2, &labels);
        assert_eq!(few.temperature, 1.0);
        assert!(few.not_applied.unwrap().contains("38 validation images"));
        // Every prediction right: the NLL wants T -> 0, the range stops it at 0.5.
        let logits: Vec<f32> = (0..200).flat_map(|_| [2.0f32, 0.0]).collect();
        let labels = vec![0usize; 200];
        let t = fit_temperature(&logits, 2, &labels);
        assert!((t - TEMPERATURE_RANGE.0).abs() < 1e-3, "{t}");
        // Overconfident and wrong a quarter of the time: fitted, applied, ECE lower.
        let mut logits = Vec::new();
        let mut labels = Vec::new();
        for i in 0..200 {
            logits.extend([10.0f32, 0.0]);
            labels.push(usize::from(i % 4 == 0));
        }
        let choice = choose_temperature(&logits, 2, &labels);
        assert!(
            choice.not_applied.is_none() && choice.temperature > 1.5,
            "{choice:?}"
        );
    }

    #[test]
    fn a_temperature_that_does_not_lower_the_ece_is_not_applied() {
        // Perfectly calibrated at T = 1 (confidence 0.8, right 80 %): any other T raises the
        // ECE, so the fit (which minimises the NLL, not the ECE) is kept only if it helps.
        let z = (0.8f32 / 0.2).ln();
        let logits: Vec<f32> = (0..100).flat_map(|_| [z, 0.0]).collect();
        let labels: Vec<usize> = (0..100).map(|i| usize::from(i % 5 == 0)).collect();
        let choice = choose_temperature(&logits, 2, &labels);
        if let Some(why) = &choice.not_applied {
            assert_eq!(choice.temperature, 1.0);
            assert!(why.contains("did not lower"), "{why}");
        } else {
            let ece = |t| {
                calibration(
                    &softmax_with_temperature(&logits, 2, t),
                    2,
                    &labels,
                    ECE_BINS,
                )
                .ece
            };
            assert!(ece(choice.temperature) < ece(1.0));
        }
    }
}
