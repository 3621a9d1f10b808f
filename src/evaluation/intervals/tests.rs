//! Known Wilson values, the bootstrap's bookkeeping, and coverage on synthetic data whose
//! true value is known.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::evaluation::{Evaluation, ThresholdMetrics, operating_point_metrics, roc_auc};

#[test]
fn wilson_matches_published_values() {
    // 8 / 10: 0.490 to 0.943 (Newcombe 1998, method 3); 0 and 10 of 10 stay inside [0, 1].
    let (lo, hi) = wilson(8, 10, Z_95);
    assert!(
        (lo - 0.490162).abs() < 1e-6 && (hi - 0.943318).abs() < 1e-6,
        "{lo} {hi}"
    );
    let (lo, hi) = wilson(0, 10, Z_95);
    assert!(lo == 0.0 && (hi - 0.277533).abs() < 1e-6);
    let (lo, hi) = wilson(10, 10, Z_95);
    assert!((lo - 0.722467).abs() < 1e-6 && hi <= 1.0 && hi > 0.999_999);
    let (lo, hi) = wilson(0, 0, Z_95);
    assert!(lo.is_nan() && hi.is_nan());
    assert!(wilson_interval(0, 0).estimate.is_nan());
    assert_eq!(wilson_interval(8, 10).estimate, 0.8);
}

#[test]
fn percentiles_interpolate_like_numpy() {
    // np.percentile([1, 2, 3, 4], [2.5, 97.5]) == [1.075, 3.925]
    let v = [1.0, 2.0, 3.0, 4.0];
    assert!((percentile(&v, 2.5) - 1.075).abs() < 1e-12);
    assert!((percentile(&v, 97.5) - 3.925).abs() < 1e-12);
    assert_eq!(percentile(&[7.0], 2.5), 7.0);
    assert!(percentile(&[], 50.0).is_nan());
}

#[test]
fn bootstrap_is_seeded_and_keeps_class_counts() {
    let labels: Vec<usize> = (0..90).map(|i| [0, 0, 1, 2, 2, 2][i % 6]).collect();
    let mean_index = |s: &[usize]| s.iter().sum::<usize>() as f64 / s.len() as f64;
    let a = stratified_bootstrap(&labels, 3, 200, 5, mean_index);
    assert_eq!(a, stratified_bootstrap(&labels, 3, 200, 5, mean_index));
    assert_ne!(a, stratified_bootstrap(&labels, 3, 200, 6, mean_index));
    assert!((a.estimate - 44.5).abs() < 1e-12 && a.lo < 44.5 && a.hi > 44.5);
    // Every resample has each class's count exactly.
    let ones = |s: &[usize]| s.iter().filter(|&&i| labels[i] == 1).count() as f64;
    let counted = stratified_bootstrap(&labels, 3, 200, 5, ones);
    assert_eq!(
        (counted.estimate, counted.lo, counted.hi),
        (15.0, 15.0, 15.0)
    );
    // No resamples: an estimate and no interval; a statistic that is always NaN: no interval.
    let none = stratified_bootstrap(&labels, 3, 0, 5, mean_index);
    assert!(none.estimate == 44.5 && none.lo.is_nan() && none.hi.is_nan());
    let nan = stratified_bootstrap(&labels, 3, 20, 5, |_| f64::NAN);
    assert!(nan.lo.is_nan() && nan.hi.is_nan());
    // An empty class and an empty set do not panic.
    let empty = stratified_bootstrap(&labels, 5, 10, 5, mean_index);
    assert_eq!(empty.estimate, 44.5);
    assert!(stratified_bootstrap(&[], 2, 10, 5, |s| s.len() as f64).hi == 0.0);
}

#[test]
fn ranked_auc_of_a_weighted_sample_equals_the_curve_of_the_expanded_sample() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for case in 0..300 {
        let n = rng.random_range(1..40);
        let scores: Vec<f32> = (0..n)
            .map(|_| rng.random_range(0..5) as f32 / 4.0)
            .collect();
        let positives: Vec<bool> = (0..n).map(|_| rng.random_bool(0.5)).collect();
        let counts: Vec<u32> = (0..n).map(|_| rng.random_range(0..4)).collect();
        let (mut expanded_scores, mut expanded_positives) = (Vec::new(), Vec::new());
        for i in 0..n {
            for _ in 0..counts[i] {
                expanded_scores.push(scores[i]);
                expanded_positives.push(positives[i]);
            }
        }
        let got = RankedScores::new(&scores).auc(&counts, &positives);
        let expected = roc_auc(&expanded_scores, &expanded_positives);
        assert!(
            (got - expected).abs() < 1e-12 || (got.is_nan() && expected.is_nan()),
            "case {case}: {got} vs {expected}"
        );
    }
}

/// `n` two-class rows whose argmax is right with probability `p`, and their labels.
fn predictions(n: usize, p: f64, rng: &mut ChaCha8Rng) -> (Vec<f32>, Vec<usize>) {
    let mut probabilities = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let label = rng.random_range(0..2usize);
        let predicted = if rng.random_bool(p) { label } else { 1 - label };
        probabilities.extend(if predicted == 0 {
            [0.9, 0.1]
        } else {
            [0.1, 0.9]
        });
        labels.push(label);
    }
    (probabilities, labels)
}

#[test]
fn all_intervals_share_resamples_and_match_the_point_estimates() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (mut probabilities, labels) = predictions(150, 0.75, &mut rng);
    // Blur the scores so that AUC is not just the accuracy's ranking.
    for p in probabilities.chunks_exact_mut(2) {
        p[0] = (p[0] + rng.random_range(-0.3..0.3f32)).clamp(0.0, 1.0);
        p[1] = 1.0 - p[0];
    }
    let point = OperatingPoint::Argmax;
    let all = confidence_intervals(&probabilities, &labels, 2, point, 300, 9);
    let classes = ["a".to_string(), "b".to_string()];
    let evaluation = Evaluation::from_probabilities(&classes, &probabilities, &labels);
    assert!((all.accuracy.estimate - evaluation.accuracy).abs() < 1e-12);
    assert_eq!(
        all.accuracy,
        accuracy_interval(&probabilities, &labels, 2, point, 300, 9)
    );
    assert_eq!(
        all.accuracy_wilson,
        wilson_interval(evaluation.correct, 150)
    );
    let rates = operating_point_metrics(&probabilities, &labels, 2, point);
    for class in 0..2 {
        let c = &all.per_class[class];
        let (sensitivity, specificity) =
            sensitivity_specificity_intervals(&probabilities, &labels, 2, class, point, 300, 9);
        assert_eq!((c.sensitivity, c.specificity), (sensitivity, specificity));
        assert_eq!(
            c.auc,
            auc_interval(&probabilities, &labels, 2, class, 300, 9)
        );
        let m: &ThresholdMetrics = &rates[class];
        assert!((c.sensitivity.estimate - m.sensitivity).abs() < 1e-12);
        assert!((c.specificity_wilson.estimate - m.specificity).abs() < 1e-12);
        let scores: Vec<f32> = probabilities.chunks(2).map(|r| r[class]).collect();
        let positives: Vec<bool> = labels.iter().map(|&l| l == class).collect();
        assert!((c.auc.estimate - roc_auc(&scores, &positives)).abs() < 1e-12);
        for i in [c.sensitivity, c.specificity, c.auc, c.sensitivity_wilson] {
            assert!(i.lo <= i.estimate && i.estimate <= i.hi, "{i:?}");
        }
    }
    let text = serde_json::to_string(&all).unwrap();
    assert_eq!(
        serde_json::from_str::<ConfidenceIntervals>(&text).unwrap(),
        all
    );
}

/// Coverage of the accuracy intervals: correctness is Bernoulli(0.8), n = 200, so the true
/// accuracy is 0.8. 200 seeded repetitions, each bootstrap with 400 resamples (not the
/// default 1,000: the percentiles are nearly as good and the test stays well under a second).
#[test]
fn accuracy_intervals_cover_the_true_value_about_95_percent_of_the_time() {
    let (repetitions, n, p) = (200, 200, 0.8);
    let (mut bootstrap, mut wilson) = (0, 0);
    for repetition in 0..repetitions {
        let mut rng = ChaCha8Rng::seed_from_u64(1000 + repetition);
        let (probabilities, labels) = predictions(n, p, &mut rng);
        let b = accuracy_interval(
            &probabilities,
            &labels,
            2,
            OperatingPoint::Argmax,
            400,
            repetition,
        );
        bootstrap += usize::from(b.lo <= p && p <= b.hi);
        let right = (b.estimate * n as f64).round() as usize;
        let w = wilson_interval(right, n);
        wilson += usize::from(w.lo <= p && p <= w.hi);
    }
    let share = |c: usize| c as f64 / repetitions as f64;
    eprintln!(
        "coverage of p = 0.8: bootstrap {}, Wilson {}",
        share(bootstrap),
        share(wilson)
    );
    assert!(
        (0.90..=0.99).contains(&share(bootstrap)),
        "bootstrap {}",
        share(bootstrap)
    );
    assert!(
        (0.90..=0.99).contains(&share(wilson)),
        "Wilson {}",
        share(wilson)
    );
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// Coverage of the AUC interval: positives score N(1, 1), negatives N(0, 1), so the true AUC
/// is P(X - Y > 0) = Phi(1 / sqrt 2) = 0.7602499389 (scipy.stats.norm.cdf). 100 of each,
/// 200 seeded repetitions of 400 resamples.
#[test]
fn auc_intervals_cover_the_true_value_about_95_percent_of_the_time() {
    let truth = 0.760_249_938_906_523_3;
    let repetitions = 200;
    let mut covered = 0;
    for repetition in 0..repetitions {
        let mut rng = ChaCha8Rng::seed_from_u64(5000 + repetition);
        let labels: Vec<usize> = (0..200).map(|i| i % 2).collect();
        let probabilities: Vec<f32> = labels
            .iter()
            .flat_map(|&l| {
                let x = normal(&mut rng) + l as f64;
                let s = 1.0 / (1.0 + (-x).exp());
                [1.0 - s as f32, s as f32]
            })
            .collect();
        let i = auc_interval(&probabilities, &labels, 2, 1, 400, repetition);
        covered += usize::from(i.lo <= truth && truth <= i.hi);
    }
    let share = covered as f64 / repetitions as f64;
    eprintln!("coverage of AUC = 0.760: {share}");
    assert!((0.90..=0.99).contains(&share), "{share}");
}
