//! `medclassify train`: arguments to settings, the session's training run, the model file
//! and the summary.

use std::path::PathBuf;

use medclassify::data::Subset;
use medclassify::evaluation::{Assessment, accuracy_at};
use medclassify::model::{Preset, Transfer};
use medclassify::native::{
    BackendChoice, EpochTest, TerminalHost, check_writable, select_device, write_atomic,
};
use medclassify::session::{LoadedData, TrainingPlan, estimate, plan_training, train};
use medclassify::training::{
    AdamSettings, CallbackSettings, ClassWeighting, EpochMetrics, Monitor, Sampling, TrainingConfig,
};

use crate::args::DataArgs;
use crate::output::print_json;
use crate::source::{load, threads};

/// The training settings shared by `medclassify train` and `medclassify cv`.
#[derive(clap::Args)]
pub struct TrainingArgs {
    /// Network preset: seed, strong, or efficientnet_lite0 (ImageNet-pretrained; use
    /// --size 224, or 128-192 for speed, and --colour rgb for colour images).
    #[arg(long, default_value = "seed")]
    preset: String,
    /// What a pretrained network trains: head (the new head on frozen features), top (its
    /// last blocks and the head) or all (fine-tuning, the backbone at --backbone-lr times --lr).
    #[arg(long, default_value = "head")]
    transfer: String,
    /// With --transfer top or all: train the new head alone first, on the frozen backbone's
    /// features (as --transfer head would), then the chosen layers from there.
    #[arg(long)]
    head_first: bool,
    /// With --transfer top or all: the backbone's learning rate as a fraction of --lr (above
    /// 0, at most 1).
    #[arg(long, default_value_t = medclassify::model::pretrained::BACKBONE_LEARNING_RATE)]
    backbone_lr: f64,
    /// With --transfer head or all: re-estimate the backbone's BatchNorm statistics on (up to
    /// 128 of, class by class) the training images before the first epoch instead of keeping
    /// ImageNet's (AdaBN). Measured on MedNIST (different kinds of scan): it helped the head
    /// alone at 5, 20 and 100 images a class (test error 3.0 to 0.4 % at 5) and fine-tuning at
    /// 5 (level at 20); ImageNet's did better on PneumoniaMNIST (chest radiographs with and
    /// without pneumonia), either way, so they are the default. Both come from the same thing:
    /// features that barely vary on your images are made louder (on grey images some
    /// 60-fold).
    #[arg(long, conflicts_with = "imagenet_norm")]
    adapt_norm: bool,
    /// Keep the backbone's ImageNet BatchNorm statistics: the default (accepted so that the
    /// commands of earlier records run as they did).
    #[arg(long)]
    imagenet_norm: bool,
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
    pub data: DataArgs,
    /// Compute backend.
    #[arg(long, default_value = "auto")]
    pub backend: String,
    /// EarlyStopping patience (0 = off).
    #[arg(long, default_value_t = 3)]
    patience: usize,
    /// Epochs EarlyStopping lets pass before it watches (Keras' `start_from_epoch`; 0 = from
    /// the first): for a network from scratch on very few images, whose validation can stay
    /// at chance for a few epochs before it learns.
    #[arg(long, default_value_t = 0)]
    start_from_epoch: usize,
    /// ReduceLROnPlateau patience (0 = off).
    #[arg(long, default_value_t = 2)]
    lr_patience: usize,
    /// The metric EarlyStopping, ReduceLROnPlateau and ModelCheckpoint watch: val_loss,
    /// val_accuracy, val_auc (two classes: the validation ROC AUC of the second class), loss
    /// or accuracy. The weights kept are the best epoch's by this metric.
    #[arg(long, default_value = "val_loss")]
    monitor: String,
    /// Turn on augmentation (rotation 10°, zoom 10%, shift 10%).
    #[arg(long)]
    augment: bool,
    /// Class weights in the loss: none, balanced (inverse frequency in the training split),
    /// or one number per class in class order (e.g. 1,4.5).
    #[arg(long, default_value = "none")]
    class_weighting: String,
    /// Which images an epoch visits: shuffle (each once) or balanced (as many from every class;
    /// an alternative to class weighting).
    #[arg(long, default_value = "shuffle")]
    sampling: String,
    /// Read the loss back every N batches.
    #[arg(long, default_value_t = 1)]
    log_every: usize,
}

/// The options of `medclassify train`.
#[derive(clap::Args)]
pub struct TrainArgs {
    /// The folder.
    dir: PathBuf,
    #[command(flatten)]
    training: TrainingArgs,
    /// Also score the test set after every epoch (for time-to-accuracy benchmarks; the
    /// scoring time is not counted as training time).
    #[arg(long)]
    test_every_epoch: bool,
    /// Where to write the model (.mcmodel).
    #[arg(long, required_unless_present = "estimate")]
    out: Option<PathBuf>,
    /// Say about how long the run would take on this device, measured on its first batches,
    /// and stop there: nothing is trained or written.
    #[arg(long, conflicts_with_all = ["out", "test_every_epoch", "checkpoints"])]
    estimate: bool,
    /// Folder for ModelCheckpoint's <name>.best.mcmodel and the per-epoch <name>.last.mcmodel
    /// (default: beside --out).
    #[arg(long)]
    checkpoints: Option<PathBuf>,
    /// Print the history, callback events and test metrics as JSON.
    #[arg(long)]
    json: bool,
}

impl TrainingArgs {
    /// The settings and the backend, checked before anything is loaded.
    pub fn check(&self) -> Result<(TrainingConfig, BackendChoice), String> {
        let config = self.config()?;
        self.data.split_config()?;
        config.validate()?;
        let choice = BackendChoice::parse(&self.backend).ok_or_else(|| {
            format!(
                "unknown backend {:?} (auto, cpu, wgpu or cuda)",
                self.backend
            )
        })?;
        Ok((config, choice))
    }

    /// Refuses an option that `preset` trained as `transfer` would ignore, so that nobody
    /// waits for a run believing it did what the option says.
    fn check_transfer_options(&self, preset: Preset, transfer: Transfer) -> Result<(), String> {
        let pretrained = preset.pretrained().is_some();
        if self.adapt_norm && !(pretrained && transfer.fits_norm_statistics()) {
            return Err(format!(
                "--adapt-norm refits the BatchNorm statistics of a pretrained backbone before \
                 its head alone or every layer trains: it needs --transfer head or all with a \
                 pretrained preset (here --preset {} --transfer {})",
                preset.name(),
                self.transfer
            ));
        }
        if self.head_first && !(pretrained && transfer != Transfer::Head) {
            return Err(format!(
                "--head-first trains the head alone before the backbone's layers: it needs \
                 --transfer top or all with a pretrained preset (here --preset {} --transfer {})",
                preset.name(),
                self.transfer
            ));
        }
        Ok(())
    }

    /// The training settings these options give.
    fn config(&self) -> Result<TrainingConfig, String> {
        let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
        let preset = Preset::parse(&self.preset).ok_or_else(|| {
            format!(
                "unknown preset {:?} (use {})",
                self.preset,
                names.join(", ")
            )
        })?;
        let transfer = Transfer::parse(&self.transfer)
            .ok_or_else(|| format!("unknown --transfer {:?} (head, top or all)", self.transfer))?;
        self.check_transfer_options(preset, transfer)?;
        let monitor = Monitor::parse(&self.monitor).ok_or_else(|| {
            format!(
                "unknown --monitor {:?} (val_loss, val_accuracy, val_auc, loss or accuracy)",
                self.monitor
            )
        })?;
        let mut callbacks = CallbackSettings::default();
        callbacks.watch(monitor);
        if self.patience == 0 {
            callbacks.early_stopping = None;
        } else if let Some(es) = callbacks.early_stopping.as_mut() {
            es.patience = self.patience;
            es.start_from_epoch = self.start_from_epoch;
        }
        if self.lr_patience == 0 {
            callbacks.reduce_lr = None;
        } else if let Some(r) = callbacks.reduce_lr.as_mut() {
            r.patience = self.lr_patience;
        }
        Ok(TrainingConfig {
            preset,
            epochs: self.epochs,
            batch_size: self.batch,
            optimizer: AdamSettings {
                learning_rate: self.lr,
                ..Default::default()
            },
            seed: self.data.seed,
            augmentation: self.augment.then(Default::default),
            callbacks,
            log_every: self.log_every,
            class_weighting: class_weighting(&self.class_weighting)?,
            sampling: match self.sampling.as_str() {
                "shuffle" => Sampling::Shuffle,
                "balanced" => Sampling::Balanced,
                other => {
                    return Err(format!(
                        "unknown --sampling {other:?} (shuffle or balanced)"
                    ));
                }
            },
            transfer,
            head_first: self.head_first,
            backbone_lr: self.backbone_lr,
            adapt_norm: self.adapt_norm,
        })
    }
}

impl TrainArgs {
    /// Where checkpoints go: `--checkpoints` (created) or beside `--out`.
    fn checkpoint_base(&self) -> Result<PathBuf, String> {
        let out = self.out()?;
        match &self.checkpoints {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                Ok(dir.join(out.file_name().unwrap_or_default()))
            }
            None => Ok(out.to_path_buf()),
        }
    }

    /// `--out` (required by the argument parser unless `--estimate`).
    fn out(&self) -> Result<&std::path::Path, String> {
        self.out
            .as_deref()
            .ok_or_else(|| "--out is required".to_string())
    }
}

/// `--class-weighting`: `none`, `balanced` or comma-separated numbers.
fn class_weighting(text: &str) -> Result<ClassWeighting, String> {
    match text {
        "none" => Ok(ClassWeighting::None),
        "balanced" => Ok(ClassWeighting::Balanced),
        numbers => numbers
            .split(',')
            .map(|n| n.trim().parse::<f64>())
            .collect::<Result<Vec<_>, _>>()
            .map(ClassWeighting::Custom)
            .map_err(|_| {
                format!("--class-weighting {text:?}: use none, balanced or one number per class")
            }),
    }
}

/// Checks everything that can be checked before hours of training, not after.
fn check_first(args: &TrainArgs) -> Result<(TrainingConfig, BackendChoice), String> {
    let (config, choice) = args.training.check()?;
    check_writable(args.out()?)?;
    if let Some(dir) = &args.checkpoints
        && !dir.is_dir()
    {
        return Err(format!("{}: no such folder for checkpoints", dir.display()));
    }
    Ok((config, choice))
}

/// The data of `args`, loaded, and the checked plan of the run.
fn load_and_plan(
    args: &TrainArgs,
    config: TrainingConfig,
) -> Result<(LoadedData, TrainingPlan), String> {
    let started = std::time::Instant::now();
    let data = load(&args.dir, &args.training.data, threads(), args.json)?;
    if !args.json {
        eprintln!(
            "loaded {} images in {} classes ({} skipped) in {:.1} s",
            data.dataset.len(),
            data.dataset.classes.len(),
            data.report.skipped.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let plan = plan_training(&data, config, None).map_err(|e| match data.split() {
        Err(split_error) => split_error.to_string(),
        Ok(_) => e,
    })?;
    Ok((data, plan))
}

/// `medclassify train --estimate`: the run's first batches on the chosen device, then about
/// how long the whole run would take. Nothing is trained or written.
fn estimate_command(args: &TrainArgs) -> Result<(), String> {
    let (config, choice) = args.training.check()?;
    let (data, plan) = load_and_plan(args, config)?;
    let (device, description) = select_device(choice)?;
    let mut host = TerminalHost::new(None, true);
    let measured = std::time::Instant::now();
    let estimate = pollster::block_on(estimate(&data, &plan, device, &mut host))?;
    let measured = measured.elapsed().as_secs_f64();
    if args.json {
        print_json(&serde_json::json!({
            "backend": description,
            "estimate": estimate,
            "measured_in_seconds": measured,
        }));
    } else {
        eprintln!("backend: {description}; measured in {measured:.1} s");
        println!("{}", estimate.describe());
    }
    Ok(())
}

pub fn train_command(args: &TrainArgs) -> Result<(), String> {
    if args.estimate {
        return estimate_command(args);
    }
    let (config, choice) = check_first(args)?;
    let json = args.json;
    let (data, plan) = load_and_plan(args, config)?;
    let (device, description) = select_device(choice)?;
    if !json {
        eprintln!("backend: {description}");
    }
    let split = data.split()?;
    let test = match args.test_every_epoch {
        true => split.indices(Subset::Test),
        false => Vec::new(),
    };
    let mut host = TerminalHost::new(Some(args.checkpoint_base()?), json);
    host.epoch_test = Some(EpochTest::new(&data.dataset, test, device.clone()));
    let training_started = std::time::Instant::now();
    let trained = pollster::block_on(train(&data, &plan, device, description, &mut host))
        .map_err(|error| error.to_string())?;
    let training_seconds = training_started.elapsed().as_secs_f64();
    let out = args.out()?;
    write_atomic(out, &trained.file.to_bytes())?;
    let (meta, assessment) = (&trained.file.meta, &trained.assessment);
    let tested = host.epoch_test.as_ref().map_or(&[][..], |t| &t.results[..]);
    let evaluation = &assessment.evaluation;
    if json {
        print_json(&serde_json::json!({
            "model": out.display().to_string(),
            "backend": trained.backend,
            "preset": plan.config.preset,
            "stop_reason": trained.reason,
            "weights_from_epoch": trained.weights_from_epoch,
            "training_seconds": training_seconds,
            "history": meta.history,
            "callback_events": meta.callback_events,
            "test": evaluation,
            "calibration": assessment.calibration,
            "intervals": assessment.intervals,
            "curves": assessment.curves,
            // Two classes: Youden's J threshold on the validation set, for each class taken as
            // positive (use it with `evaluate --threshold`).
            "youden_validation": assessment.two_class.as_ref().map(|t| t.youden_validation),
            "test_at_validation_threshold": at_validation_threshold(assessment),
            "test_per_epoch": tested.iter().map(|(e, a)| serde_json::json!({ "epoch": e, "test_accuracy": a })).collect::<Vec<_>>(),
            "seconds_to_99_percent_test_accuracy": seconds_to(&meta.history, tested, 0.99),
        }));
    } else {
        let ci = &assessment.intervals.accuracy_wilson;
        eprintln!(
            "test accuracy {:.2}% (95% CI {:.2}-{:.2}%; {} / {}), ECE {:.4} ({}); model written to {} ({:.1} s of training)",
            evaluation.accuracy * 100.0,
            ci.lo * 100.0,
            ci.hi * 100.0,
            evaluation.correct,
            evaluation.total,
            assessment.calibration.before.ece,
            assessment.calibration.temperature_sentence(),
            out.display(),
            training_seconds
        );
        if let Some(two) = &assessment.two_class
            && let Some(threshold) = two.youden_validation[1]
        {
            let at = two.at(1, threshold);
            eprintln!(
                "two classes: Youden's J on validation puts the threshold for {} at {threshold:.4}; on the test set there: accuracy {:.4}, sensitivity {:.4}, specificity {:.4} (evaluate --threshold {threshold:.4})",
                evaluation.classes[1],
                accuracy_at(&at).estimate,
                at.sensitivity,
                at.specificity
            );
        }
    }
    Ok(())
}

/// Two classes: the test set called at the threshold on P(class 1) that Youden's J chose on
/// the validation set. The threshold is fixed before the test set is looked at, so this
/// accuracy is as honest as the argmax's; it is reported beside it, never in its place.
fn at_validation_threshold(assessment: &Assessment) -> Option<serde_json::Value> {
    let two = assessment.two_class.as_ref()?;
    let threshold = two.youden_validation[1]?;
    let at = two.at(1, threshold);
    Some(serde_json::json!({
        "positive": assessment.evaluation.classes[1],
        "threshold": threshold,
        "accuracy": accuracy_at(&at),
        "metrics": at,
    }))
}

/// Training seconds (steps only) until the test accuracy first reached `target`.
fn seconds_to(history: &[EpochMetrics], tests: &[(usize, f64)], target: f64) -> Option<f64> {
    let epoch = tests.iter().find(|(_, accuracy)| *accuracy >= target)?.0;
    Some(
        history
            .iter()
            .filter(|e| e.epoch <= epoch)
            .map(|e| e.train_seconds)
            .sum(),
    )
}
