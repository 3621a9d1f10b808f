//! 95 % confidence intervals for the test-set numbers: Wilson score intervals for proportions
//! (accuracy, sensitivity, specificity), and a seeded stratified percentile bootstrap for
//! those and for what has no closed form (AUC).
//!
//! The bootstrap resamples within each true class, so every resample has exactly the test
//! set's class counts: a rare class never vanishes from a resample (its sensitivity and AUC
//! stay defined), and the interval reflects the set's actual composition. Seeded
//! (`ChaCha8Rng`), so the same data and seed give the same interval on every platform.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::roc::{OperatingPoint, ThresholdMetrics};

/// The normal quantile of a two-sided 95 % interval.
pub const Z_95: f64 = 1.959964;

/// Resamples the bootstrap draws unless told otherwise.
pub const DEFAULT_RESAMPLES: usize = 1000;

/// An estimate and its confidence interval. NaN where undefined (a proportion of nothing, a
/// statistic that no resample defines, or no resamples).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The value on the whole set.
    #[serde(with = "crate::json_float")]
    pub estimate: f64,
    /// Lower end.
    #[serde(with = "crate::json_float")]
    pub lo: f64,
    /// Upper end.
    #[serde(with = "crate::json_float")]
    pub hi: f64,
}

/// The Wilson score interval of `successes` out of `n` at normal quantile `z` (`Z_95` for
/// 95 %). Unlike the normal-approximation interval it stays inside [0, 1] and keeps its
/// coverage near 0 and 1 (a sensitivity of 20 / 20 is not "exactly 1"). `(NaN, NaN)` when
/// `n` is 0.
pub fn wilson(successes: usize, n: usize, z: f64) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (s, n) = (successes as f64, n as f64);
    let p = s / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// [`wilson`] at 95 %, with the proportion as the estimate.
pub fn wilson_interval(successes: usize, n: usize) -> Interval {
    let (lo, hi) = wilson(successes, n, Z_95);
    let estimate = if n == 0 {
        f64::NAN
    } else {
        successes as f64 / n as f64
    };
    Interval { estimate, lo, hi }
}

/// The share of examples called rightly at a decision threshold, with Wilson's 95 % interval
/// (what the Evaluate step's table and `evaluate --threshold` report beside the rates).
pub fn accuracy_at(at: &ThresholdMetrics) -> Interval {
    let right = at.true_positives + at.true_negatives;
    wilson_interval(right, right + at.false_positives + at.false_negatives)
}

/// The `q`-th percentile (0..=100) of sorted `values`, interpolating linearly between the
/// two nearest (numpy's default); NaN when empty.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let position = q / 100.0 * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let fraction = position - below as f64;
    sorted[below] + fraction * (sorted[above] - sorted[below])
}

/// Percentile-bootstrap 95 % intervals of several statistics over the same resamples.
///
/// `statistics` gets the indices of a sample (into `labels`, grouped by class, repeats
/// allowed) and returns one value per statistic; it is first called on every index once, for
/// the estimates. Each of `resamples` resamples draws, for every class `c`, as many indices
/// as `c` has examples, uniformly with replacement from `c`'s. A resample on which a
/// statistic is NaN is left out of that statistic's percentiles (2.5 % and 97.5 %).
pub fn stratified_bootstrap_many(
    labels: &[usize],
    k: usize,
    resamples: usize,
    seed: u64,
    statistics: impl Fn(&[usize]) -> Vec<f64>,
) -> Vec<Interval> {
    let mut strata = vec![Vec::new(); k];
    for (i, &label) in labels.iter().enumerate() {
        assert!(label < k, "label {label} of {k} classes");
        strata[label].push(i);
    }
    let all: Vec<usize> = strata.concat();
    let estimates = statistics(&all);
    let mut replicates = vec![Vec::with_capacity(resamples); estimates.len()];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sample = Vec::with_capacity(labels.len());
    for _ in 0..resamples {
        sample.clear();
        for stratum in &strata {
            sample.extend((0..stratum.len()).map(|_| stratum[rng.random_range(0..stratum.len())]));
        }
        let values = statistics(&sample);
        assert_eq!(values.len(), estimates.len(), "one value per statistic");
        for (kept, value) in replicates.iter_mut().zip(values) {
            if !value.is_nan() {
                kept.push(value);
            }
        }
    }
    estimates
        .into_iter()
        .zip(replicates)
        .map(|(estimate, mut values)| {
            values.sort_by(f64::total_cmp);
            Interval {
                estimate,
                lo: percentile(&values, 2.5),
                hi: percentile(&values, 97.5),
            }
        })
        .collect()
}

/// [`stratified_bootstrap_many`] for one statistic.
pub fn stratified_bootstrap(
    labels: &[usize],
    k: usize,
    resamples: usize,
    seed: u64,
    statistic: impl Fn(&[usize]) -> f64,
) -> Interval {
    stratified_bootstrap_many(labels, k, resamples, seed, |sample| vec![statistic(sample)])[0]
}

/// One class's scores in falling order, with where each run of tied scores ends: AUC of a
/// bootstrap sample in one pass, without sorting each resample.
pub(super) struct RankedScores {
    /// Indices, highest score first.
    order: Vec<usize>,
    /// `true` at the last index of each run of equal scores.
    group_end: Vec<bool>,
}

impl RankedScores {
    pub(super) fn new(scores: &[f32]) -> Self {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let group_end = (0..order.len())
            .map(|i| {
                order
                    .get(i + 1)
                    .is_none_or(|&next| scores[next] != scores[order[i]])
            })
            .collect();
        Self { order, group_end }
    }

    /// AUC of the sample that holds index `i` `counts[i]` times: the Mann-Whitney statistic
    /// with ties one half (equal to the ROC trapezoid, [`super::roc_auc`]); NaN without a
    /// positive or a negative.
    pub(super) fn auc(&self, counts: &[u32], positives: &[bool]) -> f64 {
        let (mut above, mut group_pos, mut group_neg) = (0.0f64, 0.0f64, 0.0f64);
        let (mut wins, mut negatives) = (0.0f64, 0.0f64);
        for (&i, &end) in self.order.iter().zip(&self.group_end) {
            let c = f64::from(counts[i]);
            if positives[i] {
                group_pos += c;
            } else {
                group_neg += c;
            }
            if end {
                // Each negative of the run: beaten by every positive above, tied with the run's.
                wins += group_neg * (above + group_pos / 2.0);
                above += group_pos;
                negatives += group_neg;
                (group_pos, group_neg) = (0.0, 0.0);
            }
        }
        if above == 0.0 || negatives == 0.0 {
            return f64::NAN;
        }
        wins / (above * negatives)
    }
}

/// How often each index occurs in `sample`.
fn multiplicities(sample: &[usize], n: usize) -> Vec<u32> {
    let mut counts = vec![0u32; n];
    for &i in sample {
        counts[i] += 1;
    }
    counts
}

/// Intervals of one class (one vs rest).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassIntervals {
    /// The class (label index).
    pub class: usize,
    /// Sensitivity at the operating point, stratified bootstrap.
    pub sensitivity: Interval,
    /// The same, Wilson.
    pub sensitivity_wilson: Interval,
    /// Specificity at the operating point, stratified bootstrap.
    pub specificity: Interval,
    /// The same, Wilson.
    pub specificity_wilson: Interval,
    /// One-vs-rest ROC AUC, stratified bootstrap (no closed form that handles ties well).
    pub auc: Interval,
}

/// The 95 % intervals of a test set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceIntervals {
    /// Bootstrap resamples drawn.
    pub resamples: usize,
    /// Their seed.
    pub seed: u64,
    /// Accuracy, stratified bootstrap.
    pub accuracy: Interval,
    /// Accuracy, Wilson.
    pub accuracy_wilson: Interval,
    /// Per class, in label order.
    pub per_class: Vec<ClassIntervals>,
}

/// What the statistics need, computed once: the predictions, and each class's ranked scores.
struct TestSet<'a> {
    labels: &'a [usize],
    predicted: Vec<usize>,
    ranked: Vec<RankedScores>,
    positives: Vec<Vec<bool>>,
}

impl<'a> TestSet<'a> {
    fn new(probabilities: &[f32], labels: &'a [usize], k: usize, point: OperatingPoint) -> Self {
        assert_eq!(probabilities.len(), labels.len() * k, "one row per label");
        Self {
            labels,
            predicted: point.predict_all(probabilities, k),
            ranked: (0..k)
                .map(|c| RankedScores::new(&super::roc::class_scores(probabilities, k, c)))
                .collect(),
            positives: (0..k).map(|c| super::roc::is_class(labels, c)).collect(),
        }
    }

    fn accuracy(&self, sample: &[usize]) -> f64 {
        let right = sample
            .iter()
            .filter(|&&i| self.predicted[i] == self.labels[i])
            .count();
        right as f64 / sample.len() as f64
    }

    /// `(sensitivity, specificity)` of `class` on `sample`.
    fn rates(&self, sample: &[usize], class: usize) -> (f64, f64) {
        let [mut tp, mut pos, mut tn, mut neg] = [0usize; 4];
        for &i in sample {
            let called = self.predicted[i] == class;
            if self.labels[i] == class {
                pos += 1;
                tp += usize::from(called);
            } else {
                neg += 1;
                tn += usize::from(!called);
            }
        }
        (tp as f64 / pos as f64, tn as f64 / neg as f64)
    }

    fn auc(&self, sample: &[usize], class: usize) -> f64 {
        let counts = multiplicities(sample, self.labels.len());
        self.ranked[class].auc(&counts, &self.positives[class])
    }
}

/// Bootstrap interval of the accuracy at `point` (probabilities in rows of `k`).
pub fn accuracy_interval(
    probabilities: &[f32],
    labels: &[usize],
    k: usize,
    point: OperatingPoint,
    resamples: usize,
    seed: u64,
) -> Interval {
    let set = TestSet::new(probabilities, labels, k, point);
    stratified_bootstrap(labels, k, resamples, seed, |s| set.accuracy(s))
}

/// Bootstrap intervals of `class`'s `(sensitivity, specificity)` at `point`.
pub fn sensitivity_specificity_intervals(
    probabilities: &[f32],
    labels: &[usize],
    k: usize,
    class: usize,
    point: OperatingPoint,
    resamples: usize,
    seed: u64,
) -> (Interval, Interval) {
    let set = TestSet::new(probabilities, labels, k, point);
    let both = stratified_bootstrap_many(labels, k, resamples, seed, |s| {
        let (sensitivity, specificity) = set.rates(s, class);
        vec![sensitivity, specificity]
    });
    (both[0], both[1])
}

/// Bootstrap interval of `class`'s one-vs-rest AUC.
pub fn auc_interval(
    probabilities: &[f32],
    labels: &[usize],
    k: usize,
    class: usize,
    resamples: usize,
    seed: u64,
) -> Interval {
    let set = TestSet::new(probabilities, labels, k, OperatingPoint::Argmax);
    stratified_bootstrap(labels, k, resamples, seed, |s| set.auc(s, class))
}

/// Every interval of a test set, all bootstrap ones from the same resamples (so each equals
/// the one its own function gives for the same seed).
pub fn confidence_intervals(
    probabilities: &[f32],
    labels: &[usize],
    k: usize,
    point: OperatingPoint,
    resamples: usize,
    seed: u64,
) -> ConfidenceIntervals {
    let set = TestSet::new(probabilities, labels, k, point);
    // Layout: accuracy, then (sensitivity, specificity, AUC) of each class.
    let all = stratified_bootstrap_many(labels, k, resamples, seed, |s| {
        let counts = multiplicities(s, labels.len());
        let mut values = vec![set.accuracy(s)];
        for class in 0..k {
            let (sensitivity, specificity) = set.rates(s, class);
            let auc = set.ranked[class].auc(&counts, &set.positives[class]);
            values.extend([sensitivity, specificity, auc]);
        }
        values
    });
    let right = (0..labels.len())
        .filter(|&i| set.predicted[i] == labels[i])
        .count();
    let per_class = (0..k)
        .map(|class| {
            let calls = |want_positive: bool| {
                let members = (0..labels.len()).filter(|&i| (labels[i] == class) == want_positive);
                let (n, right) = members.fold((0, 0), |(n, r), i| {
                    (
                        n + 1,
                        r + usize::from((set.predicted[i] == class) == want_positive),
                    )
                });
                wilson_interval(right, n)
            };
            ClassIntervals {
                class,
                sensitivity: all[1 + 3 * class],
                sensitivity_wilson: calls(true),
                specificity: all[2 + 3 * class],
                specificity_wilson: calls(false),
                auc: all[3 + 3 * class],
            }
        })
        .collect();
    ConfidenceIntervals {
        resamples,
        seed,
        accuracy: all[0],
        accuracy_wilson: wilson_interval(right, labels.len()),
        per_class,
    }
}

#[cfg(test)]
mod tests;
