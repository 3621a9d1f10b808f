#![cfg(not(target_arch = "wasm32"))]
//! Crafted and odd inputs: model files, data files, folders with links, odd names and special
//! files, run against the core and the command. Every case must end in a clear error (naming
//! the field or file and the reason) or in the correct result: no panic, no hang, no
//! unbounded allocation. The two file parsers are also fed a few thousand seeded mutations
//! of valid files.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use burn::prelude::*;
use medclassify::data::{
    Dataset, InputShape, SplitConfig, read_dataset, split_dataset, write_dataset,
};
use medclassify::model::{ModelConfig, Preset};
use medclassify::native::load_folder;
use medclassify::storage::{ModelFile, ModelMeta, decode_weights, encode_weights};
use medclassify::training::EpochMetrics;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

const CLASSES: [&str; 6] = ["AbdomenCT", "BreastMRI", "CXR", "ChestCT", "Hand", "HeadCT"];

fn model_file(preset: Preset) -> ModelFile {
    let device = Device::flex();
    let config = ModelConfig::new(preset, 6, InputShape::square(32));
    let model = config.init(&device);
    let weights = pollster::block_on(encode_weights(&model, &config)).unwrap();
    ModelFile {
        meta: ModelMeta::new(config, CLASSES.map(String::from).to_vec()),
        weights,
    }
}

/// The file's bytes with its JSON header changed by `edit`.
fn with_header(file: &ModelFile, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut header = serde_json::to_value(&file.meta).unwrap();
    edit(&mut header);
    let header = serde_json::to_vec(&header).unwrap();
    let mut out = b"MEDCLS\x00\x01".to_vec();
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&file.weights);
    out
}

/// `ModelFile::from_bytes` must refuse `bytes` with a message containing `expected`.
fn refused(bytes: &[u8], expected: &str) {
    let outcome = catch_unwind(|| ModelFile::from_bytes(bytes));
    let error = outcome
        .expect("reading a crafted model file panicked")
        .err()
        .unwrap_or_else(|| panic!("accepted a file that should say {expected:?}"))
        .to_string();
    assert!(
        error.contains(expected),
        "{error:?} should say {expected:?}"
    );
}

/// A change to a parsed header, as a case of the tables below.
type Edit = Box<dyn FnOnce(&mut Value)>;

#[test]
fn model_headers_that_would_crash_or_mislead_are_refused_with_the_field_named() {
    let seed = model_file(Preset::Seed);
    let strong = model_file(Preset::Strong);
    let cases: Vec<(&ModelFile, Edit, &str)> = vec![
        (
            &seed,
            Box::new(|h| h["model"]["dropout"] = json!(1.5)),
            "dropout is 1.5",
        ),
        (
            &seed,
            Box::new(|h| h["model"]["dropout"] = json!(-0.1)),
            "dropout",
        ),
        (
            &strong,
            Box::new(|h| h["model"]["dropout"] = json!(1.0)),
            "dropout",
        ),
        (
            &seed,
            Box::new(|h| h["image_size"] = json!(64)),
            "image_size is 64",
        ),
        (
            &strong,
            Box::new(|h| h["image_size"] = json!(64)),
            "image_size is 64",
        ),
        (
            &seed,
            Box::new(|h| {
                h["image_size"] = json!(0);
                h["model"]["image_size"] = json!(0);
            }),
            "image_size is 0",
        ),
        (
            &seed,
            Box::new(|h| {
                h["image_size"] = json!(5);
                h["model"]["image_size"] = json!(5);
            }),
            "image_size is 5",
        ),
        (
            &strong,
            Box::new(|h| h["model"]["width"] = json!(100_000)),
            "width is 100000",
        ),
        (
            &seed,
            Box::new(|h| {
                h["image_size"] = json!(512);
                h["model"]["image_size"] = json!(512);
                h["model"]["num_classes"] = json!(900);
                h["classes"] = json!((0..900).map(|i| format!("c{i}")).collect::<Vec<_>>());
            }),
            "weights",
        ),
        (
            &seed,
            Box::new(|h| h["model"]["num_classes"] = json!(2_000_000_000u64)),
            "num_classes is 2000000000",
        ),
        (
            &seed,
            Box::new(|h| {
                h["model"]["num_classes"] = json!(0);
                h["classes"] = json!([]);
            }),
            "0 class(es); a classifier needs at least 2",
        ),
        (
            &seed,
            Box::new(|h| {
                h["model"]["num_classes"] = json!(1);
                h["classes"] = json!(["Hand"]);
            }),
            "1 class(es) (Hand); a classifier needs at least 2",
        ),
        (
            &seed,
            Box::new(|h| h["classes"][3] = json!("CXR")),
            "\"CXR\" appears twice",
        ),
        (&seed, Box::new(|h| h["classes"][0] = json!("")), "empty"),
        (
            &seed,
            Box::new(|h| h["classes"] = json!(["a", "b"])),
            "2 class names",
        ),
        (
            &seed,
            Box::new(|h| {
                h["test"] = json!({
                    "classes": CLASSES, "total": 4, "correct": 2, "accuracy": 0.5, "loss": 1.0,
                    "confusion": [[1, 1], [0, 2]], "per_class": [], "macro_f1": 0.5
                })
            }),
            "test scores",
        ),
        (
            &seed,
            Box::new(|h| h["format_version"] = json!(99)),
            "format version 99",
        ),
    ];
    for (file, edit, expected) in cases {
        refused(&with_header(file, edit), expected);
    }
}

#[test]
fn non_finite_numbers_in_a_model_file_read_back() {
    let mut file = model_file(Preset::Seed);
    let epoch = |loss: f64, val_loss: f64| EpochMetrics {
        epoch: 1,
        loss,
        accuracy: 0.5,
        val_loss,
        val_accuracy: 0.5,
        val_auc: None,
        learning_rate: 1e-3,
        seconds: 1.0,
        train_seconds: 1.0,
        images_per_second: 10.0,
    };
    file.meta.history = vec![epoch(f64::NAN, f64::INFINITY), epoch(1e308, 0.5)];
    let back = ModelFile::from_bytes(&file.to_bytes()).expect("a diverged run's file reads back");
    assert!(back.meta.history[0].loss.is_nan());
    assert_eq!(back.meta.history[0].val_loss, f64::INFINITY);
    assert_eq!(back.meta.history[1].loss, 1e308);
    // A file written before (NaN as null) reads too.
    let old = with_header(&file, |h| h["history"][0]["loss"] = Value::Null);
    assert!(
        ModelFile::from_bytes(&old).unwrap().meta.history[0]
            .loss
            .is_nan()
    );
}

#[test]
fn weights_that_do_not_fit_the_declared_network_are_refused() {
    let seed = model_file(Preset::Seed);
    let strong = model_file(Preset::Strong);
    let device = Device::flex();
    for (config, weights) in [
        (&strong.meta.model, &seed.weights),
        (&seed.meta.model, &strong.weights),
        (
            &ModelConfig::new(Preset::Seed, 5, InputShape::square(32)),
            &seed.weights,
        ),
        (
            &ModelConfig::new(Preset::Seed, 6, InputShape::square(64)),
            &seed.weights,
        ),
        (
            &seed.meta.model,
            &seed.weights[..seed.weights.len() / 2].to_vec(),
        ),
    ] {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            decode_weights(config, weights, &device)
        }));
        let error = outcome.expect("decoding mismatched weights panicked").err();
        assert!(error.is_some(), "weights for another network were accepted");
    }
}

fn small_dataset() -> (Dataset, Vec<u8>) {
    let dataset = common::corner_dataset(6, 16, 1);
    let split = split_dataset(&dataset, &SplitConfig::default()).unwrap();
    let bytes = write_dataset(&dataset, &split);
    (dataset, bytes)
}

fn data_with_header(bytes: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let length = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let mut header: Value = serde_json::from_slice(&bytes[12..12 + length]).unwrap();
    edit(&mut header);
    let header = serde_json::to_vec(&header).unwrap();
    let mut out = bytes[..8].to_vec();
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&bytes[12 + length..]);
    out
}

#[test]
fn data_file_headers_that_would_crash_or_mislead_are_refused() {
    let (_, bytes) = small_dataset();
    let cases: Vec<(Edit, &str)> = vec![
        // 64 bytes, but multi-byte characters: slicing by byte offsets would panic.
        (
            Box::new(|h| h["samples"][0]["sha256"] = json!("é".repeat(32))),
            "bad sha256",
        ),
        (
            Box::new(|h| h["image_size"] = json!(70_000)),
            "image_size is 70000",
        ),
        (
            Box::new(|h| h["image_size"] = json!(4_294_967_295u64)),
            "image_size",
        ),
        (Box::new(|h| h["image_size"] = json!(0)), "image_size is 0"),
        (
            Box::new(|h| h["classes"][1] = h["classes"][0].clone()),
            "appears twice",
        ),
        (
            Box::new(|h| h["samples"][0]["label"] = json!(99)),
            "label 99 out of range",
        ),
        (
            Box::new(|h| h["samples"][0]["split"] = json!("holdout")),
            "unknown split",
        ),
    ];
    for (edit, expected) in cases {
        let crafted = data_with_header(&bytes, edit);
        let error = catch_unwind(|| read_dataset(&crafted))
            .expect("reading a crafted data file panicked")
            .err()
            .unwrap_or_else(|| panic!("accepted a data file that should say {expected:?}"));
        assert!(
            error.contains(expected),
            "{error:?} should say {expected:?}"
        );
    }
}

/// Seeded mutations of a valid file: bytes flipped, cut or inserted, and JSON fields set to
/// odd values. Reading must never panic; a valid file must read back equal.
#[test]
fn mutated_model_and_data_files_never_panic() {
    let file = model_file(Preset::Seed);
    let valid = file.to_bytes();
    let back = ModelFile::from_bytes(&valid).unwrap();
    assert_eq!(back.to_bytes(), valid, "a valid file reads back equal");
    let (dataset, data) = small_dataset();
    let (again, _) = read_dataset(&data).unwrap();
    assert_eq!(again.classes, dataset.classes);
    assert_eq!(again.len(), dataset.len());
    assert!(
        (0..dataset.len()).all(|i| again.image(i) == dataset.image(i)),
        "the pixels read back equal"
    );

    let device = Device::flex();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let (mut accepted, cases) = (0, 2_000);
    for case in 0..cases {
        let model = mutate(&mut rng, &file, &valid, case);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if let Ok(read) = ModelFile::from_bytes(&model) {
                let _ = decode_weights(&read.meta.model, &read.weights, &device);
                return true;
            }
            false
        }));
        accepted += outcome.unwrap_or_else(|_| panic!("model case {case} panicked")) as usize;
        let data = mutate_data(&mut rng, &data);
        let _ = catch_unwind(|| read_dataset(&data))
            .unwrap_or_else(|_| panic!("data case {case} panicked"));
    }
    // Some mutations are harmless (a weight byte, a number in the history): those must read.
    assert!(
        accepted > 0 && accepted < cases,
        "{accepted} of {cases} accepted"
    );
}

fn odd_value(k: usize) -> Value {
    match k % 12 {
        0 => json!(-1),
        1 => json!(0),
        2 => json!(1e308),
        3 => json!(u64::MAX),
        4 => json!("NaN"),
        5 => json!("x".repeat(300)),
        6 => Value::Null,
        7 => json!([]),
        8 => json!({}),
        9 => json!(true),
        10 => json!(0.5),
        _ => json!(3),
    }
}

/// Every path to a value inside `value`.
fn leaves(value: &Value, path: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(path.clone());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                path.push(json!(key));
                leaves(child, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate().take(8) {
                path.push(json!(i));
                leaves(child, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn set(value: &mut Value, path: &[Value], new: Value) {
    let mut at = value;
    for step in path {
        at = match step {
            Value::String(key) => &mut at[key.as_str()],
            Value::Number(i) => &mut at[i.as_u64().unwrap() as usize],
            _ => unreachable!(),
        };
    }
    *at = new;
}

fn mutate(rng: &mut impl Rng, file: &ModelFile, valid: &[u8], case: usize) -> Vec<u8> {
    if case % 2 == 1 {
        return mutate_bytes(rng, valid);
    }
    let mut header = serde_json::to_value(&file.meta).unwrap();
    let mut paths = Vec::new();
    leaves(&header, &mut Vec::new(), &mut paths);
    let path = paths[rng.random_range(1..paths.len())].clone();
    set(&mut header, &path, odd_value(rng.random_range(0..12)));
    with_header(file, |h| *h = header)
}

fn mutate_bytes(rng: &mut impl Rng, valid: &[u8]) -> Vec<u8> {
    let mut bytes = valid.to_vec();
    for _ in 0..rng.random_range(1..4) {
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..4) {
            0 => bytes[at] ^= 1 << rng.random_range(0..8),
            1 => bytes[at] = rng.random(),
            2 => bytes.truncate(at.max(1)),
            _ => bytes.insert(at, rng.random()),
        }
    }
    bytes
}

fn mutate_data(rng: &mut impl Rng, valid: &[u8]) -> Vec<u8> {
    if rng.random_bool(0.5) {
        return mutate_bytes(rng, valid);
    }
    let length = u32::from_le_bytes(valid[8..12].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&valid[12..12 + length]).unwrap();
    let mut paths = Vec::new();
    leaves(&header, &mut Vec::new(), &mut paths);
    let path = paths[rng.random_range(1..paths.len())].clone();
    let odd = odd_value(rng.random_range(0..12));
    data_with_header(valid, |h| set(h, &path, odd))
}

/// The shipped subset at 16 px in a new folder.
fn fixture_copy(name: &str) -> std::path::PathBuf {
    let dir = common::temp_dir(name);
    common::copy_fixture(&dir);
    dir
}

fn load(dir: &Path) -> (Dataset, medclassify::data::LoadReport) {
    let started = Instant::now();
    let result = load_folder(dir, InputShape::square(16), 2).expect("the folder loads");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the walk took too long"
    );
    result
}

fn skipped_with(report: &medclassify::data::LoadReport, path_part: &str) -> String {
    report
        .skipped
        .iter()
        .find(|s| s.path.contains(path_part))
        .map(|s| s.reason.to_string())
        .unwrap_or_else(|| panic!("nothing skipped at {path_part}: {:?}", report.skipped))
}

#[cfg(unix)]
#[test]
fn link_loops_end_links_outside_are_not_followed_and_say_so() {
    use std::os::unix::fs::symlink;
    let plain = fixture_copy("walk-plain");
    let (expected, _) = load(&plain);
    let dir = fixture_copy("walk-links");
    symlink(&dir, dir.join("Hand/loop-to-root")).unwrap();
    symlink(dir.join("Hand"), dir.join("CXR/to-hand")).unwrap();
    symlink(dir.join("CXR"), dir.join("Hand/to-cxr")).unwrap();
    symlink(dir.join("Hand/missing"), dir.join("Hand/broken")).unwrap();
    let outside = common::temp_dir("walk-outside");
    std::fs::copy(plain.join("Hand/000000.jpeg"), outside.join("x.jpeg")).unwrap();
    symlink(&outside, dir.join("Hand/outside")).unwrap();
    symlink(outside.join("x.jpeg"), dir.join("Hand/outside.jpeg")).unwrap();

    let (dataset, report) = load(&dir);
    assert_eq!(
        dataset.len(),
        expected.len(),
        "every image once, none through a loop"
    );
    assert!(skipped_with(&report, "Hand/outside.jpeg").contains("outside the chosen folder"));
    assert!(skipped_with(&report, "Hand/outside").contains("not followed"));
    assert!(skipped_with(&report, "Hand/broken").contains("broken link"));
}

#[cfg(target_os = "linux")]
#[test]
fn odd_names_stay_distinct_and_special_files_are_reported() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = fixture_copy("walk-names");
    let image = std::fs::read(dir.join("Hand/000000.jpeg")).unwrap();
    for raw in [&b"Hand\xff"[..], &b"Hand\xfe"[..]] {
        let folder = dir.join(OsStr::from_bytes(raw));
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("a.jpeg"), &image).unwrap();
    }
    std::fs::create_dir(dir.join("Hand\\x")).unwrap();
    std::fs::write(dir.join("Hand\\x/a.jpeg"), &image).unwrap();
    let fifo = dir.join("CXR/pipe.jpeg");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let big = std::fs::File::create(dir.join("CXR/huge.jpeg")).unwrap();
    big.set_len(100 * 1024 * 1024).unwrap(); // sparse: nothing is written

    let (dataset, report) = load(&dir);
    assert!(
        dataset.classes.contains(&"Hand\\x".to_string()),
        "{:?}",
        dataset.classes
    );
    assert_eq!(
        dataset
            .classes
            .iter()
            .filter(|c| c.starts_with("Hand"))
            .count(),
        2
    );
    let not_utf8: Vec<_> = report
        .skipped
        .iter()
        .filter(|s| s.reason.to_string().contains("not valid UTF-8"))
        .collect();
    assert_eq!(not_utf8.len(), 2, "{:?}", report.skipped);
    assert!(skipped_with(&report, "CXR/pipe.jpeg").contains("FIFO"));
    assert!(skipped_with(&report, "CXR/huge.jpeg").contains("the limit is"));
}

use common::run_cli as medclassify;

#[cfg(target_os = "linux")]
#[test]
fn the_command_reads_special_files_without_blocking() {
    let model = common::repo().join("www/models/seed-mednist.mcmodel");
    let hand = common::fixture().join("Hand/000000.jpeg");
    let (ok, stdout, stderr, took) = medclassify(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "/dev/zero",
        hand.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(
        stdout.contains("/dev/zero: cannot classify: ") && stdout.contains("device"),
        "{stdout}"
    );
    assert!(stdout.contains("000000.jpeg: Hand"), "{stdout}");
    let (ok, _, stderr, _) = medclassify(&["card", "--model", "/dev/zero"]);
    assert!(!ok && stderr.contains("device"), "{stderr}");
}

#[test]
fn training_checks_its_output_first_and_refuses_a_single_class() {
    let dir = common::temp_dir("cli-one-class");
    std::fs::create_dir_all(dir.join("Hand")).unwrap();
    for f in std::fs::read_dir(common::fixture().join("Hand"))
        .unwrap()
        .take(30)
    {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.join("Hand").join(f.file_name().unwrap())).unwrap();
    }
    let out = dir.join("one.mcmodel");
    let (ok, _, stderr, _) = medclassify(&[
        "train",
        dir.to_str().unwrap(),
        "--epochs",
        "1",
        "--backend",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("at least 2"), "{stderr}");
    assert!(!out.exists());

    let fixture = common::fixture();
    let nowhere = dir.join("missing-folder").join("m.mcmodel");
    let (ok, _, stderr, took) = medclassify(&[
        "train",
        fixture.to_str().unwrap(),
        "--epochs",
        "50",
        "--backend",
        "cpu",
        "--out",
        nowhere.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("cannot write there"), "{stderr}");
    assert!(
        !stderr.contains("loaded"),
        "the output is checked before loading: {stderr}"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn names_cannot_drive_the_terminal_or_the_model_card() {
    let dir = common::temp_dir("cli-escapes");
    let image = std::fs::read(common::fixture().join("Hand/000000.jpeg")).unwrap();
    for class in [
        "Ha\u{1b}[31mnd\u{1b}]0;pwned\u{7}",
        "<img src=x onerror=alert(1)>",
    ] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for k in 0..6 {
            std::fs::write(dir.join(class).join(format!("{k}.jpeg")), &image).unwrap();
        }
    }
    let (ok, stdout, stderr, _) = medclassify(&["inspect", dir.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "{stdout:?}"
    );
    assert!(stdout.contains("Ha\\u{1b}[31mnd"), "{stdout}");

    let mut file = model_file(Preset::Seed);
    file.meta.classes[0] = "<img src=x onerror=alert(1)>".into();
    file.meta.classes[1] = "[click](http://example.com) | x".into();
    file.meta.classes[2] = "Ha\u{1b}[31mnd".into();
    file.meta.app_version = "0.1.0\n## Regulatory status: FDA-cleared".into();
    let path = dir.join("crafted.mcmodel");
    std::fs::write(&path, file.to_bytes()).unwrap();
    let (ok, card, stderr, _) = medclassify(&["card", "--model", path.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(card.contains("\\<img src=x onerror=alert(1)\\>"), "{card}");
    assert!(!card.replace("\\<", "").contains('<'), "no raw tag: {card}");
    assert!(
        card.contains("\\[click\\](http://example.com) \\| x"),
        "{card}"
    );
    assert!(!card.contains('\u{1b}'), "{card:?}");
    // A line break in a recorded string cannot start a heading of its own.
    assert!(!card.contains("\n## Regulatory"), "{card}");
    assert!(
        card.contains("0.1.0 ## Regulatory status: FDA-cleared"),
        "{card}"
    );
}
