//! Argument parsing; each subcommand is argument handling and printing over the session
//! layer (`medclassify::session`), the same calls the page's engine makes.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

use crate::commands;
use crate::cv::{self, CvArgs};
use crate::train::{self, TrainArgs};
use crate::warmup;

use medclassify::data::{
    Colour, DicomOptions, Frames, GroupBy, InputShape, SUPPORTED_SIZES, SplitConfig, Window,
};
use medclassify::native::terminal_safe;

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
pub struct DataArgs {
    /// Image side after resizing (28, 32, 64 or 128; 160, 192 or 224 for efficientnet_lite0).
    /// Default 32; a MedMNIST `.npz` or a `.mcdata` file keeps its own size unless it is given.
    #[arg(long)]
    pub size: Option<u32>,
    /// Seed of the split (and, for `train`, of initialisation, shuffling and dropout).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Split fractions train,validation,test.
    #[arg(long, default_value = "0.7,0.15,0.15")]
    pub fractions: String,
    /// Keep only one file of each duplicate group (drop the redundant ones before splitting).
    #[arg(long)]
    pub drop_duplicates: bool,
    /// Keep each patient's images in one subset (and one cross-validation fold): `none`,
    /// `folder:N` (the folder N levels below the chosen one: class/patient/image is
    /// folder:1), `prefix:C` (the file name before the first character C, e.g. prefix:_),
    /// `dicom:patient` (Patient ID) or `dicom:study` (Study Instance UID).
    #[arg(long, default_value = "none")]
    pub group_by: String,
    /// How DICOM files become 8-bit: from-file (their Window Center/Width, else min-max),
    /// min-max, a CT window (brain, soft-tissue, mediastinum, lung, bone) or CENTER,WIDTH.
    /// A model records it; evaluate and predict use the model's.
    #[arg(long, default_value = "from-file")]
    pub window: String,
    /// Multi-frame DICOM files: middle (one image, the middle frame) or every (one image per
    /// frame, a file's frames kept in one subset). A model records it; evaluate uses the
    /// model's.
    #[arg(long, default_value = "middle")]
    pub frames: String,
    /// grayscale (colour files become luma) or rgb (three channels; gray files repeat their
    /// value). A model records it; evaluate and predict use the model's.
    #[arg(long, default_value = "grayscale")]
    pub colour: String,
}

impl DataArgs {
    /// The shape `--size` and `--colour` ask for (checked by [`DataArgs::split_config`]); the
    /// one conversion of the flags, so that everything past the parser takes an [`InputShape`].
    pub fn shape(&self) -> InputShape {
        InputShape::square(self.size.unwrap_or(DEFAULT_SIZE))
            .with_colour(Colour::parse(&self.colour).unwrap_or_default())
    }

    /// The DICOM window and frames `--window` and `--frames` ask for.
    pub fn dicom(&self) -> Result<DicomOptions, String> {
        Ok(DicomOptions {
            window: Window::parse(&self.window).map_err(|why| format!("--window {why}"))?,
            frames: Frames::parse(&self.frames).map_err(|why| format!("--frames {why}"))?,
        })
    }

    /// The split settings, or what is wrong with them; the size is checked first.
    pub fn split_config(&self) -> Result<SplitConfig, String> {
        check_size(self.size.unwrap_or(DEFAULT_SIZE))?;
        if Colour::parse(&self.colour).is_none() {
            return Err(format!("--colour {:?}: say grayscale or rgb", self.colour));
        }
        let mut config = split_config(&self.fractions, self.seed, self.drop_duplicates)?;
        config.group_by = GroupBy::parse(&self.group_by)
            .map_err(|why| format!("--group-by {:?}: {why}", self.group_by))?;
        Ok(config)
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
    Train(Box<TrainArgs>),
    /// Cross-validate a training setting: k stratified folds (duplicate groups kept together),
    /// each held out once; prints each fold's scores and their mean and standard deviation.
    Cv(Box<CvArgs>),
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
        /// Two-class models: also report the confusion matrix and rates when the positive
        /// class is called at P(positive) >= this (e.g. the model's Youden threshold).
        #[arg(long)]
        threshold: Option<f32>,
        /// The positive class for --threshold (default: the model's second class).
        #[arg(long)]
        positive: Option<String>,
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
    /// Write a model as an ONNX file (opset 13; raw 0..255 intensities in, logits and
    /// probabilities out; class names in the file's metadata).
    ExportOnnx {
        /// The model file.
        #[arg(long)]
        model: PathBuf,
        /// The ONNX file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Fill the GPU kernel cache: a few training steps of each preset at each batch size on
    /// random data, so that later runs on this GPU start with tuned kernels (CubeCL's autotune
    /// results, kept per adapter and driver under the cache folder).
    Warmup {
        /// Compute backend (the cache is for GPUs).
        #[arg(long, default_value = "wgpu")]
        backend: String,
        /// Presets to tune.
        #[arg(long, default_value = "seed,strong")]
        presets: String,
        /// Batch sizes to tune.
        #[arg(long, default_value = "64,256")]
        batches: String,
        /// Image side.
        #[arg(long, default_value_t = 32)]
        size: u32,
        /// grayscale or rgb.
        #[arg(long, default_value = "grayscale")]
        colour: String,
        /// Classes of the network (the kernels hardly depend on it).
        #[arg(long, default_value_t = 6)]
        classes: usize,
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
        } => commands::inspect(&dir, &data, threads, json),
        Command::Train(args) => train::train_command(&args),
        Command::Cv(args) => cv::cv_command(&args),
        Command::Evaluate {
            model,
            dir,
            backend,
            threshold,
            positive,
            json,
        } => {
            let threshold = threshold.map(|t| (t, positive));
            commands::evaluate(&model, &dir, &backend, threshold, json)
        }
        Command::Predict {
            model,
            images,
            json,
        } => commands::predict(&model, &images, json),
        Command::ExportOnnx { model, out } => commands::export_onnx(&model, &out),
        Command::Card { model, json } => commands::card(&model, json),
        Command::Warmup {
            backend,
            presets,
            batches,
            size,
            colour,
            classes,
        } => warmup::run(&backend, &presets, &batches, size, &colour, classes),
        Command::Export { dir, data, out } => commands::export(&dir, &data, &out),
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
        ..SplitConfig::default()
    })
}

/// `--size` when none is given (and the data does not carry its own).
pub const DEFAULT_SIZE: u32 = 32;

pub fn check_size(size: u32) -> Result<(), String> {
    let pretrained = medclassify::model::pretrained::BACKBONES
        .iter()
        .any(|b| b.sizes.contains(&size));
    if SUPPORTED_SIZES.contains(&size) || pretrained {
        Ok(())
    } else {
        Err(format!(
            "--size {size} is not offered; use one of {SUPPORTED_SIZES:?}, or 160, 192 or 224 for efficientnet_lite0"
        ))
    }
}
