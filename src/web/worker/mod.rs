//! The engine worker: owns the data set, the model and the compute device, and runs every
//! long job (decoding, training, evaluation, prediction) off the page's main thread.
//!
//! Control messages (pause, resume, stop, cancel) are acted on the moment they arrive, from
//! the message handler itself, and the files of a load go straight to the running load;
//! everything else is queued and handled one job at a time.

pub mod decoder;
mod engine;
mod host;
mod loader;
pub mod peer;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use burn::tensor::wgpu::wgpu;

use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::protocol::{Request, Response, decode, encode};

/// State of a training run as the controls see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Nothing special: run.
    Running,
    /// Wait between batches.
    Paused,
    /// Stop after the current batch.
    Stopping,
}

/// Flags the message handler sets and long jobs read between steps.
pub struct Controls {
    /// Pause / stop for training.
    pub run: Cell<RunState>,
    /// Cancel the current load.
    pub cancel_load: Cell<bool>,
    /// The WebGPU device in use, for the `?debug` device-loss hook (acted on at once, even
    /// in the middle of training).
    pub gpu_device: RefCell<Option<wgpu::Device>>,
}

/// Posts a message to the page.
pub fn post(response: &Response) {
    post_to_parent(response);
}

/// Posts a message to whoever started this worker (the page for the engine, the engine for a
/// helper).
pub fn post_to_parent<T: serde::Serialize>(message: &T) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    match encode(message) {
        Ok(value) => {
            let _ = scope.post_message(&value);
        }
        Err(error) => gloo::console::error!(error),
    }
}

/// Posts a notice.
pub fn notice(level: &str, message: impl Into<String>) {
    post(&Response::Notice {
        level: level.into(),
        message: message.into(),
    });
}

/// Entry point of the worker binary.
pub fn run() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let controls = Rc::new(Controls {
        run: Cell::new(RunState::Running),
        cancel_load: Cell::new(false),
        gpu_device: RefCell::new(None),
    });
    let (sender, receiver) = futures::channel::mpsc::unbounded::<Request>();
    // The files of a load go straight to the running load job, not behind it in the queue.
    let (chunk_sender, chunk_receiver) = futures::channel::mpsc::unbounded::<loader::PageChunk>();
    let handler = {
        let controls = controls.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match decode::<Request>(event.data()) {
                Ok(Request::Pause) => controls.run.set(RunState::Paused),
                Ok(Request::Resume) => {
                    if controls.run.get() == RunState::Paused {
                        controls.run.set(RunState::Running);
                    }
                }
                Ok(Request::Stop) => controls.run.set(RunState::Stopping),
                Ok(Request::CancelLoad) => {
                    controls.cancel_load.set(true);
                    // Wakes a load that is waiting for the page's next files (none will come).
                    let _ = chunk_sender.unbounded_send((loader::WAKE_UP, Vec::new()));
                }
                Ok(Request::LoadChunk { load, files }) => {
                    let _ = chunk_sender.unbounded_send((load, files));
                }
                Ok(Request::SimulateDeviceLoss) => match controls.gpu_device.borrow().as_ref() {
                    Some(device) => {
                        device.destroy();
                        notice("warning", "test hook: the WebGPU device was destroyed");
                    }
                    None => notice("info", "no WebGPU device in use"),
                },
                Ok(request) => {
                    let _ = sender.unbounded_send(request);
                }
                Err(error) => notice(
                    "error",
                    format!("the engine could not read a message: {error}"),
                ),
            }
        })
    };
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post(&Response::Booted);
    wasm_bindgen_futures::spawn_local(engine::Engine::new(controls, chunk_receiver).run(receiver));
}
