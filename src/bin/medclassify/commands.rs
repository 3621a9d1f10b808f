//! The subcommands other than `train`: argument handling and printing over the session layer.

use std::path::{Path, PathBuf};

use medclassify::data::write_dataset;
use medclassify::evaluation::argmax;
use medclassify::native::{check_writable, load_source, read_bounded, terminal_safe, write_atomic};
use medclassify::session::{
    CurrentModel, LoadedData, Prediction, decode_for_prediction, evaluate_folder, predict as score,
};
use medclassify::storage::{ModelCard, ModelFile, model_card_markdown};

use crate::args::DataArgs;
use crate::progress;

/// Decoding threads: every core.
pub fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("plain data")
    );
}

/// Loads `dir` (a folder or a `.mcdata` file) at `size` and splits it, with a progress bar
/// on a terminal unless `quiet`.
pub fn load(
    dir: &Path,
    data: &DataArgs,
    threads: usize,
    quiet: bool,
) -> Result<LoadedData, String> {
    let split = data.split_config()?;
    let dicom = data.dicom()?;
    let (dataset, report) = progress::loading(quiet, |tick| {
        load_source(dir, data.shape(), data.size.is_none(), threads, tick, dicom)
    })?;
    let mut loaded = LoadedData::new(dataset, report, split);
    loaded.dicom = dicom;
    Ok(loaded)
}

pub fn inspect(
    dir: &Path,
    data: &DataArgs,
    threads_wanted: Option<usize>,
    json: bool,
) -> Result<(), String> {
    let started = std::time::Instant::now();
    let loaded = load(
        dir,
        data,
        threads_wanted.unwrap_or_else(threads).max(1),
        json,
    )?;
    let load_seconds = started.elapsed().as_secs_f64();
    let inspection = loaded.inspection();
    if json {
        let mut value = serde_json::to_value(&inspection).expect("plain data");
        value["load_seconds"] = serde_json::json!(load_seconds);
        value["memory_bytes"] = serde_json::json!(loaded.dataset.memory_bytes());
        print_json(&value);
        return Ok(());
    }
    let report = &inspection.report;
    println!(
        "{} files, {} images in {} classes ({})",
        report.files_seen,
        report.images,
        report.classes.len(),
        data.shape()
    );
    for class in &report.classes {
        println!("  {:<16} {}", terminal_safe(&class.name), class.count);
    }
    println!("{} skipped files", report.skipped.len());
    for file in report.skipped.iter().take(50) {
        println!(
            "  {}: {}",
            terminal_safe(&file.path),
            terminal_safe(&file.message)
        );
    }
    for dicom in &report.dicom {
        println!(
            "  {}: {}",
            terminal_safe(&dicom.class),
            terminal_safe(&dicom.describe())
        );
    }
    if let Some(warning) = report.imbalance_warning() {
        println!("warning: {}", terminal_safe(&warning));
    }
    println!(
        "{} duplicate groups, {} redundant files",
        report.duplicate_groups.len(),
        report.redundant_files
    );
    match &inspection.split_error {
        Some(error) => println!("split: {error}"),
        None => {
            if loaded.split().is_ok_and(|s| s.config.from_file) {
                println!("split: as given in the file (its train, validation and test arrays)");
            }
            println!(
                "{:<16} {:>7} {:>10} {:>6}",
                "class", "train", "validation", "test"
            );
            for row in &inspection.split {
                println!(
                    "{:<16} {:>7} {:>10} {:>6}",
                    terminal_safe(&row.class),
                    row.train,
                    row.validation,
                    row.test
                );
            }
            if let Ok(split) = loaded.split()
                && let Some(groups) = &split.groups
            {
                println!(
                    "{}",
                    terminal_safe(&groups.describe(&split.config.group_by))
                );
            }
        }
    }
    Ok(())
}

/// The largest model file read (far above any network `ModelConfig::validate` accepts).
const MAX_MODEL_FILE_BYTES: usize = 512 * 1024 * 1024;

/// Reads a model file.
pub fn read_model(path: &Path) -> Result<ModelFile, String> {
    let bytes =
        read_bounded(path, MAX_MODEL_FILE_BYTES).map_err(|e| format!("{}: {e}", path.display()))?;
    ModelFile::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn evaluate(
    model_path: &Path,
    dir: &Path,
    backend: &str,
    threshold: Option<(f32, Option<String>)>,
    json: bool,
) -> Result<(), String> {
    let file = read_model(model_path)?;
    let choice = medclassify::native::BackendChoice::parse(backend)
        .ok_or_else(|| format!("unknown backend {backend:?}"))?;
    let (device, _) = medclassify::native::select_device(choice)?;
    let current = CurrentModel::from_file(file, device)?;
    let (shape, dicom) = (current.file.meta.shape(), current.file.meta.dicom());
    let (dataset, report) = progress::loading(json, |tick| {
        load_source(dir, shape, false, threads(), tick, dicom)
    })?;
    let scoring = std::time::Instant::now();
    let scored = pollster::block_on(evaluate_folder(&current, &dataset))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let scoring_seconds = scoring.elapsed().as_secs_f64();
    let evaluation = &scored.evaluation;
    let at_threshold = match threshold {
        None => None,
        Some((value, positive)) => Some(threshold_metrics(
            &scored,
            &evaluation.classes,
            value,
            positive,
        )?),
    };
    if json {
        print_json(&serde_json::json!({
            "model": model_path.display().to_string(),
            "images": scored.images,
            "scoring_seconds": scoring_seconds,
            "images_per_second": scored.images as f64 / scoring_seconds.max(1e-9),
            "skipped": report.skipped,
            "unknown_class": scored.unknown_class,
            "evaluation": evaluation,
            "balanced_accuracy": evaluation.balanced_accuracy(),
            "at_threshold": at_threshold,
            "weighted_f1": evaluation.weighted_f1(),
            "intervals": scored.intervals,
            "curves": scored.curves,
        }));
        return Ok(());
    }
    let ci = &scored.intervals.accuracy_wilson;
    println!(
        "accuracy {:.2}% ({} / {}; 95% CI {:.2}-{:.2}%, Wilson)",
        evaluation.accuracy * 100.0,
        evaluation.correct,
        evaluation.total,
        ci.lo * 100.0,
        ci.hi * 100.0
    );
    println!(
        "balanced accuracy {:.4}; macro F1 {:.4}, weighted F1 {:.4}",
        evaluation.balanced_accuracy(),
        evaluation.macro_f1,
        evaluation.weighted_f1()
    );
    println!(
        "{:<16} {:>9} {:>7} {:>7} {:>8} {:>7} {:>15}",
        "class", "precision", "recall", "f1", "support", "AUC", "AUC 95% CI"
    );
    for (m, c) in evaluation.per_class.iter().zip(&scored.intervals.per_class) {
        println!(
            "{:<16} {:>9.4} {:>7.4} {:>7.4} {:>8} {:>7.4} {:>15}",
            terminal_safe(&m.class),
            m.precision,
            m.recall,
            m.f1,
            m.support,
            c.auc.estimate,
            format!("{:.4}-{:.4}", c.auc.lo, c.auc.hi)
        );
    }
    if let Some(at) = &at_threshold {
        println!("{}", at["summary"].as_str().unwrap_or_default());
    }
    if !report.skipped.is_empty() {
        println!("{} files skipped", report.skipped.len());
    }
    if !scored.unknown_class.is_empty() {
        println!(
            "{} images in folders that are not model classes were not scored",
            scored.unknown_class.len()
        );
    }
    Ok(())
}

/// The JSON row of one prediction: the top class and the three best, or the error.
fn prediction_json(row: &Prediction, classes: &[String]) -> serde_json::Value {
    if let Some(error) = &row.error {
        return serde_json::json!({ "path": row.name, "error": error });
    }
    let p = &row.probabilities;
    let mut ranked: Vec<(usize, f32)> = p.iter().cloned().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<_> = ranked
        .iter()
        .take(3)
        .map(|(c, p)| serde_json::json!({ "class": classes[*c], "probability": p }))
        .collect();
    let best = argmax(p);
    serde_json::json!({ "path": row.name, "class": classes[best], "probability": p[best], "top": top })
}

/// The counts and rates of a two-class evaluation at a decision threshold (as the page's
/// Evaluate step shows them), as JSON with a one-line summary.
fn threshold_metrics(
    scored: &medclassify::session::FolderEvaluation,
    classes: &[String],
    value: f32,
    positive: Option<String>,
) -> Result<serde_json::Value, String> {
    let two = scored
        .two_class
        .as_ref()
        .ok_or("--threshold applies to two-class models")?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!(
            "--threshold {value}: use a probability from 0 to 1"
        ));
    }
    let positive = match positive {
        None => 1,
        Some(name) => classes
            .iter()
            .position(|c| *c == name)
            .ok_or_else(|| format!("--positive {name:?} is not one of {classes:?}"))?,
    };
    let at = two.at(positive, value);
    let summary = format!(
        "at P({}) >= {value}: TP {} FP {} TN {} FN {}; sensitivity {:.4}, specificity {:.4}, precision {:.4}",
        classes[positive],
        at.true_positives,
        at.false_positives,
        at.true_negatives,
        at.false_negatives,
        at.sensitivity,
        at.specificity,
        at.precision
    );
    Ok(
        serde_json::json!({ "positive": classes[positive], "threshold": value, "metrics": at, "summary": summary }),
    )
}

pub fn predict(model_path: &Path, images: &[PathBuf], json: bool) -> Result<(), String> {
    let current = CurrentModel::from_file(read_model(model_path)?, burn::prelude::Device::flex())?;
    let shape = current.file.meta.shape();
    let limit = medclassify::data::DecodeLimits::default().max_file_bytes;
    let mut rows: Vec<Prediction> = images
        .iter()
        .flat_map(|path| {
            let bytes = read_bounded(path, limit).map_err(|e| e.to_string());
            decode_for_prediction(
                &path.display().to_string(),
                bytes,
                shape,
                current.file.meta.window,
            )
        })
        .collect();
    pollster::block_on(score(&current, &mut rows))?;
    // Unreadable files first, as before: the command lists what it could not classify first.
    rows.sort_by_key(|row| row.error.is_none());
    let results: Vec<_> = rows
        .iter()
        .map(|r| prediction_json(r, current.classes()))
        .collect();
    if json {
        print_json(&results);
        return Ok(());
    }
    for r in &results {
        let text = |key: &str| terminal_safe(r[key].as_str().unwrap_or_default());
        match r.get("error") {
            Some(_) => println!("{}: cannot classify: {}", text("path"), text("error")),
            None => println!(
                "{}: {} ({:.2}%)",
                text("path"),
                text("class"),
                r["probability"].as_f64().unwrap_or(0.0) * 100.0
            ),
        }
    }
    Ok(())
}

pub fn export_onnx(model_path: &Path, out: &Path) -> Result<(), String> {
    check_writable(out)?;
    let current = CurrentModel::from_file(read_model(model_path)?, burn::prelude::Device::flex())?;
    let bytes = pollster::block_on(current.onnx())?;
    write_atomic(out, &bytes)?;
    let meta = &current.file.meta;
    eprintln!(
        "wrote {} ({} network, {} classes, input [batch, {channels}, {side}, {side}] of 0..255, {:.1} MB)",
        out.display(),
        meta.model.preset(),
        meta.classes.len(),
        bytes.len() as f64 / 1e6,
        channels = meta.shape().channels(),
        side = meta.shape().side(),
    );
    Ok(())
}

pub fn card(model_path: &Path, json: bool) -> Result<(), String> {
    let file = read_model(model_path)?;
    if json {
        print_json(&ModelCard::new(&file.meta));
    } else {
        print!("{}", terminal_safe(&model_card_markdown(&file.meta)));
    }
    Ok(())
}

pub fn export(dir: &Path, data: &DataArgs, out: &Path) -> Result<(), String> {
    data.split_config()?;
    check_writable(out)?;
    let loaded = load(dir, data, threads(), false)?;
    let split = loaded.split()?;
    let bytes = write_dataset(&loaded.dataset, split);
    write_atomic(out, &bytes)?;
    eprintln!(
        "wrote {} images in {} classes ({} skipped files) to {} ({:.1} MB)",
        loaded.dataset.len(),
        loaded.dataset.classes.len(),
        loaded.report.skipped.len(),
        out.display(),
        bytes.len() as f64 / 1e6
    );
    Ok(())
}
