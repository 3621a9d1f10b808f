//! The page -> engine protocol: every message is either a [`Control`], acted on the moment it
//! arrives (by the worker's message handler, even in the middle of a long job), or a [`Job`],
//! queued and handled one at a time by the engine. The answers are
//! [`Response`](crate::web::protocol::Response)s.

use serde::{Deserialize, Serialize};

use crate::data::{Colour, DicomOptions, InputShape, SplitConfig};
use crate::evaluation::ExplainMethod;
use crate::training::TrainingConfig;
use crate::tuning::TuningTestHook;
use crate::web::bridge::FromWorker;
use crate::web::protocol::{BackendPreference, ExplainTarget, FileBytes, InputFile, Response};

/// Page -> engine: the envelope of everything the page sends.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ToEngine {
    /// Acted on at once.
    Control(Control),
    /// Queued behind the running job.
    Job(Job),
}

impl From<Control> for ToEngine {
    fn from(control: Control) -> Self {
        ToEngine::Control(control)
    }
}

impl From<Job> for ToEngine {
    fn from(job: Job) -> Self {
        ToEngine::Job(job)
    }
}

/// What the engine acts on the moment it arrives: flags a running job reads between steps,
/// the files of the running load, and the device-loss test hook.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Control {
    /// Pause training between batches.
    Pause,
    /// Continue after a pause.
    Resume,
    /// Stop training after the current batch.
    Stop,
    /// Stop a running load.
    CancelLoad,
    /// The next files of load `load`, in the order the page listed them (passed straight to
    /// the running load, not queued behind it).
    LoadChunk {
        /// The load.
        load: u32,
        /// The files.
        files: Vec<FileBytes>,
    },
    /// Test hook: destroy the WebGPU device to simulate a device loss.
    SimulateDeviceLoss,
    /// Test hook: how kernel tuning treats the adapter (read when the WebGPU device starts).
    TuningTestHook(TuningTestHook),
}

/// A job for the engine, handled one at a time in the order sent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Job {
    /// Report the WebGPU adapter and restore the saved model, else load the bundled one.
    Hello {
        /// URL of the bundled ready model.
        bundled_model_url: String,
    },
    /// Start a new data set of `total` files; the page reads them and sends their bytes in
    /// [`Control::LoadChunk`]s. (The page reads: handing thousands of `File`s to a worker
    /// in one `postMessage` blocks the main thread for seconds, ~0.2 ms per file.)
    LoadFiles {
        /// Names this load in its chunks (chunks of an earlier, cancelled load are dropped).
        load: u32,
        /// The images' shape (sent as `size`, the bare side).
        #[serde(rename = "size")]
        shape: InputShape,
        /// The split to make once loaded.
        split: SplitConfig,
        /// Files the page will send.
        total: usize,
        /// How DICOM files are decoded (dicom, frames).
        #[serde(default)]
        dicom: DicomOptions,
    },
    /// Fetch and decode the bundled sample set (paths listed in `index_url`).
    LoadSample {
        /// The images' shape (sent as `size`, the bare side).
        #[serde(rename = "size")]
        shape: InputShape,
        /// The split to make once loaded.
        split: SplitConfig,
        /// URL of the JSON list of files, relative to which the files are fetched.
        index_url: String,
    },
    /// Load a MedMNIST `.npz` file the user picked, with its own train / validation / test
    /// split, at its own image size unless `size` is one a pretrained network takes
    /// ([`crate::data::npz_scales_to`]).
    LoadNpz {
        /// File name (for messages).
        name: String,
        /// Its bytes.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        /// The split settings (kept for a later folder; the file's split is used).
        split: SplitConfig,
        /// Grayscale or colour, as for folders.
        #[serde(default)]
        colour: Colour,
        /// The image size chosen in step 1 (0: the file's own).
        #[serde(default)]
        size: u32,
    },
    /// Load an archive (`.zip`, `.tar`, `.tar.gz`) the user picked: its files are decoded like
    /// a folder's, on the helpers.
    LoadArchive {
        /// File name (for messages).
        name: String,
        /// Its bytes.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        /// The images' shape (sent as `size`, the bare side).
        #[serde(rename = "size")]
        shape: InputShape,
        /// The split to make once loaded.
        split: SplitConfig,
        /// How DICOM files are decoded (dicom, frames).
        #[serde(default)]
        dicom: DicomOptions,
    },
    /// Split again with other settings.
    Resplit {
        /// The settings.
        split: SplitConfig,
    },
    /// Send the manifest as CSV.
    ManifestCsv,
    /// Train (or resume training of the current model).
    Train {
        /// Settings.
        config: TrainingConfig,
        /// Backend wanted.
        backend: BackendPreference,
        /// Continue from the current model's resume point.
        resume: bool,
    },
    /// Say about how long training with these settings would take on this device, from the
    /// run's first batches (nothing is trained or kept).
    Estimate {
        /// Settings.
        config: TrainingConfig,
        /// Backend wanted.
        backend: BackendPreference,
        /// Continue from the current model's resume point.
        resume: bool,
    },
    /// Cross-validate `config` on the loaded data: `folds` runs, each holding out one fold.
    CrossValidate {
        /// Settings of every fold's run.
        config: TrainingConfig,
        /// Backend wanted.
        backend: BackendPreference,
        /// Folds.
        folds: usize,
        /// Keep each fold's model for download (else they are discarded).
        keep_models: bool,
    },
    /// Send fold `fold`'s model file (0-based) of the last cross-validation.
    ExportFoldModel {
        /// The fold.
        fold: usize,
    },
    /// Send the pixels of these samples.
    Images {
        /// What they are for (echoed back).
        purpose: String,
        /// Sample indices.
        samples: Vec<usize>,
    },
    /// Classify these files with the current model.
    Predict {
        /// The files.
        files: Vec<InputFile>,
        /// The Train step's choice of where to compute: "CPU (one core)" keeps Predict on the
        /// engine's core too (otherwise a model on the CPU shares many files with a second).
        backend: BackendPreference,
    },
    /// Explain a prediction.
    Explain {
        /// The image.
        target: ExplainTarget,
        /// Class to explain (`None` = the predicted one).
        class: Option<usize>,
        /// Method.
        method: ExplainMethod,
    },
    /// Send the current model file.
    ExportModel,
    /// Send the current model as an ONNX file (in [`Response::ModelFile`], named `.onnx`).
    ExportOnnx,
    /// Use a model file the user picked.
    ImportModel {
        /// File name (for messages).
        name: String,
        /// Its bytes.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Fetch and use the bundled ready model.
    LoadBundledModel {
        /// Its URL.
        url: String,
    },
    /// Forget the saved model and checkpoints in IndexedDB.
    ForgetSaved,
}

impl FromWorker for Response {
    fn is_boot(&self) -> bool {
        matches!(self, Response::Booted)
    }
}
