//! `medclassify`: the native command on the same core as the page. Here the arguments and
//! the dispatch; each subcommand is argument handling and printing over the session layer
//! (`medclassify::session`, the same calls the page's engine makes), one file each.
//!
//! ```text
//! medclassify inspect <DIR> [--size N] [--seed S] --json
//! medclassify train <DIR> [--preset seed|strong|efficientnet_lite0] [--transfer head|top|all] [--epochs N] [--batch B] [--lr X] [--size N]
//!                   [--seed S] [--backend auto|cpu|wgpu|cuda] --out MODEL [--json]
//! medclassify evaluate --model MODEL <DIR> [--json]
//! medclassify predict --model MODEL <IMAGE>... [--explain grad-cam|saliency [--heatmaps DIR]] [--json]
//! medclassify cv <DIR> [--folds K] [training options] [--keep-models DIR] [--json]
//! medclassify imagenet <PHOTO>... [--top K] [--json]
//! medclassify export-onnx --model MODEL --out MODEL.onnx
//! medclassify card --model MODEL [--json]
//! medclassify warmup [--backend wgpu] [--presets seed,strong] [--batches 64,256] [--size N]
//! ```

#[cfg(target_arch = "wasm32")]
fn main() {}

/// Every item of the native command, under one guard: the page's build (wasm32) has none of
/// its dependencies (clap, indicatif, threads), and compiles only the stub above.
macro_rules! native {
    ($($item:item)*) => { $( #[cfg(not(target_arch = "wasm32"))] $item )* };
}

native! {
    use clap::{Parser, Subcommand};
    use std::path::PathBuf;

    use args::DataArgs;
    use cv::CvArgs;
    use medclassify::native::terminal_safe;
    use train::TrainArgs;

    fn main() {
        // Rust ignores SIGPIPE, so a closed pipe (`medclassify inspect ... --json | head`) made
        // every print panic; with the default action the command ends there, as `cat` does.
        #[cfg(unix)]
        // SAFETY: called before any thread starts; SIG_DFL is a valid action for SIGPIPE.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
        std::process::exit(run());
    }

    mod args;
    mod card;
    mod cv;
    mod evaluate;
    mod export;
    mod imagenet;
    mod inspect;
    mod output;
    mod predict;
    mod progress;
    mod source;
    mod train;
    mod warmup;

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
            /// Also explain each image's top class, as the page's Predict step does: grad-cam
            /// (the last convolution) or saliency (input gradients). JSON rows gain `heatmap`
            /// (values 0-1, `size` x `size`, row-major: the page's "Download the heatmap's
            /// values" file).
            #[arg(long, value_parser = predict::parse_method)]
            explain: Option<medclassify::evaluation::ExplainMethod>,
            /// With --explain: a folder for each heatmap drawn over its image as a PNG
            /// (`<image file>.<method>.png`, the page's colours, scaled up to 256 px or more).
            #[arg(long, requires = "explain")]
            heatmaps: Option<PathBuf>,
        },
        /// The pretrained backbone's own ImageNet-1k answers for photographs (EfficientNet-Lite0
        /// with its original 1,000-class head, 224 px colour): class numbers 0-999 in the
        /// standard ImageNet-1k order, their names and softmax probabilities. A check that the
        /// weights on this machine are right before transfer learning relies on them.
        Imagenet {
            /// Photographs (any format the page reads).
            #[arg(required = true)]
            images: Vec<PathBuf>,
            /// How many classes to list per photograph.
            #[arg(long, default_value_t = 5)]
            top: usize,
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
            } => inspect::inspect(&dir, &data, threads, json),
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
                evaluate::evaluate(&model, &dir, &backend, threshold, json)
            }
            Command::Predict {
                model,
                images,
                json,
                explain,
                heatmaps,
            } => match (explain, json || heatmaps.is_some()) {
                (Some(_), false) => Err("--explain shows its heatmaps with --json (their values) \
                     or --heatmaps DIR (pictures): add one of them"
                    .into()),
                (explain, _) => {
                    let explain = explain.map(|method| predict::Explaining { method, heatmaps });
                    predict::predict(&model, &images, json, explain)
                }
            },
            Command::Imagenet { images, top, json } => imagenet::imagenet(&images, top, json),
            Command::ExportOnnx { model, out } => export::export_onnx(&model, &out),
            Command::Card { model, json } => card::card(&model, json),
            Command::Warmup {
                backend,
                presets,
                batches,
                size,
                colour,
                classes,
            } => warmup::run(&backend, &presets, &batches, size, &colour, classes),
            Command::Export { dir, data, out } => export::export(&dir, &data, &out),
        };
        match result {
            Ok(()) => 0,
            Err(message) => {
                eprintln!("error: {}", terminal_safe(&message));
                2
            }
        }
    }
}
