//! Shared helpers for the native tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use medclassify::data::{Dataset, DatasetBuilder, InputShape};

/// The repository root: read when the test runs (cargo sets it for every test process), not
/// baked in at compile time, because the compiled tests live in a target directory shared by
/// every checkout (`scripts/env.sh`), and a binary built in one clone must not read another.
pub fn repo() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The shipped MedNIST subset.
pub fn fixture() -> PathBuf {
    repo().join("www/sample/MedNIST")
}

/// A fresh empty folder under the target directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("medclassify-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies the fixture into `dir` (class folders directly below it).
pub fn copy_fixture(dir: &Path) {
    for class in std::fs::read_dir(fixture()).unwrap().flatten() {
        let target = dir.join(class.file_name());
        std::fs::create_dir_all(&target).unwrap();
        for file in std::fs::read_dir(class.path()).unwrap().flatten() {
            std::fs::copy(file.path(), target.join(file.file_name())).unwrap();
        }
    }
}

/// Encodes `image` as `format`.
pub fn encode(image: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A seeded generator of small numbers (a linear congruential one: no dependency, the same
/// on every platform).
fn generator(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    }
}

/// A `size` x `size` PNG on a dark noisy background with a bright square in the top-left
/// quadrant and/or one in the bottom-right quadrant, added to `builder` as `path`.
fn add_squares(
    builder: &mut DatasetBuilder,
    path: &str,
    size: u32,
    (top_left, bottom_right): (bool, bool),
    next: &mut impl FnMut() -> u64,
) {
    let side = size as usize;
    let mut pixels = vec![0u8; side * side];
    for (p, v) in pixels.iter_mut().enumerate() {
        let (x, y) = (p % side, p / side);
        *v = (next() % 12) as u8 + 20;
        let in_square = |lo: usize| {
            (lo + 2..lo + side / 2 - 2).contains(&x) && (lo + 2..lo + side / 2 - 2).contains(&y)
        };
        if (top_left && in_square(0)) || (bottom_right && in_square(side / 2)) {
            *v = 240;
        }
    }
    let image =
        image::DynamicImage::ImageLuma8(image::GrayImage::from_raw(size, size, pixels).unwrap());
    builder.add_file(path, &encode(&image, image::ImageFormat::Png));
}

/// A three-class synthetic data set on a dark, slightly noisy background: class `corner`
/// has a bright square in the top-left quadrant, class `opposite` one in the bottom-right
/// quadrant, class `plain` has none. Telling `corner` from both others needs evidence
/// from the top-left square itself.
pub fn corner_dataset(per_class: usize, size: u32, seed: u64) -> Dataset {
    let mut next = generator(seed);
    let mut builder = DatasetBuilder::new(InputShape::square(size));
    for i in 0..per_class * 3 {
        let class = ["corner", "opposite", "plain"][i % 3];
        let squares = (class == "corner", class == "opposite");
        add_squares(
            &mut builder,
            &format!("{class}/{i:04}.png"),
            size,
            squares,
            &mut next,
        );
    }
    builder.finish().0
}

/// Two classes on a dark, slightly noisy background, each image with a bright distractor
/// square in the bottom-right quadrant half of the time, whatever its class; class `corner`
/// also has an equally bright square in the top-left quadrant, class `plain` has not. Only
/// the top-left square decides the class, so an explanation must light it and not the
/// distractor, which a copy of the image's brightness cannot do.
pub fn distractor_dataset(per_class: usize, size: u32, seed: u64) -> Dataset {
    let mut next = generator(seed);
    let mut builder = DatasetBuilder::new(InputShape::square(size));
    for i in 0..per_class * 2 {
        let class = ["corner", "plain"][i % 2];
        let squares = (class == "corner", next().is_multiple_of(2));
        add_squares(
            &mut builder,
            &format!("{class}/{i:04}.png"),
            size,
            squares,
            &mut next,
        );
    }
    builder.finish().0
}

/// The full MedNIST, extracted once from `../shared/data/MedNIST.tar.gz` (or `MEDNIST_DIR`).
/// `None` only when `MEDCLASSIFY_WITHOUT_FULL_DATA=1` says the archive is knowingly absent;
/// otherwise a missing archive fails the test.
pub fn full_mednist() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("MEDNIST_DIR") {
        return Some(PathBuf::from(dir));
    }
    let manifest = repo();
    let candidates = [
        manifest.join("../shared/data/MedNIST.tar.gz"),
        PathBuf::from("/work/shared/data/MedNIST.tar.gz"),
    ];
    let Some(archive) = candidates.iter().find(|p| p.exists()) else {
        if std::env::var("MEDCLASSIFY_WITHOUT_FULL_DATA").as_deref() == Ok("1") {
            did_not_run(
                "../shared/data/MedNIST.tar.gz is missing (MEDCLASSIFY_WITHOUT_FULL_DATA=1)",
            );
            return None;
        }
        panic!(
            "the full MedNIST archive is missing ({candidates:?}); set MEDNIST_DIR, or MEDCLASSIFY_WITHOUT_FULL_DATA=1 to run without it"
        );
    };
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("full-mednist");
    let done = target.join(".extracted");
    if !done.exists() {
        std::fs::create_dir_all(&target).unwrap();
        let status = std::process::Command::new("tar")
            .arg("xzf")
            .arg(archive)
            .arg("-C")
            .arg(&target)
            .status()
            .expect("tar runs");
        assert!(status.success(), "extracting {archive:?} failed");
        std::fs::write(&done, b"").unwrap();
    }
    Some(target.join("MedNIST"))
}

/// CRC-32 (PNG chunks).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG that claims 30000 x 30000 pixels (valid header and CRC, a few hundred bytes):
/// a decompression bomb as far as any decoder that trusts the header is concerned.
pub fn png_bomb() -> Vec<u8> {
    let mut bytes = encode(
        &image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(1, 1, image::Luma([0]))),
        image::ImageFormat::Png,
    );
    bytes[16..20].copy_from_slice(&30_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&30_000u32.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// Runs the `medclassify` command as a user would: (succeeded, stdout, stderr, wall time).
pub fn run_cli(args: &[&str]) -> (bool, String, String, std::time::Duration) {
    let started = std::time::Instant::now();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_medclassify"))
        .args(args)
        .output()
        .expect("the command runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed(),
    )
}

/// A finished run as the tests look at it: the network and the header of its model file.
pub struct Outcome {
    /// The trained network (inference mode).
    pub model: medclassify::model::Classifier,
    /// The model file's header: history, callback events, resume point.
    pub meta: medclassify::storage::ModelMeta,
    /// The final model file (header and weights), as the session would save it.
    pub file: medclassify::storage::ModelFile,
    /// Why training ended.
    pub reason: medclassify::training::StopReason,
    /// The epoch whose weights `model` holds.
    pub weights_from_epoch: usize,
}

/// Settings for a short test run: `preset`, `epochs`, batch 16, no callbacks (so every epoch
/// runs and the last weights are kept).
pub fn plain_config(
    preset: medclassify::model::Preset,
    epochs: usize,
) -> medclassify::training::TrainingConfig {
    medclassify::training::TrainingConfig {
        preset,
        epochs,
        batch_size: 16,
        callbacks: medclassify::training::CallbackSettings {
            early_stopping: None,
            reduce_lr: None,
            checkpoint: None,
        },
        ..Default::default()
    }
}

/// Runs the training loop as the session does (checkpoints become model files through
/// `host`), from `resume` when given.
pub fn train_on(
    data: &medclassify::training::TrainingData<'_>,
    config: &medclassify::training::TrainingConfig,
    network: &medclassify::model::ModelConfig,
    resume: Option<&medclassify::storage::ModelFile>,
    device: &burn::prelude::Device,
    host: &mut medclassify::native::TerminalHost,
) -> Result<Outcome, medclassify::training::TrainingError> {
    use medclassify::session::{FileCheckpoints, checkpoint_file, start_from};
    use medclassify::training::{Checkpoint, CheckpointSlot, TrainingError, train};
    let mut template =
        medclassify::storage::ModelMeta::new(network.clone(), data.dataset.classes.clone());
    template.training = Some(config.clone());
    let start = start_from(resume, device).map_err(TrainingError::Invalid)?;
    let mut files = FileCheckpoints::new(template.clone());
    let run = train(data, config, network, start, device, (host, &mut files));
    let outcome = pollster::block_on(run)?;
    let final_file = pollster::block_on(checkpoint_file(
        &template,
        &Checkpoint {
            slot: CheckpointSlot::Last,
            model: &outcome.model,
            record: &outcome.record,
            resume: &outcome.resume,
        },
    ))
    .expect("the model encodes");
    Ok(Outcome {
        model: outcome.model,
        meta: final_file.meta.clone(),
        file: final_file,
        reason: outcome.reason,
        weights_from_epoch: outcome.weights_from_epoch,
    })
}

/// The PneumoniaMNIST variant in `../shared/data`; `None` only when
/// `MEDCLASSIFY_WITHOUT_FULL_DATA=1` says the shared data is knowingly absent.
pub fn pneumonia_npz() -> Option<PathBuf> {
    shared_file("pneumoniamnist-variant.npz")
}

/// `name` in `../shared/data` (or `/work/shared/data`); `None` only when
/// `MEDCLASSIFY_WITHOUT_FULL_DATA=1` says the shared data is knowingly absent, else a panic.
pub fn shared_file(name: &str) -> Option<PathBuf> {
    let candidates = [
        repo().join("../shared/data").join(name),
        PathBuf::from("/work/shared/data").join(name),
    ];
    if let Some(found) = candidates.iter().find(|p| p.exists()) {
        return Some(found.clone());
    }
    if std::env::var("MEDCLASSIFY_WITHOUT_FULL_DATA").as_deref() == Ok("1") {
        did_not_run(&format!(
            "../shared/data/{name} is missing (MEDCLASSIFY_WITHOUT_FULL_DATA=1)"
        ));
        return None;
    }
    panic!(
        "{name} is missing ({candidates:?}); set MEDCLASSIFY_WITHOUT_FULL_DATA=1 to run without it"
    );
}

/// The test suite's Python (`MEDCLASSIFY_PYTHON`, or `.venv/bin/python` under the repository,
/// which `scripts/setup.sh` makes from `requirements-test.txt`) if it imports every one of
/// `modules`. Without one the test fails, unless `MEDCLASSIFY_WITHOUT_PYTHON=1` says so
/// knowingly (then `None`, and the caller says it did not run); under `CI=true` it always
/// fails.
pub fn python(modules: &[&str]) -> Option<PathBuf> {
    let python = std::env::var_os("MEDCLASSIFY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"));
    let works = std::process::Command::new(&python)
        .args(["-c", &format!("import {}", modules.join(", "))])
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(python);
    }
    let why = format!(
        "{python:?} cannot import {modules:?} (scripts/setup.sh creates .venv from \
         requirements-test.txt; MEDCLASSIFY_PYTHON names another interpreter)"
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI runs the Python cross-checks, but {why}");
    }
    if std::env::var("MEDCLASSIFY_WITHOUT_PYTHON").as_deref() == Ok("1") {
        did_not_run(&format!("{why} (MEDCLASSIFY_WITHOUT_PYTHON=1)"));
        return None;
    }
    panic!("{why}; set MEDCLASSIFY_WITHOUT_PYTHON=1 to run without it");
}

/// Records that a check did not run, and why: the one way a test skips. The line goes to
/// stderr and, under `scripts/test.sh`, to `$MEDCLASSIFY_SKIP_LOG`, which the script counts
/// in its last line ("2 checks did not run: ..."), because Cargo hides a passing test's
/// output. Under `CI=true` nothing may skip: the test fails instead.
pub fn did_not_run(why: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI runs every check, but {test} could not: {why}");
    }
    eprintln!("NOTE: {test} did not run: {why}");
    if let Some(log) = std::env::var_os("MEDCLASSIFY_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(file, "{test}: {why}");
        }
    }
}

/// `../shared/data/MedNIST.tar.gz` itself (see [`shared_file`]).
pub fn mednist_archive() -> Option<PathBuf> {
    shared_file("MedNIST.tar.gz")
}

/// `model`'s (correct, total) on the test split of `report` (an `inspect --json` report of
/// the folder `root`), counted from `medclassify predict` on those files against the classes
/// the manifest gives them: an oracle apart from the app's own metrics and its model header.
pub fn test_split_accuracy(
    model: &Path,
    root: &Path,
    report: &serde_json::Value,
) -> (usize, usize) {
    let test: std::collections::BTreeMap<String, String> = report["manifest"]
        .as_array()
        .expect("a manifest")
        .iter()
        .filter(|row| row["split"] == "test")
        .map(|row| {
            (
                root.join(row["path"].as_str().unwrap())
                    .display()
                    .to_string(),
                row["class"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let files: Vec<&str> = test.keys().map(String::as_str).collect();
    let (ok, stdout, stderr, _) = run_cli(
        &[
            &["predict", "--model", model.to_str().unwrap(), "--json"][..],
            &files[..],
        ]
        .concat(),
    );
    assert!(ok, "{stderr}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.len(), test.len());
    let correct = rows
        .iter()
        .filter(|row| test[row["path"].as_str().unwrap()] == row["class"].as_str().unwrap_or(""))
        .count();
    (correct, test.len())
}

/// `medclassify train SOURCE` on the CPU for `epochs` epochs (early stopping off) with the
/// `extra` options, writing `out`; panics with the command's message when it fails.
pub fn train_on_cpu(source: &Path, out: &Path, epochs: usize, extra: &[&str]) {
    let epochs = epochs.to_string();
    let args = [
        &["train", source.to_str().unwrap(), "--epochs", &epochs][..],
        &[
            "--patience",
            "0",
            "--backend",
            "cpu",
            "--out",
            out.to_str().unwrap(),
        ][..],
        extra,
    ]
    .concat();
    let (ok, _, stderr, _) = run_cli(&args);
    assert!(ok, "{stderr}");
}

/// A NumPy `.npy` file (format 1.0, C order) of `data`, whose elements are `descr` (`|u1`,
/// `<i8`, `<f4`, ...) in `shape`.
pub fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Per channel, the mean and the (population) variance of values whose per-channel sums and
/// sums of squares over `count` samples are given: the oracle side of BatchNorm statistics.
pub fn moments(sum: &[f64], squares: &[f64], count: f64) -> (Vec<f64>, Vec<f64>) {
    let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
    let var = (squares.iter().zip(&mean))
        .map(|(q, m)| q / count - m * m)
        .collect();
    (mean, var)
}

/// The distance of a statistics vector `got` from `want`, relative to `want`'s length.
pub fn relative_distance(got: &[f32], want: &[f64]) -> f64 {
    let diff: f64 = (got.iter().zip(want))
        .map(|(g, w)| (*g as f64 - w).powi(2))
        .sum();
    (diff / want.iter().map(|w| w * w).sum::<f64>()).sqrt()
}
