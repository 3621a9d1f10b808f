//! Decoding helpers: workers the engine starts for a large load, one per core, each running
//! the same module. A helper takes [`DecoderRequest`]s (a chunk of files the page read),
//! hashes and decodes them exactly as the engine would ([`protocol::prepare_chunk`]) and
//! answers with the packed result. It holds no state between jobs.

pub mod protocol;

use wasm_bindgen::JsCast;

use self::protocol::{DecoderReply, DecoderRequest, pack, prepare_chunk};
use crate::data::DecodeLimits;
use crate::web::bridge::{self, Bridge, Script};
use crate::web::platform::time;

/// The engine's side of one decoding helper.
pub type DecoderBridge = Bridge<DecoderRequest, DecoderReply>;

/// Helpers for a load: one per core the browser reports, at most four (decoding is the
/// bottleneck, and each helper holds its own copy of the module's memory).
pub fn helper_count() -> usize {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let cores = scope.navigator().hardware_concurrency();
    (cores as usize).clamp(1, 4)
}

/// Starts one decoding helper; its replies and its crash go to `on_event`.
pub fn spawn(
    on_event: impl FnMut(bridge::WorkerEvent<DecoderReply>) + 'static,
) -> Result<DecoderBridge, String> {
    Bridge::spawn(Script::Helper("decoder"), on_event)
}

/// Entry point of a helper worker.
pub fn run() {
    console_error_panic_hook::set_once();
    bridge::listen(|request: Result<DecoderRequest, String>| match request {
        Ok(DecoderRequest::Decode {
            chunk,
            shape,
            dicom,
            files,
        }) => {
            let started = time::now_ms();
            let limits = DecodeLimits::with_dicom(dicom);
            let outcomes = prepare_chunk(&files, shape, &limits);
            let mut packed = pack(chunk, outcomes);
            packed.decode_ms = time::now_ms() - started;
            bridge::post_to_parent(&DecoderReply::Decoded(packed));
        }
        Err(error) => gloo::console::error!(format!("decoding helper: {error}")),
    });
    bridge::post_to_parent(&DecoderReply::Ready);
}

impl bridge::FromWorker for DecoderReply {
    fn is_boot(&self) -> bool {
        matches!(self, DecoderReply::Ready)
    }
}
