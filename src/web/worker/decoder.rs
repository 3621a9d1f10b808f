//! Decoding helpers: workers the engine starts for a large load, one per core, each running
//! the same module. A helper takes [`DecoderRequest`]s (a chunk of files the page read),
//! hashes and decodes them exactly as the engine would ([`super::loader::prepare_chunk`]) and
//! answers with the packed result. It holds no state between jobs.

use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::loader::{pack, prepare_chunk};
use super::post_to_parent;
use crate::data::DecodeLimits;
use crate::web::platform::{js, time};
use crate::web::protocol::{DecoderReply, DecoderRequest, decode};

/// Helpers for a load: one per core the browser reports, at most four (decoding is the
/// bottleneck, and each helper holds its own copy of the module's memory).
pub fn helper_count() -> usize {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let cores = scope.navigator().hardware_concurrency();
    (cores as usize).clamp(1, 4)
}

/// Starts one decoding helper.
pub fn spawn() -> Result<web_sys::Worker, String> {
    spawn_helper("decoder")
}

/// Starts a helper worker in `role` (`decoder` or `peer`) through
/// `self.medclassifySpawnHelper` (defined by `www/engine.js`), handing it this module so that
/// it is not fetched and compiled again.
pub fn spawn_helper(role: &str) -> Result<web_sys::Worker, String> {
    let spawner = js::get(&js_sys::global(), "medclassifySpawnHelper");
    let spawner: js_sys::Function = spawner
        .dyn_into()
        .map_err(|_| "this engine script cannot start helper workers".to_string())?;
    spawner
        .call2(
            &JsValue::NULL,
            &wasm_bindgen::module(),
            &JsValue::from_str(role),
        )
        .map_err(|e| format!("a helper worker could not start: {}", js::error_text(&e)))?
        .dyn_into::<web_sys::Worker>()
        .map_err(|_| "a helper worker could not start".to_string())
}

/// Entry point of a helper worker.
pub fn run() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let handler =
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match decode::<DecoderRequest>(event.data()) {
                Ok(DecoderRequest::Decode { chunk, size, files }) => {
                    let started = time::now_ms();
                    let outcomes = prepare_chunk(&files, size, &DecodeLimits::default());
                    let mut packed = pack(chunk, outcomes);
                    packed.decode_ms = time::now_ms() - started;
                    post_to_parent(&DecoderReply::Decoded(packed));
                }
                Err(error) => gloo::console::error!(format!("decoding helper: {error}")),
            }
        });
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post_to_parent(&DecoderReply::Ready);
}
