//! What the engine worker answers the page ([`Response`]) and the plain views it carries.
//!
//! Split from the `web` module's protocol (whose requests carry browser `File` handles and so
//! compile only for wasm32) so that the page's reducers in [`crate::page::state`], which
//! consume these messages, compile and are tested natively. The serde representation is the
//! one page and worker exchange through serde-wasm-bindgen: serde's default externally tagged
//! enums with named fields, byte buffers as `Uint8Array`s (`serde_bytes`).

use serde::{Deserialize, Serialize};

use crate::data::{GroupCounts, LoadReport, SplitConfig, SplitCounts};
use crate::evaluation::{Assessment, CrossValidation, Heatmap};
use crate::session::FoldEvent;
use crate::storage::ModelMeta;
use crate::training::{RunEstimate, TrainingEvent};

/// Which compute backend the user wants for training.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendPreference {
    /// Measure and choose (CPU on software adapters).
    #[default]
    Auto,
    /// WebGPU through burn-wgpu.
    Webgpu,
    /// Burn's Flex CPU backend in WebAssembly, on every core the browser offers (a second
    /// replica in a helper worker computes half of each batch).
    Cpu,
    /// The Flex CPU backend on one core (leaves the other cores to the rest of the machine).
    CpuOneCore,
    /// `Auto` that runs its probe even on a software adapter, where `Auto` takes the CPU
    /// without measuring (a test hook, offered with `?debug=1`: the only adapter the tests
    /// have is SwiftShader).
    AutoProbe,
}

impl BackendPreference {
    /// `auto`, `webgpu` or `cpu`.
    pub fn name(self) -> &'static str {
        match self {
            BackendPreference::Auto => "auto",
            BackendPreference::Webgpu => "webgpu",
            BackendPreference::Cpu => "cpu",
            BackendPreference::CpuOneCore => "cpu1",
            BackendPreference::AutoProbe => "auto-probe",
        }
    }
}

/// What to explain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExplainTarget {
    /// A sample of the loaded data set (a test image).
    Sample {
        /// Sample index.
        sample: usize,
    },
    /// An image of the last Predict batch.
    Upload {
        /// Its position in that batch.
        index: usize,
    },
}

/// The WebGPU adapter the worker found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuReport {
    /// `navigator.gpu` exists and returned an adapter.
    pub available: bool,
    /// Adapter vendor (`GPUAdapterInfo.vendor`).
    pub vendor: String,
    /// Adapter architecture.
    pub architecture: String,
    /// Human description.
    pub description: String,
    /// A software / fallback adapter (SwiftShader, llvmpipe, WARP ...).
    pub software: bool,
    /// The adapter offers `timestamp-query` (work timed on the device, which kernel tuning needs
    /// in a browser).
    #[serde(default)]
    pub timestamp_query: bool,
    /// Why WebGPU is unavailable, if it is.
    pub problem: Option<String>,
    /// The device was lost during this page's life (WebGPU is then unavailable until a
    /// reload starts a new engine).
    #[serde(default)]
    pub lost: bool,
}

impl GpuReport {
    /// The device was lost: the engine will not use WebGPU again in this page.
    pub fn mark_lost(&mut self) {
        self.available = false;
        self.lost = true;
        self.problem = Some(
            "the WebGPU device was lost; this page computes on the CPU until it is reloaded".into(),
        );
    }

    /// What the header shows: the adapter, or that the CPU is used.
    pub fn label(&self) -> String {
        if self.lost {
            "CPU (the WebGPU device was lost)".to_string()
        } else if self.available {
            format!("WebGPU: {}", self.adapter())
        } else {
            "CPU (WebGPU unavailable)".to_string()
        }
    }

    /// The adapter in a few words: vendor and architecture (or its description), and whether
    /// it is a software emulation.
    pub fn adapter(&self) -> String {
        let mut parts: Vec<&str> = [self.vendor.as_str(), self.architecture.as_str()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            parts.push(self.description.as_str());
        }
        let software = if self.software { " (software)" } else { "" };
        format!("{}{software}", parts.join(" "))
    }
}

/// A few decoded images of one class, for the sample grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassSamples {
    /// Class name.
    pub class: String,
    /// Images of the data set's shape (`channels * size * size` values each), one after another.
    #[serde(with = "serde_bytes")]
    pub pixels: Vec<u8>,
    /// How many images `pixels` holds.
    pub count: usize,
}

/// The load report without the (possibly huge) manifest: the core's [`LoadReport`] (one type
/// for the command line and the page), plus what only the page shows. Flattened, so its
/// serialised fields are the same as when they were listed here one by one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataView {
    /// What the load found (classes, skipped files, duplicates).
    #[serde(flatten)]
    pub report: LoadReport,
    /// Sample images per class.
    pub samples: Vec<ClassSamples>,
    /// Bytes the decoded data set occupies in the worker.
    pub memory_bytes: f64,
    /// Size of the engine's WebAssembly memory after loading.
    pub wasm_memory_bytes: f64,
    /// Load time.
    pub seconds: f64,
}

/// The split as shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitView {
    /// Settings.
    pub config: SplitConfig,
    /// Counts per class (empty on error).
    pub counts: Vec<SplitCounts>,
    /// Why it failed.
    pub error: Option<String>,
    /// Manifest digest.
    pub manifest_sha256: Option<String>,
    /// With a grouping key: the groups per subset and the largest.
    #[serde(default)]
    pub groups: Option<GroupCounts>,
}

/// One image with its identity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleImage {
    /// Sample index.
    pub sample: usize,
    /// Path.
    pub path: String,
    /// True label.
    pub label: usize,
    /// Pixels.
    #[serde(with = "serde_bytes")]
    pub pixels: Vec<u8>,
}

/// Where the current model came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// Trained in this session.
    Trained,
    /// A file the user loaded.
    File,
    /// The bundled ready model.
    Bundled,
    /// Restored from IndexedDB after a reload.
    Saved,
}

/// One Predict result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictionRow {
    /// File name / path.
    pub name: String,
    /// Probabilities per class (empty on error).
    pub probabilities: Vec<f32>,
    /// Why the file could not be classified.
    pub error: Option<String>,
    /// The decoded image (empty on error).
    #[serde(with = "serde_bytes")]
    pub pixels: Vec<u8>,
}

/// Worker -> page.
// Unboxed although `Loaded` is the largest: a few hundred bytes, once per message, against a
// message that crossed the worker boundary as bytes anyway.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Response {
    /// The worker's code is loaded and listening (sent before anything else).
    Booted,
    /// The worker is up.
    Ready {
        /// WebGPU adapter.
        gpu: GpuReport,
    },
    /// The WebGPU device was lost and the engine will not use it again (the run or estimate
    /// that met the loss says so itself).
    GpuLost,
    /// Load progress.
    LoadProgress {
        /// Files processed.
        done: usize,
        /// Files in all.
        total: usize,
        /// Milliseconds since the start.
        elapsed_ms: f64,
    },
    /// The data set is loaded.
    Loaded {
        /// The report.
        data: DataView,
        /// The split.
        split: SplitView,
    },
    /// The load stopped (cancelled or failed); the previous data set, if any, is kept.
    LoadStopped {
        /// Why.
        message: String,
    },
    /// A new split.
    SplitChanged {
        /// The split.
        split: SplitView,
    },
    /// The manifest.
    ManifestCsv {
        /// CSV text.
        csv: String,
    },
    /// A file the run needs is being downloaded from the page's own origin (a pretrained
    /// backbone's weights, once per browser).
    Download {
        /// What it is, for people.
        what: String,
        /// Bytes received so far.
        received: u64,
        /// Bytes in all.
        total: u64,
    },
    /// Which backend training uses, and why.
    BackendChosen {
        /// `WebGPU` or `CPU`.
        backend: String,
        /// Why.
        reason: String,
    },
    /// About how long the run asked for would take on this device (measured on its first
    /// batches; nothing was trained or kept).
    Estimated {
        /// The estimate.
        estimate: Box<RunEstimate>,
        /// `WebGPU` or `CPU`, the device the run would use.
        backend: String,
        /// Replicas computing each batch (2 with the training helper on a second core).
        replicas: usize,
    },
    /// The estimate could not be made (or was stopped).
    EstimateFailed {
        /// Why.
        message: String,
    },
    /// A training event.
    Training {
        /// The event.
        event: TrainingEvent,
    },
    /// Training ended; the model was assessed on the test set.
    TrainingDone {
        /// Test-set assessment.
        assessment: Box<Assessment>,
        /// Misclassified test images (most confident first, at most 48).
        misclassified: Vec<SampleImage>,
        /// Size of the engine's WebAssembly memory at the end of training.
        wasm_memory_bytes: f64,
    },
    /// A cross-validation fold started or finished.
    Fold {
        /// What happened.
        event: FoldEvent,
    },
    /// A cross-validation ended (every fold, or stopped after some).
    CrossValidated {
        /// The folds' scores and their mean and spread.
        summary: Box<CrossValidation>,
        /// Whether the engine keeps the fold models for download.
        kept: bool,
    },
    /// Training broke after it started.
    TrainingFailed {
        /// Why.
        message: String,
    },
    /// Training (or cross-validation) was refused before anything ran: nothing changed.
    TrainingRefused {
        /// Why.
        message: String,
    },
    /// The user stopped a run before its first epoch ended: nothing was trained, so nothing
    /// is evaluated or kept, and the page goes back to where it was.
    TrainingStopped {
        /// What happened.
        message: String,
    },
    /// Pixels asked for.
    Images {
        /// Echo of the request's purpose.
        purpose: String,
        /// The images.
        images: Vec<SampleImage>,
    },
    /// Files of a Predict batch classified so far (after each group; `Predictions` ends it).
    PredictProgress {
        /// Files classified (or found unusable).
        done: usize,
        /// Files in the batch.
        total: usize,
    },
    /// Predict results.
    Predictions {
        /// One per file.
        results: Vec<PredictionRow>,
    },
    /// A heatmap.
    Explanation {
        /// What was explained.
        target: ExplainTarget,
        /// The heatmap.
        heatmap: Heatmap,
        /// The image under it.
        #[serde(with = "serde_bytes")]
        pixels: Vec<u8>,
    },
    /// A model is ready (trained, loaded, bundled or restored).
    ModelReady {
        /// Its header.
        meta: Box<ModelMeta>,
        /// Where it came from.
        source: ModelSource,
        /// Size of its file in bytes.
        file_bytes: usize,
    },
    /// A model file was refused; the current model stays.
    ModelRejected {
        /// Why.
        message: String,
    },
    /// The current model file, for download.
    ModelFile {
        /// Suggested name.
        file_name: String,
        /// Bytes.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// A message for the user.
    Notice {
        /// How it is shown.
        level: Level,
        /// Text.
        message: String,
    },
}

/// How a message for the user is shown: `info` in blue, `warning` in yellow, `error` in red
/// and read out at once (`role=alert`). On the wire and in the page's CSS classes it is the
/// lower-case word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// News: something finished or was chosen.
    Info,
    /// Something the user should know; the work went on.
    Warning,
    /// Something failed.
    Error,
}

impl Level {
    /// The lower-case word (the CSS class).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ClassCount;

    #[test]
    fn data_view_serialises_the_report_fields_flat_as_before() {
        let view = DataView {
            report: LoadReport {
                files_seen: 3,
                images: 2,
                shape: crate::data::InputShape::square(32),
                classes: vec![ClassCount {
                    name: "Hand".into(),
                    count: 2,
                }],
                redundant_files: 1,
                ..LoadReport::default()
            },
            samples: Vec::new(),
            memory_bytes: 2048.0,
            wasm_memory_bytes: 1e6,
            seconds: 0.25,
        };
        let json = serde_json::to_value(&view).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "classes",
                "duplicate_groups",
                "files_seen",
                "image_size",
                "images",
                "memory_bytes",
                "redundant_files",
                "samples",
                "seconds",
                "skipped",
                "wasm_memory_bytes"
            ]
        );
        assert_eq!(json["images"], 2);
        let back: DataView = serde_json::from_value(json).unwrap();
        assert_eq!(back, view);
    }
}
