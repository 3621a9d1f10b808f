//! Known answers computed by hand (and by scikit-learn, `tests/metrics_oracle.rs`), and a
//! brute-force Mann-Whitney oracle on random lists with many ties.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
}

fn truth(labels: &[u8]) -> Vec<bool> {
    labels.iter().map(|&l| l == 1).collect()
}

#[test]
fn roc_of_a_small_list_matches_scikit_learn() {
    // sklearn.metrics.roc_curve([0,0,1,1], [0.1,0.4,0.35,0.8], drop_intermediate=False)
    let scores = [0.1f32, 0.4, 0.35, 0.8];
    let positives = truth(&[0, 0, 1, 1]);
    let c = roc_curve(&scores, &positives).unwrap();
    assert!(close(&c.fpr, &[0.0, 0.0, 0.5, 0.5, 1.0]), "{c:?}");
    assert!(close(&c.tpr, &[0.0, 0.5, 0.5, 1.0, 1.0]), "{c:?}");
    let t: Vec<f64> = [0.8f32, 0.4, 0.35, 0.1].map(f64::from).to_vec();
    assert_eq!(c.thresholds[0], f64::INFINITY);
    assert_eq!(c.thresholds[1..], t[..]);
    // Pairs (positive, negative): 0.35 beats 0.1 only, 0.8 beats both: 3 of 4.
    assert!((c.auc() - 0.75).abs() < 1e-12);
    assert!((roc_auc(&scores, &positives) - 0.75).abs() < 1e-12);
}

#[test]
fn precision_recall_of_a_small_list_matches_scikit_learn() {
    let scores = [0.1f32, 0.4, 0.35, 0.8];
    let positives = truth(&[0, 0, 1, 1]);
    let c = precision_recall_curve(&scores, &positives).unwrap();
    // Thresholds rising: 0.1 calls all 4 (2 right), 0.35 calls 3 (2 right), 0.4 calls 2 (1),
    // 0.8 calls 1 (1); then scikit-learn's end point (precision 1, recall 0).
    assert!(
        close(&c.precision, &[0.5, 2.0 / 3.0, 0.5, 1.0, 1.0]),
        "{c:?}"
    );
    assert!(close(&c.recall, &[1.0, 1.0, 0.5, 0.5, 0.0]), "{c:?}");
    assert_eq!(c.thresholds, [0.1f32, 0.35, 0.4, 0.8].map(f64::from));
    // AP = 0.5 * 1 (at 0.8) + 0 * 0.5 (at 0.4) + 0.5 * 2/3 (at 0.35) + 0 = 0.8333...
    assert!((c.average_precision() - 5.0 / 6.0).abs() < 1e-12);
    assert!((average_precision(&scores, &positives) - 5.0 / 6.0).abs() < 1e-12);
}

#[test]
fn tied_scores_form_one_step_and_count_one_half() {
    // Positives score 0.5 and 0.9, negatives 0.5 and 0.5. Of the 4 (positive, negative)
    // pairs, 0.9 beats both negatives (2) and 0.5 ties both (2 x 1/2): U = 3, AUC = 3/4.
    let scores = [0.5f32, 0.5, 0.5, 0.9];
    let positives = truth(&[0, 1, 0, 1]);
    let c = roc_curve(&scores, &positives).unwrap();
    // One point per distinct score: the tie is one diagonal segment from (0, 1/2) to (1, 1),
    // whose trapezoid is 1 * (1/2 + 1) / 2 = 3/4.
    assert!(
        close(&c.fpr, &[0.0, 0.0, 1.0]) && close(&c.tpr, &[0.0, 0.5, 1.0]),
        "{c:?}"
    );
    assert!((c.auc() - 0.75).abs() < 1e-12);
    // PR: 0.9 calls 1 (right): P 1, R 1/2; 0.5 calls all 4 (2 right): P 1/2, R 1.
    // AP = 1/2 * 1 + 1/2 * 1/2 = 3/4.
    assert!((average_precision(&scores, &positives) - 0.75).abs() < 1e-12);
}

#[test]
fn all_equal_scores_give_one_half_and_extremes_give_zero_and_one() {
    let positives = truth(&[0, 1, 1, 0, 1]);
    assert!((roc_auc(&[0.3; 5], &positives) - 0.5).abs() < 1e-12);
    // AP of a constant score is the share of positives.
    assert!((average_precision(&[0.3; 5], &positives) - 0.6).abs() < 1e-12);
    let perfect = [0.1f32, 0.9, 0.8, 0.2, 0.7];
    assert_eq!(roc_auc(&perfect, &positives), 1.0);
    assert_eq!(average_precision(&perfect, &positives), 1.0);
    let inverted = perfect.map(|s| 1.0 - s);
    assert_eq!(roc_auc(&inverted, &positives), 0.0);
}

#[test]
fn missing_classes_give_none_and_nan_without_panicking() {
    let no_positive = [false; 3];
    assert_eq!(roc_curve(&[0.1, 0.2, 0.3], &no_positive), None);
    assert!(roc_auc(&[0.1, 0.2, 0.3], &no_positive).is_nan());
    assert_eq!(precision_recall_curve(&[0.1, 0.2, 0.3], &no_positive), None);
    assert!(average_precision(&[0.1, 0.2, 0.3], &no_positive).is_nan());
    assert_eq!(youden_threshold(&[0.1, 0.2, 0.3], &no_positive), None);
    let no_negative = [true; 3];
    assert_eq!(roc_curve(&[0.1, 0.2, 0.3], &no_negative), None);
    assert_eq!(youden_threshold(&[0.1, 0.2, 0.3], &no_negative), None);
    // Precision is 1 everywhere when every example is positive.
    assert_eq!(average_precision(&[0.1, 0.2, 0.3], &no_negative), 1.0);
    assert_eq!(roc_curve(&[], &[]), None);
    assert_eq!(precision_recall_curve(&[], &[]), None);
    let m = ThresholdMetrics::at(&[0.1, 0.2], &[false, false], 0.5);
    assert!(m.sensitivity.is_nan() && m.precision.is_nan() && m.f1.is_nan());
    assert_eq!(m.specificity, 1.0);
}

/// AUC as the share of (positive, negative) pairs ranked right, ties one half: an O(n^2)
/// count that shares no code with the curve.
fn mann_whitney(scores: &[f32], positives: &[bool]) -> f64 {
    let mut pairs = 0.0;
    let mut wins = 0.0;
    for (i, &si) in scores.iter().enumerate() {
        for (j, &sj) in scores.iter().enumerate() {
            if positives[i] && !positives[j] {
                pairs += 1.0;
                wins += if si > sj {
                    1.0
                } else if si == sj {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    wins / pairs
}

/// AP by its definition, counting the calls at each distinct score directly.
fn brute_average_precision(scores: &[f32], positives: &[bool]) -> f64 {
    let mut distinct: Vec<f32> = scores.to_vec();
    distinct.sort_by(|a, b| b.total_cmp(a));
    distinct.dedup();
    let total = positives.iter().filter(|&&p| p).count() as f64;
    let (mut ap, mut previous_recall) = (0.0, 0.0);
    for t in distinct {
        let calls = scores.iter().zip(positives).filter(|(s, _)| **s >= t);
        let (called, right) = calls.fold((0.0, 0.0), |(c, r), (_, &p)| {
            (c + 1.0, r + f64::from(u8::from(p)))
        });
        let recall = right / total;
        ap += (recall - previous_recall) * right / called;
        previous_recall = recall;
    }
    ap
}

#[test]
fn auc_and_ap_equal_brute_force_on_random_lists_with_ties() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    for case in 0..500 {
        let n = rng.random_range(2..60);
        // Few distinct values: many ties.
        let levels = rng.random_range(1..8);
        let scores: Vec<f32> = (0..n)
            .map(|_| rng.random_range(0..levels) as f32 / levels as f32)
            .collect();
        let positives: Vec<bool> = (0..n).map(|_| rng.random_bool(0.4)).collect();
        let expected = if positives.iter().all(|&p| p) || positives.iter().all(|&p| !p) {
            f64::NAN
        } else {
            mann_whitney(&scores, &positives)
        };
        let got = roc_auc(&scores, &positives);
        assert!(
            (got - expected).abs() < 1e-12 || (got.is_nan() && expected.is_nan()),
            "case {case}: {got} vs {expected}"
        );
        if positives.contains(&true) {
            let (got, expected) = (
                average_precision(&scores, &positives),
                brute_average_precision(&scores, &positives),
            );
            assert!(
                (got - expected).abs() < 1e-12,
                "case {case}: {got} vs {expected}"
            );
        }
    }
}

#[test]
fn counts_at_a_threshold_and_youden_tie_breaking() {
    let scores = [0.1f32, 0.4, 0.35, 0.8];
    let positives = truth(&[0, 0, 1, 1]);
    // At 0.35: calls 0.4, 0.35, 0.8: TP 2, FP 1, TN 1, FN 0.
    let m = ThresholdMetrics::at(&scores, &positives, 0.35);
    assert_eq!(
        (
            m.true_positives,
            m.false_positives,
            m.true_negatives,
            m.false_negatives
        ),
        (2, 1, 1, 0)
    );
    assert_eq!((m.sensitivity, m.specificity), (1.0, 0.5));
    assert!((m.precision - 2.0 / 3.0).abs() < 1e-12 && (m.f1 - 0.8).abs() < 1e-12);
    // J: at 0.8 1/2 - 0 = 1/2; at 0.4 1/2 - 1/2 = 0; at 0.35 1 - 1/2 = 1/2; at 0.1 0.
    // 0.8 and 0.35 tie; the higher wins.
    assert_eq!(youden_threshold(&scores, &positives), Some(0.8));
    // A clear best: 0.4, the lowest positive score, is above both negatives (J = 1).
    let positives = truth(&[0, 1, 0, 1]);
    assert_eq!(
        youden_threshold(&[0.1, 0.4, 0.3, 0.8], &positives),
        Some(0.4)
    );
    // An inverted classifier: every J <= 0, and the lowest score (J = 0) is the answer.
    assert_eq!(
        youden_threshold(&[0.9, 0.1, 0.8, 0.2], &positives),
        Some(0.1)
    );
}

#[test]
fn one_vs_rest_and_operating_points_use_each_column() {
    // Three classes, four examples.
    let probabilities = [
        0.7f32, 0.2, 0.1, // label 0
        0.3, 0.4, 0.3, // label 1
        0.2, 0.5, 0.3, // label 2
        0.1, 0.1, 0.8, // label 2
    ];
    let labels = [0, 1, 2, 2];
    let curves = one_vs_rest(&probabilities, &labels, 3);
    assert_eq!(curves.len(), 3);
    for (c, curve) in curves.iter().enumerate() {
        let scores = class_scores(&probabilities, 3, c);
        let positives = is_class(&labels, c);
        assert_eq!(curve.roc, roc_curve(&scores, &positives));
        assert_eq!(curve.auc, roc_auc(&scores, &positives));
    }
    assert_eq!((curves[2].positives, curves[2].negatives), (2, 2));
    // Class 2: 0.8 and 0.3 vs 0.1 and 0.3: 2 + 1 + 0.5 = 3.5 of 4.
    assert!((curves[2].auc - 0.875).abs() < 1e-12);
    let text = serde_json::to_string(&curves).unwrap();
    let back: Vec<ClassCurves> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, curves);

    // Argmax predicts 0, 1, 1, 2: class 2 has sensitivity 1/2 and specificity 1.
    let m = operating_point_metrics(&probabilities, &labels, 3, OperatingPoint::Argmax);
    assert_eq!((m[2].sensitivity, m[2].specificity), (0.5, 1.0));
    // With "class 2 when P >= 0.3": 0, 2, 2, 2.
    let point = OperatingPoint::Threshold {
        positive: 2,
        threshold: 0.3,
    };
    assert_eq!(point.predict_all(&probabilities, 3), [0, 2, 2, 2]);
    let m = operating_point_metrics(&probabilities, &labels, 3, point);
    assert_eq!((m[2].sensitivity, m[2].specificity), (1.0, 0.5));
    assert!(m[1].sensitivity == 0.0 && m[1].precision.is_nan());
}
