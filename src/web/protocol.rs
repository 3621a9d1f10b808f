//! Messages between the page and the engine worker.
//!
//! Enums are serde's default (externally tagged) with named fields, so `web_sys::File`
//! handles can ride along untouched (`serde_wasm_bindgen::preserve`) and byte buffers travel
//! as `Uint8Array`s (`serde_bytes`). Every long job ends with an explicit result message.

use serde::{Deserialize, Serialize};

use crate::data::{SkipReason, SplitConfig};
use crate::evaluation::ExplainMethod;
use crate::training::TrainingConfig;

// The engine's answers and the views they carry are plain data, compiled on every target so
// that the page's reducers are tested natively: they live in `crate::page::protocol`.
pub use crate::page::protocol::{
    BackendPreference, ClassSamples, DataView, ExplainTarget, GpuReport, ModelSource,
    PredictionRow, Response, SampleImage, SplitView,
};

/// A file the user picked or dropped, with its path relative to the chosen folder.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputFile {
    /// `/`-separated path below the chosen folder (first component = class).
    pub path: String,
    /// The browser's handle; read in the worker.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub file: web_sys::File,
}

/// One file of a load as the page read it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileBytes {
    /// `/`-separated path below the chosen folder (first component = class).
    pub path: String,
    /// Its bytes, or why they were not read.
    pub content: FileContent,
}

/// What the page could read of a file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FileContent {
    /// The file's bytes.
    Bytes(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Not read: its place in the folder, its size, or a read error says why.
    Skipped(SkipReason),
}

/// A job for a decoding helper worker (the engine starts one per core for large loads).
#[derive(Debug, Serialize, Deserialize)]
pub enum DecoderRequest {
    /// Hash and decode these files at `size`; answer with [`DecoderReply::Decoded`].
    Decode {
        /// Position of this chunk in the load, echoed in the answer.
        chunk: usize,
        /// Image side.
        size: u32,
        /// The files.
        files: Vec<FileBytes>,
    },
}

/// What a decoding helper worker sends to the engine.
#[derive(Debug, Serialize, Deserialize)]
pub enum DecoderReply {
    /// The helper has loaded its module and takes jobs.
    Ready,
    /// One chunk done.
    Decoded(DecodedChunk),
}

/// Engine -> training helper (the second replica of data-parallel CPU training).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum PeerRequest {
    /// Build the replica.
    Setup(crate::training::PeerSetup),
    /// Compute the gradient of these images at these weights; answer with
    /// [`PeerReply::Gradients`] or [`PeerReply::Failed`].
    Step {
        /// The weights, flat, as little-endian `f32`s.
        #[serde(with = "serde_bytes")]
        weights: Vec<u8>,
        /// The images' raw intensities.
        #[serde(with = "serde_bytes")]
        pixels: Vec<u8>,
        /// Their class indices.
        labels: Vec<i32>,
    },
}

/// Training helper -> engine.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum PeerReply {
    /// The helper has loaded its module and takes requests.
    Ready,
    /// The answer to a step.
    Gradients {
        /// The gradient, flat, as little-endian `f32`s.
        #[serde(with = "serde_bytes")]
        gradients: Vec<u8>,
        /// Sum of the images' losses.
        loss_sum: f64,
        /// Images classified correctly.
        correct: usize,
        /// Milliseconds the helper computed.
        compute_ms: f64,
    },
    /// A step (or the setup) failed.
    Failed {
        /// Why.
        message: String,
    },
}

/// `f32`s as little-endian bytes (for [`PeerRequest`] and [`PeerReply`]).
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Little-endian bytes back to `f32`s (a trailing partial value is dropped).
pub fn bytes_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The outcome of one chunk of files, packed for `postMessage`: per file a class or a skip
/// reason, and the decoded images' pixels and hashes as two byte buffers.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DecodedChunk {
    /// Position of the chunk in the load.
    pub chunk: usize,
    /// Per file, in order: the class of a decoded image, or why the file was skipped.
    pub outcomes: Vec<Result<String, SkipReason>>,
    /// `size * size` grayscale pixels per decoded image, in order.
    #[serde(with = "serde_bytes")]
    pub pixels: Vec<u8>,
    /// The SHA-256 (32 bytes) of each decoded image's file, in order.
    #[serde(with = "serde_bytes")]
    pub hashes: Vec<u8>,
    /// Milliseconds the helper spent decoding the chunk.
    pub decode_ms: f64,
}

/// Page -> worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Request {
    /// Report the WebGPU adapter and restore the saved model, else load the bundled one.
    Hello {
        /// URL of the bundled ready model.
        bundled_model_url: String,
    },
    /// Start a new data set of `total` files; the page reads them and sends their bytes in
    /// [`Request::LoadChunk`]s. (The page reads: handing thousands of `File`s to a worker
    /// in one `postMessage` blocks the main thread for seconds, ~0.2 ms per file.)
    LoadFiles {
        /// Names this load in its chunks (chunks of an earlier, cancelled load are dropped).
        load: u32,
        /// Image side.
        size: u32,
        /// The split to make once loaded.
        split: SplitConfig,
        /// Files the page will send.
        total: usize,
    },
    /// The next files of load `load`, in the order the page listed them (also taken at once
    /// by the message handler and passed to the running load).
    LoadChunk {
        /// The load.
        load: u32,
        /// The files.
        files: Vec<FileBytes>,
    },
    /// Fetch and decode the bundled sample set (paths listed in `index_url`).
    LoadSample {
        /// Image side.
        size: u32,
        /// The split to make once loaded.
        split: SplitConfig,
        /// URL of the JSON list of files, relative to which the files are fetched.
        index_url: String,
    },
    /// Stop a running load (also handled at once by the message handler).
    CancelLoad,
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
    /// Pause between batches.
    Pause,
    /// Continue after a pause.
    Resume,
    /// Stop training after the current batch.
    Stop,
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
    /// Test hook: destroy the WebGPU device to simulate a device loss.
    SimulateDeviceLoss,
}

/// Encodes a message for `postMessage`.
pub fn encode<T: Serialize>(message: &T) -> Result<wasm_bindgen::JsValue, String> {
    message
        .serialize(&serde_wasm_bindgen::Serializer::new())
        .map_err(|error| format!("cannot encode message: {error}"))
}

/// Decodes a message from `postMessage`.
pub fn decode<T: for<'de> Deserialize<'de>>(value: wasm_bindgen::JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|error| format!("cannot decode message: {error}"))
}

/// Current size of this module's WebAssembly memory, in bytes (page or worker).
pub fn wasm_memory_bytes() -> f64 {
    use wasm_bindgen::JsCast;
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}
