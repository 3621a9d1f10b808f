//! The time estimate against the run it estimates, as a user runs both: `medclassify train
//! --estimate --json`, then the same run for real (`train --json`, whose `training_seconds`
//! covers the epochs, the validation after each and the test set at the end), on the CPU.
//! The oracle is this test's own clock around the real run (what the user waits, start to
//! exit), not the estimator's arithmetic nor the command's report of its own time; that report
//! is checked against the same clock.

mod common;

use serde_json::Value;

/// The estimate's seconds, the real run's seconds on this test's clock and the estimate's
/// JSON of `train` on the shipped sample with `extra` options (early stopping off, so every
/// epoch runs).
fn estimate_then_train(name: &str, epochs: usize, extra: &[&str]) -> (f64, f64, Value) {
    let dir = common::temp_dir(name);
    let out = dir.join("run.mcmodel");
    let fixture = common::fixture();
    let epochs = epochs.to_string();
    let common_args = [
        &["train", fixture.to_str().unwrap(), "--epochs", &epochs][..],
        &["--patience", "0", "--backend", "cpu", "--json"][..],
        extra,
    ]
    .concat();
    let (ok, stdout, stderr, _) = common::run_cli(&[&common_args[..], &["--estimate"]].concat());
    assert!(ok, "{stderr}");
    let estimate: Value = serde_json::from_str(&stdout).expect("the estimate is JSON");
    let out = out.to_str().unwrap();
    let (ok, stdout, stderr, wall) = common::run_cli(&[&common_args[..], &["--out", out]].concat());
    assert!(ok, "{stderr}");
    let run: Value = serde_json::from_str(&stdout).expect("the run's summary is JSON");
    let seconds = estimate["estimate"]["seconds"].as_f64().unwrap();
    // The command's own figure is part of its run: never more than the run took.
    let reported = run["training_seconds"].as_f64().unwrap();
    let wall = wall.as_secs_f64();
    assert!(
        reported <= wall,
        "{name}: reported {reported} s, ran {wall} s"
    );
    (seconds, wall, estimate)
}

/// One test, so that the runs it times do not share the two cores with each other.
#[test]
fn the_estimate_is_within_a_factor_of_two_of_the_run_it_estimates() {
    let cases: [(&str, usize, &[&str]); 3] = [
        // From scratch: every epoch's batches and validation.
        ("estimate-seed", 6, &["--size", "64", "--batch", "32"]),
        // Head only on cached features: the backbone's pass once, whatever the epochs.
        (
            "estimate-head",
            8,
            &[
                "--preset",
                "efficientnet_lite0",
                "--transfer",
                "head",
                "--size",
                "128",
                "--batch",
                "16",
            ],
        ),
        // The top blocks: the backbone's pass and the top's gradients every batch.
        (
            "estimate-top",
            2,
            &[
                "--preset",
                "efficientnet_lite0",
                "--transfer",
                "top",
                "--size",
                "64",
                "--batch",
                "16",
            ],
        ),
    ];
    let mut lines = Vec::new();
    for (name, epochs, extra) in cases {
        let (estimated, actual, json) = estimate_then_train(name, epochs, extra);
        let measured_in = json["measured_in_seconds"].as_f64().unwrap();
        let line = format!(
            "{name}: estimated {estimated:.1} s (measured in {measured_in:.1} s), ran {actual:.1} s, ratio {:.2}; {}",
            actual / estimated,
            json["estimate"]["parts"]
        );
        eprintln!("{line}");
        lines.push((line, actual / estimated));
        assert_eq!(json["estimate"]["workload"]["epochs"], epochs);
        // Head only: the backbone's features once, no training batch timed.
        let cached = name == "estimate-head";
        assert_eq!(json["estimate"]["workload"]["cached_features"], cached);
        // Not asked to fit the BatchNorm statistics first (a pass of its own,
        // `src/training/estimate.rs`' tests): the runs here keep ImageNet's.
        assert_eq!(json["estimate"]["workload"]["adapt_images"], 0, "{json}");
        assert_eq!(
            json["estimate"]["rates"]["batch_seconds"].is_null(),
            cached,
            "{json}"
        );
    }
    // Within a factor of two either way: enough to tell a minute from an hour, and a run
    // estimated without its epochs (6x and 2x off here) or without the device's speed fails.
    for (line, ratio) in &lines {
        assert!((0.5..=2.0).contains(ratio), "{line}");
    }
}
