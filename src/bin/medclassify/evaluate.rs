//! `medclassify evaluate`: a model scored on a data source's test split.

use std::path::Path;

use medclassify::native::{load_source, terminal_safe};
use medclassify::session::{CurrentModel, evaluate_folder};

use crate::output::print_json;
use crate::progress;
use crate::source::{read_model, threads};

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
    let accuracy = medclassify::evaluation::accuracy_at(&at);
    let summary = format!(
        "at P({}) >= {value}: TP {} FP {} TN {} FN {}; accuracy {:.4} ({:.4}-{:.4}, Wilson), sensitivity {:.4}, specificity {:.4}, precision {:.4}",
        classes[positive],
        at.true_positives,
        at.false_positives,
        at.true_negatives,
        at.false_negatives,
        accuracy.estimate,
        accuracy.lo,
        accuracy.hi,
        at.sensitivity,
        at.specificity,
        at.precision
    );
    Ok(serde_json::json!({
        "positive": classes[positive],
        "threshold": value,
        "accuracy": accuracy,
        "metrics": at,
        "summary": summary,
    }))
}
