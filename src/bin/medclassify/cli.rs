//! Argument parsing and the subcommands.

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

use medclassify::data::{
    DatasetBuilder, Inspection, SUPPORTED_SIZES, SplitConfig, Subset, prepare_file,
};
use medclassify::evaluation::{Evaluation, argmax, assess, score_pixels, score_samples};
use medclassify::model::{ModelConfig, Preset};
use medclassify::native::{
    BackendChoice, TerminalHost, check_writable, load_source, read_bounded, select_device,
    terminal_safe, write_atomic,
};
use medclassify::storage::{
    DataSummary, ModelCard, ModelFile, ModelMeta, decode_weights, encode_weights,
    model_card_markdown,
};
use medclassify::training::{
    AdamSettings, CallbackSettings, TrainingConfig, TrainingData, TrainingError, train,
};

#[derive(Parser)]
#[command(
    name = "medclassify",
    version,
    about = "Train, evaluate and run MedClassify models natively (same core as the web app)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How a folder becomes a data set: the same options for `inspect`, `train` and `export`.
#[derive(clap::Args)]
struct DataArgs {
    /// Image side after resizing (28, 32, 64 or 128).
    #[arg(long, default_value_t = 32)]
    size: u32,
    /// Seed of the split (and, for `train`, of initialisation, shuffling and dropout).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Split fractions train,validation,test.
    #[arg(long, default_value = "0.7,0.15,0.15")]
    fractions: String,
    /// Keep only one file of each duplicate group (drop the redundant ones before splitting).
    #[arg(long)]
    drop_duplicates: bool,
}

impl DataArgs {
    fn split_config(&self) -> Result<SplitConfig, String> {
        split_config(&self.fractions, self.seed, self.drop_duplicates)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Load a folder (one subfolder per class) and report classes, skipped files, duplicates and the split.
    Inspect {
        /// The folder.
        dir: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Decoding threads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
        /// Print JSON (the full report and manifest) instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Train a model on a folder and save it.
    Train {
        /// The folder.
        dir: PathBuf,
        /// Network preset.
        #[arg(long, default_value = "seed")]
        preset: String,
        /// Maximum epochs.
        #[arg(long, default_value_t = 10)]
        epochs: usize,
        /// Batch size.
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Initial learning rate (Adam).
        #[arg(long, default_value_t = 1e-3)]
        lr: f64,
        #[command(flatten)]
        data: DataArgs,
        /// Compute backend.
        #[arg(long, default_value = "auto")]
        backend: String,
        /// EarlyStopping patience (0 = off).
        #[arg(long, default_value_t = 3)]
        patience: usize,
        /// ReduceLROnPlateau patience (0 = off).
        #[arg(long, default_value_t = 2)]
        lr_patience: usize,
        /// Turn on augmentation (rotation 10°, zoom 10%, shift 10%).
        #[arg(long)]
        augment: bool,
        /// Read the loss back every N batches.
        #[arg(long, default_value_t = 1)]
        log_every: usize,
        /// Also score the test set after every epoch (for time-to-accuracy benchmarks; the
        /// scoring time is not counted as training time).
        #[arg(long)]
        test_every_epoch: bool,
        /// Where to write the model (.mcmodel).
        #[arg(long)]
        out: PathBuf,
        /// Folder for ModelCheckpoint's <name>.best.mcmodel and the per-epoch <name>.last.mcmodel
        /// (default: beside --out).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// Print the history, callback events and test metrics as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Score a model on every usable image under DIR (subfolders name the true classes).
    Evaluate {
        /// The model file.
        #[arg(long)]
        model: PathBuf,
        /// The folder.
        dir: PathBuf,
        /// Compute backend.
        #[arg(long, default_value = "cpu")]
        backend: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Classify image files.
    Predict {
        /// The model file.
        #[arg(long)]
        model: PathBuf,
        /// Images.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decode a folder once and write it, with its split, as a data set file (.mcdata) that
    /// `inspect`, `train` and `evaluate` accept in place of the folder.
    Export {
        /// The folder.
        dir: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a model's card (Markdown, or JSON with --json).
    Card {
        /// The model file.
        #[arg(long)]
        model: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command line; returns the exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect {
            dir,
            data,
            threads,
            json,
        } => inspect(&dir, data.size, data.split_config(), threads, json),
        Command::Train {
            dir,
            preset,
            epochs,
            batch,
            lr,
            data,
            backend,
            patience,
            lr_patience,
            augment,
            log_every,
            test_every_epoch,
            out,
            checkpoints,
            json,
        } => (|| {
            let preset = Preset::parse(&preset)
                .ok_or_else(|| format!("unknown preset {preset:?} (use seed or strong)"))?;
            let mut callbacks = CallbackSettings::default();
            if patience == 0 {
                callbacks.early_stopping = None;
            } else if let Some(es) = callbacks.early_stopping.as_mut() {
                es.patience = patience;
            }
            if lr_patience == 0 {
                callbacks.reduce_lr = None;
            } else if let Some(r) = callbacks.reduce_lr.as_mut() {
                r.patience = lr_patience;
            }
            let config = TrainingConfig {
                preset,
                epochs,
                batch_size: batch,
                optimizer: AdamSettings {
                    learning_rate: lr,
                    ..Default::default()
                },
                seed: data.seed,
                augmentation: augment.then(Default::default),
                callbacks,
                log_every,
            };
            train_command(
                &dir,
                data.size,
                data.split_config(),
                config,
                &backend,
                &out,
                checkpoints.as_deref(),
                test_every_epoch,
                json,
            )
        })(),
        Command::Evaluate {
            model,
            dir,
            backend,
            json,
        } => evaluate_command(&model, &dir, &backend, json),
        Command::Predict {
            model,
            images,
            json,
        } => predict_command(&model, &images, json),
        Command::Card { model, json } => card_command(&model, json),
        Command::Export { dir, data, out } => {
            export_command(&dir, data.size, data.split_config(), &out)
        }
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("error: {}", terminal_safe(&message));
            2
        }
    }
}

fn split_config(fractions: &str, seed: u64, drop_duplicates: bool) -> Result<SplitConfig, String> {
    let parts: Vec<f64> = fractions
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<f64>()
                .map_err(|_| format!("bad fraction {p:?} in --fractions"))
        })
        .collect::<Result<_, _>>()?;
    let [train, validation, test] = parts[..] else {
        return Err("--fractions takes three numbers: train,validation,test".into());
    };
    Ok(SplitConfig {
        train,
        validation,
        test,
        seed,
        drop_duplicates,
    })
}

fn check_size(size: u32) -> Result<(), String> {
    if SUPPORTED_SIZES.contains(&size) {
        Ok(())
    } else {
        Err(format!(
            "--size {size} is not offered; use one of {SUPPORTED_SIZES:?}"
        ))
    }
}

fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("plain data")
    );
}

fn inspect(
    dir: &Path,
    size: u32,
    split: Result<SplitConfig, String>,
    threads_wanted: Option<usize>,
    json: bool,
) -> Result<(), String> {
    check_size(size)?;
    let split = split?;
    let started = std::time::Instant::now();
    let (dataset, report) = load_source(dir, size, threads_wanted.unwrap_or_else(threads).max(1))?;
    let load_seconds = started.elapsed().as_secs_f64();
    let (inspection, _) = Inspection::new(&dataset, &report, &split);
    if json {
        let mut value = serde_json::to_value(&inspection).expect("plain data");
        value["load_seconds"] = serde_json::json!(load_seconds);
        value["memory_bytes"] = serde_json::json!(dataset.memory_bytes());
        print_json(&value);
        return Ok(());
    }
    println!(
        "{} files, {} images in {} classes ({}x{})",
        inspection.files_seen,
        inspection.images,
        inspection.classes.len(),
        size,
        size
    );
    for class in &inspection.classes {
        println!("  {:<16} {}", terminal_safe(&class.name), class.count);
    }
    println!("{} skipped files", inspection.skipped.len());
    for file in inspection.skipped.iter().take(50) {
        println!(
            "  {}: {}",
            terminal_safe(&file.path),
            terminal_safe(&file.message)
        );
    }
    println!(
        "{} duplicate groups, {} redundant files",
        inspection.duplicate_groups.len(),
        inspection.redundant_files
    );
    match &inspection.split_error {
        Some(error) => println!("split: {error}"),
        None => {
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
        }
    }
    Ok(())
}

fn train_command(
    dir: &Path,
    size: u32,
    split: Result<SplitConfig, String>,
    config: TrainingConfig,
    backend: &str,
    out: &Path,
    checkpoints: Option<&Path>,
    test_every_epoch: bool,
    json: bool,
) -> Result<(), String> {
    check_size(size)?;
    let split_config = split?;
    config.validate()?;
    // Before hours of training, not after.
    check_writable(out)?;
    if let Some(dir) = checkpoints
        && !dir.is_dir()
    {
        return Err(format!("{}: no such folder for checkpoints", dir.display()));
    }
    let choice = BackendChoice::parse(backend)
        .ok_or_else(|| format!("unknown backend {backend:?} (auto, cpu or wgpu)"))?;
    let started = std::time::Instant::now();
    let (dataset, report) = load_source(dir, size, threads())?;
    if !json {
        eprintln!(
            "loaded {} images in {} classes ({} skipped) in {:.1} s",
            dataset.len(),
            dataset.classes.len(),
            report.skipped.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let (inspection, split) = Inspection::new(&dataset, &report, &split_config);
    let split = split.ok_or_else(|| inspection.split_error.clone().unwrap_or_default())?;
    let (device, description) = select_device(choice)?;
    if !json {
        eprintln!("backend: {description}");
    }
    let model_config = ModelConfig::new(config.preset, dataset.classes.len(), size as usize);
    let mut meta = ModelMeta::new(model_config, dataset.classes.clone());
    meta.data = Some(DataSummary::new(
        &report,
        &split_config,
        &split.counts,
        inspection.manifest_sha256.clone().unwrap_or_default(),
    ));
    meta.backend = Some(description.clone());
    let data = TrainingData {
        dataset: &dataset,
        train: split.indices(Subset::Train),
        validation: split.indices(Subset::Validation),
    };
    let checkpoint_base = match checkpoints {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            dir.join(out.file_name().unwrap_or_default())
        }
        None => out.to_path_buf(),
    };
    let test_indices = if test_every_epoch {
        split.indices(Subset::Test)
    } else {
        Vec::new()
    };
    let mut host = EpochTester {
        inner: TerminalHost::new(Some(checkpoint_base), json),
        dataset: &dataset,
        test: test_indices,
        device: device.clone(),
        results: Vec::new(),
    };
    let training_started = std::time::Instant::now();
    let (outcome, device, description) = match pollster::block_on(train(
        &data,
        &config,
        &device,
        meta.clone(),
        None,
        &mut host,
    )) {
        Ok(outcome) => (outcome, device, description),
        Err(TrainingError::DeviceLost {
            reason,
            epochs_completed,
        }) => {
            eprintln!(
                "the GPU was lost after epoch {epochs_completed} ({reason}); continuing on the CPU from the last completed epoch"
            );
            let cpu = burn::prelude::Device::flex();
            let resume = host
                .inner
                .last_checkpoint
                .clone()
                .map(|bytes| ModelFile::from_bytes(&bytes))
                .transpose()
                .map_err(|e| e.to_string())?;
            let description = format!("{description}, then CPU (Burn Flex) after a device loss");
            meta.backend = Some(description.clone());
            let outcome = pollster::block_on(train(
                &data,
                &config,
                &cpu,
                meta,
                resume.as_ref(),
                &mut host,
            ))
            .map_err(|e| e.to_string())?;
            (outcome, cpu, description)
        }
        Err(error) => return Err(error.to_string()),
    };
    let training_seconds = training_started.elapsed().as_secs_f64();
    let assessment = pollster::block_on(assess(&outcome.model, &dataset, &split, &device))
        .map_err(|e| e.to_string())?;
    let mut meta = outcome.meta;
    meta.backend = Some(description.clone());
    meta.test = Some(assessment.evaluation.clone());
    meta.calibration = Some(assessment.calibration.clone());
    let weights = pollster::block_on(encode_weights(&outcome.model, &meta.model))?;
    let file = ModelFile {
        meta: meta.clone(),
        weights,
    };
    write_atomic(out, &file.to_bytes())?;
    let evaluation = &assessment.evaluation;
    if json {
        print_json(&serde_json::json!({
            "model": out.display().to_string(),
            "backend": description,
            "preset": config.preset,
            "stop_reason": outcome.reason,
            "weights_from_epoch": outcome.weights_from_epoch,
            "training_seconds": training_seconds,
            "history": meta.history,
            "callback_events": meta.callback_events,
            "test": evaluation,
            "calibration": assessment.calibration,
            "test_per_epoch": host.results.iter().map(|(e, a)| serde_json::json!({ "epoch": e, "test_accuracy": a })).collect::<Vec<_>>(),
            "seconds_to_99_percent_test_accuracy": seconds_to(&meta.history, &host.results, 0.99),
        }));
    } else {
        eprintln!(
            "test accuracy {:.2}% ({} / {}), ECE {:.4} (after temperature {:.2}: {:.4}); model written to {} ({:.1} s of training)",
            evaluation.accuracy * 100.0,
            evaluation.correct,
            evaluation.total,
            assessment.calibration.before.ece,
            assessment.calibration.temperature,
            assessment.calibration.after.ece,
            out.display(),
            training_seconds
        );
    }
    Ok(())
}

/// The largest model file read (far above any network [`ModelConfig::validate`] accepts).
const MAX_MODEL_FILE_BYTES: usize = 512 * 1024 * 1024;

fn read_model(path: &Path) -> Result<ModelFile, String> {
    let bytes =
        read_bounded(path, MAX_MODEL_FILE_BYTES).map_err(|e| format!("{}: {e}", path.display()))?;
    ModelFile::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn evaluate_command(
    model_path: &Path,
    dir: &Path,
    backend: &str,
    json: bool,
) -> Result<(), String> {
    let file = read_model(model_path)?;
    let choice =
        BackendChoice::parse(backend).ok_or_else(|| format!("unknown backend {backend:?}"))?;
    let (device, _) = select_device(choice)?;
    let model = decode_weights(&file.meta.model, &file.weights, &device)?;
    let (dataset, report) = load_source(dir, file.meta.image_size as u32, threads())?;
    // Map the folder's classes onto the model's.
    let mut unknown = Vec::new();
    let mut indices = Vec::new();
    let mut labels = Vec::new();
    for (index, sample) in dataset.samples.iter().enumerate() {
        let name = &dataset.classes[sample.label];
        match file.meta.classes.iter().position(|c| c == name) {
            Some(label) => {
                indices.push(index);
                labels.push(label);
            }
            None => unknown.push(sample.path.clone()),
        }
    }
    if indices.is_empty() {
        return Err(format!(
            "no image under {} is in a folder named after one of the model's classes ({})",
            dir.display(),
            file.meta.classes.join(", ")
        ));
    }
    let scoring = std::time::Instant::now();
    let scores = pollster::block_on(score_samples(&model, &dataset, &indices, &device))
        .map_err(|e| e.to_string())?;
    let scoring_seconds = scoring.elapsed().as_secs_f64();
    let scores = medclassify::evaluation::Scores {
        classes: file.meta.classes.len(),
        logits: scores.logits,
    };
    let evaluation =
        Evaluation::from_probabilities(&file.meta.classes, &scores.probabilities(1.0), &labels);
    if json {
        print_json(&serde_json::json!({
            "model": model_path.display().to_string(),
            "images": indices.len(),
            "scoring_seconds": scoring_seconds,
            "images_per_second": indices.len() as f64 / scoring_seconds.max(1e-9),
            "skipped": report.skipped,
            "unknown_class": unknown,
            "evaluation": evaluation,
        }));
    } else {
        println!(
            "accuracy {:.2}% ({} / {})",
            evaluation.accuracy * 100.0,
            evaluation.correct,
            evaluation.total
        );
        println!(
            "{:<16} {:>9} {:>7} {:>7} {:>8}",
            "class", "precision", "recall", "f1", "support"
        );
        for m in &evaluation.per_class {
            println!(
                "{:<16} {:>9.4} {:>7.4} {:>7.4} {:>8}",
                terminal_safe(&m.class),
                m.precision,
                m.recall,
                m.f1,
                m.support
            );
        }
        if !report.skipped.is_empty() {
            println!("{} files skipped", report.skipped.len());
        }
        if !unknown.is_empty() {
            println!(
                "{} images in folders that are not model classes were not scored",
                unknown.len()
            );
        }
    }
    Ok(())
}

fn predict_command(model_path: &Path, images: &[PathBuf], json: bool) -> Result<(), String> {
    let file = read_model(model_path)?;
    let device = burn::prelude::Device::flex();
    let model = decode_weights(&file.meta.model, &file.weights, &device)?;
    let size = file.meta.image_size as u32;
    let limits = *DatasetBuilder::new(size).limits();
    let mut results = Vec::new();
    let mut pixels = Vec::new();
    let mut ok_paths = Vec::new();
    for path in images {
        let shown = path.display().to_string();
        let outcome = read_bounded(path, limits.max_file_bytes)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                prepare_file(
                    &format!(
                        "x/{}",
                        path.file_name().unwrap_or_default().to_string_lossy()
                    ),
                    &bytes,
                    size,
                    &limits,
                )
                .map_err(|r| r.to_string())
            });
        match outcome {
            Ok(image) => {
                pixels.extend(image.pixels);
                ok_paths.push(shown);
            }
            Err(error) => results.push(serde_json::json!({ "path": shown, "error": error })),
        }
    }
    if !ok_paths.is_empty() {
        let scores = pollster::block_on(score_pixels(
            &model,
            &pixels,
            size as usize,
            file.meta.classes.len(),
            &device,
        ))
        .map_err(|e| e.to_string())?;
        let probabilities = scores.probabilities(1.0);
        for (path, row) in ok_paths
            .iter()
            .zip(probabilities.chunks_exact(file.meta.classes.len()))
        {
            let mut ranked: Vec<(usize, f32)> = row.iter().cloned().enumerate().collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            let top: Vec<_> = ranked.iter().take(3).map(|(c, p)| serde_json::json!({ "class": file.meta.classes[*c], "probability": p })).collect();
            results.push(serde_json::json!({ "path": path, "class": file.meta.classes[argmax(row)], "probability": row[argmax(row)], "top": top }));
        }
    }
    if json {
        print_json(&results);
    } else {
        for r in &results {
            match r.get("error") {
                Some(error) => println!(
                    "{}: cannot classify: {}",
                    terminal_safe(r["path"].as_str().unwrap_or_default()),
                    terminal_safe(error.as_str().unwrap_or_default())
                ),
                None => println!(
                    "{}: {} ({:.2}%)",
                    terminal_safe(r["path"].as_str().unwrap_or_default()),
                    terminal_safe(r["class"].as_str().unwrap_or_default()),
                    r["probability"].as_f64().unwrap_or(0.0) * 100.0
                ),
            }
        }
    }
    Ok(())
}

fn card_command(model_path: &Path, json: bool) -> Result<(), String> {
    let file = read_model(model_path)?;
    if json {
        print_json(&ModelCard::new(&file.meta));
    } else {
        print!("{}", terminal_safe(&model_card_markdown(&file.meta)));
    }
    Ok(())
}

fn export_command(
    dir: &Path,
    size: u32,
    split: Result<SplitConfig, String>,
    out: &Path,
) -> Result<(), String> {
    check_size(size)?;
    let split_config = split?;
    check_writable(out)?;
    let (dataset, report) = load_source(dir, size, threads())?;
    let (inspection, split) = Inspection::new(&dataset, &report, &split_config);
    let split = split.ok_or_else(|| inspection.split_error.clone().unwrap_or_default())?;
    let bytes = medclassify::data::write_dataset(&dataset, &split);
    write_atomic(out, &bytes)?;
    eprintln!(
        "wrote {} images in {} classes ({} skipped files) to {} ({:.1} MB)",
        dataset.len(),
        dataset.classes.len(),
        report.skipped.len(),
        out.display(),
        bytes.len() as f64 / 1e6
    );
    Ok(())
}

/// A terminal host that also scores the test set after each epoch.
struct EpochTester<'a> {
    inner: TerminalHost,
    dataset: &'a medclassify::data::Dataset,
    test: Vec<usize>,
    device: burn::prelude::Device,
    results: Vec<(usize, f64)>,
}

impl medclassify::training::TrainingHost for EpochTester<'_> {
    fn event(&mut self, event: medclassify::training::TrainingEvent) {
        self.inner.event(event);
    }
    async fn proceed(&mut self) -> bool {
        self.inner.proceed().await
    }
    fn now_ms(&self) -> f64 {
        self.inner.now_ms()
    }
    async fn save_checkpoint(
        &mut self,
        slot: medclassify::training::CheckpointSlot,
        bytes: Vec<u8>,
    ) -> Result<String, String> {
        self.inner.save_checkpoint(slot, bytes).await
    }
    async fn epoch_end(&mut self, epoch: usize, model: &medclassify::model::Classifier) {
        if self.test.is_empty() {
            return;
        }
        if let Ok(scores) = score_samples(model, self.dataset, &self.test, &self.device).await {
            let labels: Vec<usize> = self
                .test
                .iter()
                .map(|&i| self.dataset.samples[i].label)
                .collect();
            let evaluation = Evaluation::from_probabilities(
                &self.dataset.classes,
                &scores.probabilities(1.0),
                &labels,
            );
            if !self.inner.quiet {
                eprintln!(
                    "  test accuracy after epoch {epoch}: {:.4}",
                    evaluation.accuracy
                );
            }
            self.results.push((epoch, evaluation.accuracy));
        }
    }
}

/// Training seconds (steps only) until the test accuracy first reached `target`.
fn seconds_to(
    history: &[medclassify::training::EpochMetrics],
    tests: &[(usize, f64)],
    target: f64,
) -> Option<f64> {
    let epoch = tests.iter().find(|(_, accuracy)| *accuracy >= target)?.0;
    Some(
        history
            .iter()
            .filter(|e| e.epoch <= epoch)
            .map(|e| e.train_seconds)
            .sum(),
    )
}
