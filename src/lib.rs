//! MedClassify: train and run a medical-image classifier entirely in the browser.
#[cfg(all(target_arch = "wasm32", not(feature = "wgpu")))]
compile_error!("the browser build needs the `wgpu` feature: --no-default-features --features wgpu");

#[cfg(feature = "wgpu")]
pub mod compute;
pub mod data;
pub mod evaluation;
pub mod json_float;
pub mod model;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
pub mod page;
pub mod session;
pub mod storage;
pub mod training;
pub mod tuning;
#[cfg(target_arch = "wasm32")]
pub mod web;

/// Runs the module's static constructors (CubeCL registers its IR dialects with `inventory`)
/// exactly once. Calling `__wasm_call_ctors` explicitly also tells the linker not to wrap
/// every export in a call to it, which otherwise re-runs all constructors on each call from
/// JavaScript into the module (measured: most of the page's main-thread time).
#[cfg(target_arch = "wasm32")]
pub fn run_constructors_once() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static DONE: AtomicBool = AtomicBool::new(false);
    unsafe extern "C" {
        fn __wasm_call_ctors();
    }
    if !DONE.swap(true, Ordering::SeqCst) {
        // SAFETY: synthesised by the linker; run once, before any code that needs it.
        unsafe { __wasm_call_ctors() }
    }
}

/// Browser entry point of the page (called by `www/boot.js`).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn start_app() {
    run_constructors_once();
    web::app::start();
}

/// Browser entry point of the engine worker (called by `www/engine.js`).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn start_worker() {
    run_constructors_once();
    web::worker::run();
}

/// Browser entry point of a decoding helper worker (started by the engine for large loads).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn start_decoder() {
    run_constructors_once();
    web::worker::decoder::run();
}

/// Browser entry point of a training helper worker (the second replica of CPU training).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn start_peer() {
    run_constructors_once();
    web::worker::peer::run();
}
