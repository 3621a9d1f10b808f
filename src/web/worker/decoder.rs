//! Decoding helpers: workers the engine starts for a large load, one per core, each running
//! the same module. A helper takes [`DecoderRequest`]s (a chunk of files the page read),
//! hashes and decodes them exactly as the engine would ([`protocol::prepare_chunk`]) and
//! answers with the packed result. It holds no state between jobs.

pub mod pool;
pub mod protocol;

use wasm_bindgen::JsCast;

use self::protocol::{DecoderReply, DecoderRequest, pack, prepare_chunk};
use crate::data::DecodeLimits;
use crate::web::bridge::{self, Bridge, Script};
use crate::web::platform::time;
use crate::web::protocol::{FileBytes, FileContent};

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
            crash_drill(&files);
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

/// The first bytes of a file that makes a decoding helper panic: the drill by which the tests
/// show that a file that aborts a helper (as a decoder's panic on a crafted file does) is
/// reported by name while the load goes on. Only helpers react to it; to the engine, the
/// command line and every other reader it is a file that is not an image.
pub const CRASH_DRILL: &[u8] = b"MedClassify crash drill: this file stops a decoding helper\n";

fn crash_drill(files: &[FileBytes]) {
    let drill = |file: &FileBytes| matches!(&file.content, FileContent::Bytes(b) if b.starts_with(CRASH_DRILL));
    if let Some(file) = files.iter().find(|file| drill(file)) {
        panic!("crash drill: {}", file.path);
    }
}
