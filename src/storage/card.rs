//! The model card: what a model is, what it was trained on, how it scored, what it is for.

use serde::{Deserialize, Serialize};
use std::fmt::Write;

use super::{DataSummary, ModelMeta};
use crate::evaluation::{
    CalibrationSummary, ConfidenceIntervals, CrossValidation, Evaluation, Interval,
};
use crate::model::Transfer;
use crate::model::pretrained::BACKBONE_LEARNING_RATE;
use crate::training::{CallbackEvent, ClassWeighting, Sampling};

/// Intended use, written into every card.
pub const INTENDED_USE: &str = "Education and research: classifying the modality / body region of small grayscale \
medical images (such as MedNIST's AbdomenCT, BreastMRI, CXR, ChestCT, Hand, HeadCT). Not a medical device; \
not for diagnosis or treatment decisions.";

/// Limits, written into every card.
pub const LIMITATIONS: &[&str] = &[
    "Scores hold only for images like the training data (same sources, modalities, size and preprocessing); \
     expect failures on other scanners, views, crops or populations.",
    "Images are reduced to 8-bit grayscale squares; colour, aspect ratio and fine detail are lost.",
    "Duplicates are detected only when files are byte-identical; near-duplicates (re-encoded or resized \
     copies) can still sit in both training and test sets and inflate the test score.",
    "Confidence is calibrated on the validation set at most; probabilities on unfamiliar inputs are not \
     reliable, and the model cannot say \"none of these classes\".",
];

/// The card, as JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelCard {
    /// One-line title.
    pub title: String,
    /// Intended use.
    pub intended_use: String,
    /// Known limits.
    pub limitations: Vec<String>,
    /// The full header of the model file: data, split, preset, hyperparameters, history,
    /// callbacks, test metrics, calibration, versions.
    pub model: ModelMeta,
}

impl ModelCard {
    /// The card of a model file's header.
    pub fn new(meta: &ModelMeta) -> Self {
        Self {
            title: format!(
                "MedClassify {} model, {} classes, {}",
                meta.model.preset(),
                meta.classes.len(),
                input_words(meta.input)
            ),
            intended_use: INTENDED_USE.to_string(),
            limitations: LIMITATIONS
                .iter()
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect(),
            model: meta.clone(),
        }
    }
}

/// `32x32 grayscale` or `32x32 RGB`.
fn input_words(input: crate::data::InputShape) -> String {
    match input.colour() {
        crate::data::Colour::Grayscale => format!("{input} grayscale"),
        crate::data::Colour::Rgb => input.to_string(),
    }
}

fn percent(value: f64) -> String {
    format!("{:.2}%", value * 100.0)
}

fn callback_line(event: &CallbackEvent) -> String {
    format!(
        "- epoch {}: {} ({}) {}",
        event.epoch,
        md_text(&event.callback),
        md_text(&event.action),
        md_text(&event.message)
    )
}

/// `text` as literal Markdown inside a line: every character that Markdown or HTML could act
/// on there (emphasis, code, links, tables, tags, entities) is escaped and
/// line breaks become spaces, so a class name such as `<img src=x onerror=...>` or
/// `[click](http://...)` in a colleague's model file prints as itself in the card (and in
/// any viewer that renders it), and a `|` cannot break a table.
pub fn md_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '<' | '>' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// The card as Markdown.
pub fn model_card_markdown(meta: &ModelMeta) -> String {
    let card = ModelCard::new(meta);
    let classes: Vec<String> = meta.classes.iter().map(|c| md_text(c)).collect();
    let mut md = String::new();
    write_overview(&mut md, meta, &card, &classes);
    if let Some(data) = &meta.data {
        write_data(&mut md, data);
    }
    write_training(&mut md, meta);
    if let Some(test) = &meta.test {
        write_test(&mut md, test, &classes);
    }
    if let Some(intervals) = &meta.intervals {
        write_intervals(&mut md, intervals, &classes);
    }
    if let Some(cal) = &meta.calibration {
        write_calibration(&mut md, cal);
    }
    if let Some(cv) = &meta.cross_validation {
        write_cross_validation(&mut md, cv);
    }
    md
}

/// Title, intended use, limits and the network.
fn write_overview(md: &mut String, meta: &ModelMeta, card: &ModelCard, classes: &[String]) {
    let _ = writeln!(md, "# Model card: {}\n", card.title);
    let _ = writeln!(md, "## Intended use\n\n{}\n", card.intended_use);
    let _ = writeln!(md, "## Limits\n");
    for limit in &card.limitations {
        let _ = writeln!(md, "- {limit}");
    }
    let _ = writeln!(md, "\n## Model\n");
    let _ = writeln!(md, "- Preset: `{}`", meta.model.preset());
    let _ = writeln!(
        md,
        "- Configuration: `{}`",
        serde_json::to_string(&meta.model).unwrap_or_default()
    );
    if let Some(backbone) = meta.model.preset().pretrained() {
        let (transfer, head_first, backbone_lr, adapted) = meta
            .training
            .as_ref()
            .map(|t| {
                // What a run of these settings did when it began (epoch 0): the run's own rules.
                let first = t.trains_head_first(&meta.model, 0);
                let adapted = t.adapts_norm(&meta.model, 0);
                (t.transfer, first, t.backbone_lr, adapted)
            })
            .unwrap_or((Transfer::Head, false, BACKBONE_LEARNING_RATE, false));
        let _ = writeln!(
            md,
            "- Pretrained backbone: {} ({} licence); {}",
            backbone.label, backbone.licence, backbone.origin
        );
        let first = match head_first {
            true => "the new head first, alone on the frozen backbone's features; then ",
            false => "",
        };
        let rate = match transfer {
            Transfer::Head => String::new(),
            _ => format!(" (the backbone's learning rate {backbone_lr} times the head's)"),
        };
        let _ = writeln!(md, "- Trained: {first}{}{rate}", transfer.describe());
        let norm = match adapted {
            true => {
                "re-estimated on (up to 128 of) the training images before the first epoch, then frozen"
            }
            false => "ImageNet's, frozen",
        };
        let _ = writeln!(md, "- The backbone's BatchNorm statistics: {norm}");
    }
    let _ = writeln!(md, "- Classes (output order): {}", classes.join(", "));
    let _ = writeln!(
        md,
        "- Input: {}, intensities 0-255",
        input_words(meta.input)
    );
    if let Some(backend) = &meta.backend {
        let _ = writeln!(md, "- Trained on: {}", md_text(backend));
    }
    let _ = writeln!(
        md,
        "- Versions: MedClassify {}, Burn {}",
        md_text(&meta.app_version),
        md_text(&meta.burn_version)
    );
}

/// What the data looked like and how it was split.
fn write_data(md: &mut String, data: &DataSummary) {
    let _ = writeln!(md, "\n## Data\n");
    let _ = writeln!(
        md,
        "- Files seen: {}, images used: {}",
        data.files_seen, data.images
    );
    let skipped: Vec<String> = data
        .skipped_by_reason
        .iter()
        .map(|(k, v)| format!("{}: {v}", md_text(k)))
        .collect();
    let _ = writeln!(
        md,
        "- Skipped files: {}",
        if skipped.is_empty() {
            "none".to_string()
        } else {
            skipped.join(", ")
        }
    );
    let _ = writeln!(
        md,
        "- Exact duplicates: {} groups, {} redundant files{}",
        data.duplicate_groups,
        data.redundant_files,
        if data.split.drop_duplicates {
            " (dropped)"
        } else {
            " (each group kept in one subset)"
        }
    );
    if data.split.from_file {
        let _ = writeln!(
            md,
            "- Split: as given in the data file (its train, validation and test arrays)"
        );
    } else {
        let _ = writeln!(
            md,
            "- Split: train {:.0}% / validation {:.0}% / test {:.0}%, seed {}, stratified by class, duplicate-aware",
            data.split.train * 100.0,
            data.split.validation * 100.0,
            data.split.test * 100.0,
            data.split.seed
        );
    }
    let _ = writeln!(
        md,
        "- Split manifest SHA-256: {}\n",
        md_text(&data.manifest_sha256)
    );
    let _ = writeln!(
        md,
        "| Class | Train | Validation | Test |\n|---|---:|---:|---:|"
    );
    for row in &data.split_counts {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            md_text(&row.class),
            row.train,
            row.validation,
            row.test
        );
    }
}

/// The settings, the history and the callbacks that fired.
fn write_training(md: &mut String, meta: &ModelMeta) {
    if let Some(training) = &meta.training {
        let _ = writeln!(md, "\n## Training\n");
        let _ = writeln!(
            md,
            "- Epochs (planned): {}, batch size: {}, seed: {}",
            training.epochs, training.batch_size, training.seed
        );
        let o = &training.optimizer;
        let _ = writeln!(
            md,
            "- Optimiser: Adam, learning rate {}, betas ({}, {}), epsilon {}, weight decay {}",
            o.learning_rate, o.beta_1, o.beta_2, o.epsilon, o.weight_decay
        );
        let _ = writeln!(
            md,
            "- Loss: categorical cross-entropy on the softmax output{}",
            match &training.class_weighting {
                ClassWeighting::None => String::new(),
                ClassWeighting::Balanced =>
                    ", classes weighted by inverse frequency (balanced)".to_string(),
                ClassWeighting::Custom(w) => format!(", class weights {w:?}"),
            }
        );
        if training.sampling == Sampling::Balanced {
            let _ = writeln!(
                md,
                "- Sampling: balanced (as many images from every class per epoch)"
            );
        }
        let _ = writeln!(
            md,
            "- Augmentation: {}",
            match &training.augmentation {
                Some(a) => format!(
                    "rotation ±{}°, zoom ±{:.0}%, shift ±{:.0}%, horizontal flip {}",
                    a.rotation_degrees,
                    a.zoom * 100.0,
                    a.shift * 100.0,
                    a.horizontal_flip
                ),
                None => "none".into(),
            }
        );
        let _ = writeln!(
            md,
            "- Callbacks: `{}`",
            serde_json::to_string(&training.callbacks).unwrap_or_default()
        );
    }
    if !meta.history.is_empty() {
        // Two classes: the validation AUC too, which a callback may have watched.
        let auc = meta.history.iter().any(|e| e.val_auc.is_some());
        let (auc_head, auc_rule) = if auc {
            (" val_auc |", "---:|")
        } else {
            ("", "")
        };
        let _ = writeln!(
            md,
            "\n| Epoch | loss | accuracy | val_loss | val_accuracy |{auc_head} learning rate | seconds |\n|---:|---:|---:|---:|---:|{auc_rule}---:|---:|"
        );
        for e in &meta.history {
            let auc_cell = match (auc, e.val_auc) {
                (false, _) => String::new(),
                (true, Some(v)) => format!(" {v:.4} |"),
                (true, None) => " |".to_string(),
            };
            let _ = writeln!(
                md,
                "| {} | {:.4} | {} | {:.4} | {} |{auc_cell} {:.2e} | {:.1} |",
                e.epoch,
                e.loss,
                percent(e.accuracy),
                e.val_loss,
                percent(e.val_accuracy),
                e.learning_rate,
                e.seconds
            );
        }
    }
    if !meta.callback_events.is_empty() {
        let _ = writeln!(md, "\nCallbacks that fired:\n");
        for event in &meta.callback_events {
            let _ = writeln!(md, "{}", callback_line(event));
        }
    }
}

/// Test-set scores and the confusion matrix.
fn write_test(md: &mut String, test: &Evaluation, classes: &[String]) {
    let _ = writeln!(md, "\n## Test results\n");
    let _ = writeln!(
        md,
        "These figures, and those below, are as recorded in the model file when it was trained; `medclassify evaluate` measures them again on data.\n"
    );
    let _ = writeln!(
        md,
        "- Accuracy: {} ({} of {}), balanced accuracy: {}, macro F1: {:.4}, weighted F1: {:.4}, mean loss: {:.4}\n",
        percent(test.accuracy),
        test.correct,
        test.total,
        percent(test.balanced_accuracy()),
        test.macro_f1,
        test.weighted_f1(),
        test.loss
    );
    let _ = writeln!(
        md,
        "| Class | Precision | Recall | F1 | Support |\n|---|---:|---:|---:|---:|"
    );
    for m in &test.per_class {
        let _ = writeln!(
            md,
            "| {} | {:.4} | {:.4} | {:.4} | {} |",
            md_text(&m.class),
            m.precision,
            m.recall,
            m.f1,
            m.support
        );
    }
    let _ = writeln!(
        md,
        "\nConfusion matrix (rows: true class, columns: predicted):\n"
    );
    let _ = writeln!(md, "| | {} |", classes.join(" | "));
    let _ = writeln!(md, "|---|{}", "---:|".repeat(test.classes.len()));
    for (name, row) in test.classes.iter().zip(&test.confusion) {
        let cells: Vec<String> = row.iter().map(|c| c.to_string()).collect();
        let _ = writeln!(md, "| {} | {} |", md_text(name), cells.join(" | "));
    }
}

/// An estimate with its interval: `0.9920 (0.9890-0.9947)`.
fn with_interval(interval: &Interval) -> String {
    format!(
        "{:.4} ({:.4}-{:.4})",
        interval.estimate, interval.lo, interval.hi
    )
}

/// The 95 % intervals: Wilson's for the proportions (accuracy, sensitivity, specificity: it
/// stays informative at 0 or 100 %, where a percentile bootstrap collapses to a point), the
/// stratified bootstrap's for the AUC.
fn write_intervals(md: &mut String, intervals: &ConfidenceIntervals, classes: &[String]) {
    let _ = writeln!(md, "\n## Confidence intervals (95 %)\n");
    let _ = writeln!(
        md,
        "Wilson score intervals for proportions; for the AUC a stratified bootstrap of the test set ({} resamples, seed {}).\n",
        intervals.resamples, intervals.seed
    );
    let _ = writeln!(
        md,
        "- Accuracy: {} (bootstrap {:.4}-{:.4})\n",
        with_interval(&intervals.accuracy_wilson),
        intervals.accuracy.lo,
        intervals.accuracy.hi
    );
    let _ = writeln!(
        md,
        "| Class | Sensitivity | Specificity | AUC (one vs rest) |\n|---|---:|---:|---:|"
    );
    for (name, c) in classes.iter().zip(&intervals.per_class) {
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} |",
            with_interval(&c.sensitivity_wilson),
            with_interval(&c.specificity_wilson),
            with_interval(&c.auc)
        );
    }
}

/// Calibration before and after temperature scaling.
fn write_calibration(md: &mut String, cal: &CalibrationSummary) {
    let _ = writeln!(md, "\n## Calibration\n");
    let _ = writeln!(
        md,
        "- Expected calibration error (15 bins): {:.4}",
        cal.before.ece
    );
    let _ = writeln!(md, "- {}", md_text(&cal.temperature_sentence()));
}

/// The cross-validation: each fold's held-out scores and their mean and spread.
fn write_cross_validation(md: &mut String, cv: &CrossValidation) {
    let _ = writeln!(md, "\n## Cross-validation\n");
    let _ = writeln!(
        md,
        "Stratified {}-fold, duplicate groups kept in one fold, seed {}; each run trains on the other folds but one, which validates it. {}\n",
        cv.k,
        cv.seed,
        cv.describe()
    );
    let _ = writeln!(
        md,
        "| Fold | Images | Accuracy | Balanced accuracy | Macro F1 | Macro AUC | Epochs |\n|---:|---:|---:|---:|---:|---:|---:|"
    );
    for f in &cv.folds {
        let _ = writeln!(
            md,
            "| {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {} |",
            f.fold + 1,
            f.images,
            f.accuracy,
            f.balanced_accuracy,
            f.macro_f1,
            f.macro_auc,
            f.epochs
        );
    }
}
