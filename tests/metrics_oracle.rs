#![cfg(not(target_arch = "wasm32"))]
//! The ranking metrics against scikit-learn: cases (seeded random score lists with many ties,
//! hand-made ones, a four-class set) and our ROC curves, AUCs, precision-recall curves and
//! average precisions go to a JSON file, and `tests/sklearn_metrics.py` recomputes them with
//! `sklearn.metrics` and fails on any difference above 1e-9.
//!
//! The interpreter is `MEDCLASSIFY_PYTHON`, or `.venv/bin/python` under the repository
//! (`scripts/setup.sh` makes it from `requirements-test.txt`). Without one that imports
//! scikit-learn the test fails, unless `MEDCLASSIFY_WITHOUT_PYTHON=1` says so knowingly (then
//! it says that it did not run); under `CI=true` it always fails.

mod common;

use std::process::Command;

use medclassify::evaluation::{one_vs_rest, precision_recall_curve, roc_curve, youden_threshold};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// Floats for JSON, `+inf` as the string Python's `float()` reads.
fn floats(values: &[f64]) -> Value {
    values
        .iter()
        .map(|&v| {
            if v.is_finite() {
                json!(v)
            } else {
                json!(v.to_string().replace("inf", "Infinity"))
            }
        })
        .collect()
}

/// One binary case and our answers.
fn binary_case(name: &str, scores: &[f32], positives: &[bool]) -> Value {
    let roc = roc_curve(scores, positives).expect("both classes present");
    let pr = precision_recall_curve(scores, positives).expect("a positive present");
    json!({
        "name": name,
        "scores": scores.iter().map(|&s| f64::from(s)).collect::<Vec<_>>(),
        "positives": positives.iter().map(|&p| u8::from(p)).collect::<Vec<_>>(),
        "fpr": floats(&roc.fpr),
        "tpr": floats(&roc.tpr),
        "thresholds": floats(&roc.thresholds),
        "auc": roc.auc(),
        "precision": floats(&pr.precision),
        "recall": floats(&pr.recall),
        "pr_thresholds": floats(&pr.thresholds),
        "average_precision": pr.average_precision(),
        "youden": youden_threshold(scores, positives).map(f64::from),
    })
}

/// Seeded random lists: few distinct levels (many ties) or fine-grained f32 scores.
fn random_cases(rng: &mut ChaCha8Rng, count: usize) -> Vec<Value> {
    let mut cases = Vec::new();
    while cases.len() < count {
        let n = rng.random_range(2..120);
        let levels = [2, 3, 5, 10, 1_000_000][rng.random_range(0..5)];
        let scores: Vec<f32> = (0..n)
            .map(|_| rng.random_range(0..levels) as f32 / levels as f32)
            .collect();
        let share = rng.random_range(0.05..0.95);
        let positives: Vec<bool> = (0..n).map(|_| rng.random_bool(share)).collect();
        if positives.contains(&true) && positives.contains(&false) {
            let name = format!("random {} (n {n}, {levels} levels)", cases.len());
            cases.push(binary_case(&name, &scores, &positives));
        }
    }
    cases
}

/// Four classes, probabilities in tenths (so that columns have many ties) summing to 1: one
/// tenth to each class, three more to the true one, three to random ones.
fn multiclass_case(rng: &mut ChaCha8Rng) -> Value {
    let (k, n) = (4, 80);
    let labels: Vec<usize> = (0..n).map(|i| i % k).collect();
    let mut probabilities = Vec::with_capacity(n * k);
    for &label in &labels {
        let mut tenths = [1u8; 4];
        tenths[label] += 3;
        for _ in 0..3 {
            tenths[rng.random_range(0..k)] += 1;
        }
        probabilities.extend(tenths.map(|t| f32::from(t) / 10.0));
    }
    let curves = one_vs_rest(&probabilities, &labels, k);
    json!({
        "name": "four classes, one vs rest",
        "probabilities": probabilities.chunks(k).map(|r| r.iter().map(|&p| f64::from(p)).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "labels": labels,
        "auc": curves.iter().map(|c| c.auc).collect::<Vec<_>>(),
        "average_precision": curves.iter().map(|c| c.average_precision).collect::<Vec<_>>(),
    })
}

#[test]
fn ranking_metrics_agree_with_scikit_learn() {
    let Some(python) = common::python(&["sklearn", "numpy"]) else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut binary = vec![
        binary_case("hand", &[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
        binary_case("ties", &[0.5, 0.5, 0.5, 0.9], &[false, true, false, true]),
        binary_case("all equal", &[0.3; 5], &[false, true, true, false, true]),
        binary_case("one of each", &[0.2, 0.7], &[true, false]),
    ];
    binary.extend(random_cases(&mut rng, 300));
    let cases = json!({ "binary": binary, "multiclass": [multiclass_case(&mut rng)] });
    let dir = common::temp_dir("metrics-oracle");
    let path = dir.join("cases.json");
    std::fs::write(&path, serde_json::to_vec(&cases).unwrap()).unwrap();
    let output = Command::new(&python)
        .arg(common::repo().join("tests/sklearn_metrics.py"))
        .arg(&path)
        .output()
        .expect("python runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    eprintln!("{stdout}{stderr}");
    assert!(
        output.status.success(),
        "scikit-learn disagrees:\n{stdout}{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
