//! Messages between the page and the engine worker.
//!
//! Enums are serde's default (externally tagged) with named fields, so `web_sys::File`
//! handles can ride along untouched (`serde_wasm_bindgen::preserve`) and byte buffers travel
//! as `Uint8Array`s (`serde_bytes`). Every long job ends with an explicit result message.

use serde::{Deserialize, Serialize};

use crate::data::SkipReason;

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
