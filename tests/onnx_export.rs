#![cfg(not(target_arch = "wasm32"))]
//! ONNX export against an independent runtime: both presets are trained briefly on the
//! shipped MedNIST images (so batch-norm statistics and every weight are a trained network's),
//! saved as model files, exported by `medclassify export-onnx`, and the ONNX files are run by
//! `onnxruntime` from PyPI (`tests/onnx_parity.py`, which also runs `onnx.checker` with full
//! shape inference). The probabilities must match MedClassify's within 1e-4 on every image.
//! A positive control feeds the runtime one preset's file with the other preset's expected
//! probabilities: the comparison must report that mismatch, so it can fail.

mod common;

use burn::prelude::*;
use medclassify::data::{InputShape, SplitConfig, Subset, split_dataset};
use medclassify::evaluation::{grad_cam, score_samples};
use medclassify::model::{ModelConfig, Preset};
use medclassify::native::{TerminalHost, load_folder};
use medclassify::session::CurrentModel;
use medclassify::training::TrainingData;
use serde_json::{Value, json};

const SIZE: u32 = 32;

/// A model file of `preset` trained for two epochs on the fixture, and the fixture.
fn trained_file(preset: Preset) -> (Vec<u8>, medclassify::data::Dataset) {
    let (dataset, _) = load_folder(&common::fixture(), InputShape::square(SIZE), 2).unwrap();
    let split = split_dataset(&dataset, &SplitConfig::default()).unwrap();
    let device = Device::flex();
    let config = common::plain_config(preset, 2);
    let data = TrainingData {
        dataset: &dataset,
        train: split.indices(Subset::Train),
        validation: split.indices(Subset::Validation),
    };
    let network = ModelConfig::new(preset, dataset.classes.len(), InputShape::square(SIZE));
    let mut host = TerminalHost::new(None, true);
    let outcome = common::train_on(&data, &config, &network, None, &device, &mut host).unwrap();
    (outcome.file.to_bytes(), dataset)
}

#[test]
fn onnx_export_matches_onnxruntime_for_both_presets() {
    if common::python(&["onnxruntime", "onnx", "numpy"]).is_none() {
        return;
    }
    let dir = common::temp_dir("onnx-export");
    let mut cases = Vec::new();
    for preset in [Preset::Seed, Preset::Strong] {
        let (bytes, dataset) = trained_file(preset);
        let model_path = dir.join(format!("{preset}.mcmodel"));
        std::fs::write(&model_path, &bytes).unwrap();
        let onnx_path = dir.join(format!("{preset}.onnx"));
        let probabilities = export_and_score(&model_path, &onnx_path, &dataset);
        let all: Vec<usize> = (0..dataset.len()).collect();
        let pixels: Vec<u8> = all
            .iter()
            .flat_map(|&i| dataset.image(i).to_vec())
            .collect();
        cases.push(json!({
            "name": preset.name(),
            "onnx": onnx_path,
            "shape": [dataset.len(), 1, SIZE, SIZE],
            "pixels": pixels,
            "probabilities": probabilities,
            "classes": dataset.classes,
        }));
    }
    // The control: the seed file with the strong model's probabilities must disagree.
    let mut control = cases[1].clone();
    control["name"] = json!("control");
    control["onnx"] = cases[0]["onnx"].clone();
    cases.push(control);

    let results = run_parity(&dir, &cases);
    for result in &results {
        let name = result["name"].as_str().unwrap();
        let diff = result["max_abs_difference"].as_f64().unwrap();
        assert_eq!(
            result["classes"],
            json!(true),
            "{name}: class names in the metadata"
        );
        assert!(
            result["images"].as_u64() > Some(200),
            "{name}: the fixture's images"
        );
        if name == "control" {
            assert!(
                diff > 0.05,
                "the control must disagree, max difference {diff}"
            );
        } else {
            assert!(diff < 1e-4, "{name}: onnxruntime differs by {diff}");
            assert_eq!(result["argmax_agreement"].as_f64(), Some(1.0), "{name}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Exports the model file at `model_path` to `onnx_path` with `medclassify export-onnx`, and
/// returns MedClassify's probabilities for every image of `dataset` (the model file read back,
/// as predict and evaluate do).
fn export_and_score(
    model_path: &std::path::Path,
    onnx_path: &std::path::Path,
    dataset: &medclassify::data::Dataset,
) -> Vec<f32> {
    let (ok, _, stderr, _) = common::run_cli(&[
        "export-onnx",
        "--model",
        model_path.to_str().unwrap(),
        "--out",
        onnx_path.to_str().unwrap(),
    ]);
    assert!(ok, "export-onnx failed: {stderr}");
    let bytes = std::fs::read(model_path).unwrap();
    let current = CurrentModel::import("model", &bytes, None, Device::flex()).unwrap();
    let all: Vec<usize> = (0..dataset.len()).collect();
    pollster::block_on(score_samples(
        &current.model,
        dataset,
        &all,
        &current.device,
    ))
    .unwrap()
    .probabilities(1.0)
}

/// Runs `cases` through tests/onnx_parity.py; its results, one per case.
fn run_parity(dir: &std::path::Path, cases: &[Value]) -> Vec<Value> {
    let results = run_script("onnx_parity.py", &dir.join("cases.json"), &json!(cases));
    eprintln!("{results:#?}");
    let results: Vec<Value> = serde_json::from_value(results).expect("a list of results");
    // One result per case, in order: a control the script dropped cannot pass by absence.
    let names = |list: &[Value]| list.iter().map(|v| v["name"].clone()).collect::<Vec<_>>();
    assert_eq!(names(&results), names(cases), "one result per case");
    results
}

/// Writes `input` to `path` and runs `tests/<script>` on it with onnxruntime's Python; what
/// it printed, as JSON.
fn run_script(script: &str, path: &std::path::Path, input: &Value) -> Value {
    let python = common::python(&["onnxruntime", "onnx", "numpy"]).expect("checked by the caller");
    std::fs::write(path, serde_json::to_vec(input).unwrap()).unwrap();
    let output = std::process::Command::new(&python)
        .arg(common::repo().join("tests").join(script))
        .arg(path)
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{script} failed:\n{stderr}");
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// The pretrained network, its head trained for one epoch by `medclassify train --transfer
/// head` at 128 px, exported and run by onnxruntime: grouped (depthwise) convolutions, ReLU6
/// as `Clip`, residual `Add`s, "SAME" padding made explicit, the grayscale image repeated to
/// three channels and the network's own input normalisation. Every probability within 1e-4 of
/// MedClassify's on the 247 shipped images; the control (the same file against the classes
/// shifted by one) must disagree. Then its Grad-CAM against an oracle that runs the same
/// file in onnxruntime ([`grad_cam_matches_the_oracle`]).
#[test]
fn efficientnet_lite0_export_and_its_grad_cam_match_onnxruntime() {
    if common::python(&["onnxruntime", "onnx", "numpy"]).is_none() {
        return;
    }
    let dir = common::temp_dir("onnx-export-efficientnet");
    let model_path = dir.join("lite0.mcmodel");
    let extra = [
        "--preset",
        "efficientnet_lite0",
        "--transfer",
        "head",
        "--size",
        "128",
    ];
    common::train_on_cpu(&common::fixture(), &model_path, 1, &extra);
    let onnx_path = dir.join("lite0.onnx");
    let (dataset, _) = load_folder(&common::fixture(), InputShape::square(128), 2).unwrap();
    let probabilities = export_and_score(&model_path, &onnx_path, &dataset);
    let all: Vec<usize> = (0..dataset.len()).collect();
    let classes = dataset.classes.len();
    let shifted: Vec<f32> = probabilities
        .chunks(classes)
        .flat_map(|row| {
            let mut row = row.to_vec();
            row.rotate_right(1);
            row
        })
        .collect();
    let pixels: Vec<u8> = all
        .iter()
        .flat_map(|&i| dataset.image(i).to_vec())
        .collect();
    let case = |name: &str, probabilities: &[f32]| {
        json!({
            "name": name,
            "onnx": onnx_path,
            "shape": [dataset.len(), 1, 128, 128],
            "pixels": pixels,
            "probabilities": probabilities,
            "classes": dataset.classes,
        })
    };
    let results = run_parity(
        &dir,
        &[
            case("efficientnet_lite0", &probabilities),
            case("control", &shifted),
        ],
    );
    let diff = |i: usize| results[i]["max_abs_difference"].as_f64().unwrap();
    assert_eq!(results[0]["classes"], json!(true));
    assert_eq!(results[0]["images"].as_u64(), Some(247));
    let operators = results[0]["operators"].to_string();
    for op in ["\"Conv\"", "\"Clip\"", "\"Add\"", "\"Concat\""] {
        assert!(operators.contains(op), "{op} in {operators}");
    }
    assert!(diff(0) < 1e-4, "onnxruntime differs by {}", diff(0));
    assert_eq!(results[0]["argmax_agreement"].as_f64(), Some(1.0));
    assert!(
        diff(1) > 0.05,
        "the control must disagree, max difference {}",
        diff(1)
    );
    grad_cam_matches_the_oracle(&dir, &model_path, &onnx_path, &dataset, &probabilities);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Grad-CAM on EfficientNet-Lite0's last convolution, as the page and `predict --explain`
/// make it, against `tests/gradcam_oracle.py`: onnxruntime's feature maps of the exported file
/// weighted by the gradient of the class margin worked out from the graph's own dense layer
/// (no MedClassify code). One image of each class, explained for its top class and for its
/// runner-up; every map within 1e-3 of the oracle's. Two controls must fail the same
/// comparison: the image's own brightness, and the map of the other explained class.
fn grad_cam_matches_the_oracle(
    dir: &std::path::Path,
    model_path: &std::path::Path,
    onnx_path: &std::path::Path,
    dataset: &medclassify::data::Dataset,
    probabilities: &[f32],
) {
    let current = CurrentModel::import(
        "model",
        &std::fs::read(model_path).unwrap(),
        None,
        Device::flex(),
    )
    .unwrap();
    let k = dataset.classes.len();
    let mut picks = Vec::new();
    for class in 0..k {
        let i = (0..dataset.len())
            .find(|&i| dataset.samples[i].label == class)
            .unwrap();
        let row = &probabilities[i * k..(i + 1) * k];
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|a, b| row[*b].total_cmp(&row[*a]));
        picks.extend([(i, order[0]), (i, order[1])]);
    }
    let shape = InputShape::square(128);
    let ours: Vec<Vec<f32>> = picks
        .iter()
        .map(|&(i, class)| {
            let image = dataset.image(i);
            let heatmap = grad_cam(&current.model, &image, shape, class, &current.device);
            pollster::block_on(heatmap).unwrap().values
        })
        .collect();
    let pixels: Vec<u8> = picks
        .iter()
        .flat_map(|&(i, _)| dataset.image(i).to_vec())
        .collect();
    let case = json!({
        "onnx": onnx_path,
        "shape": [picks.len(), 1, 128, 128],
        "pixels": pixels,
        "classes": picks.iter().map(|&(_, c)| c).collect::<Vec<_>>(),
    });
    let oracle = run_script("gradcam_oracle.py", &dir.join("gradcam.json"), &case);
    assert_eq!(
        oracle["feature_map"],
        json!([1280, 4, 4]),
        "the last convolution"
    );
    let maps: Vec<Vec<f32>> = serde_json::from_value(oracle["maps"].clone()).unwrap();
    let worst = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    for (n, ((&(i, class), ours), theirs)) in picks.iter().zip(&ours).zip(&maps).enumerate() {
        let diff = worst(ours, theirs);
        eprintln!(
            "grad-cam image {i} class {class}: largest difference from the oracle {diff:.2e}"
        );
        assert!(diff < 1e-3, "image {i}, class {class}: off by {diff}");
        assert!(theirs.contains(&1.0), "image {i}: an empty map");
        let image = dataset.image(i);
        let peak = f32::from(*image.iter().max().unwrap());
        let brightness: Vec<f32> = image.iter().map(|&v| f32::from(v) / peak).collect();
        let control = worst(&brightness, theirs);
        assert!(control > 0.2, "image {i}: brightness passes ({control})");
        let other = &maps[n ^ 1];
        let control = worst(other, theirs);
        assert!(
            control > 0.05,
            "image {i}: the other class's map passes ({control})"
        );
    }
}
