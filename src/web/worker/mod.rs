//! The engine worker: owns the data set, the model and the compute device, and runs every
//! long job (decoding, training, evaluation, prediction) off the page's main thread.
//!
//! Control messages (pause, resume, stop, cancel) are acted on the moment they arrive, from
//! the message handler itself, and the files of a load go straight to the running load;
//! everything else is queued and handled one job at a time.

mod backend;
pub mod decoder;
mod engine;
mod host;
mod loader;
pub mod peer;
pub mod protocol;
pub mod tuning;
mod weights;

use crate::page::protocol::Level;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use burn::tensor::wgpu::wgpu;

use self::protocol::{Control, Job, ToEngine};
use super::bridge::{self, post_to_parent};
use super::protocol::Response;
use crate::tuning::TuningTestHook;

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
    /// The `?debug` kernel-tuning test hook, read when the WebGPU device starts.
    pub tuning_hook: Cell<TuningTestHook>,
}

/// Posts a message to the page.
pub fn post(response: &Response) {
    post_to_parent(response);
}

/// Posts a notice.
pub fn notice(level: Level, message: impl Into<String>) {
    post(&Response::Notice {
        level,
        message: message.into(),
    });
}

/// Entry point of the worker binary.
pub fn run() {
    console_error_panic_hook::set_once();
    let controls = Rc::new(Controls {
        run: Cell::new(RunState::Running),
        cancel_load: Cell::new(false),
        gpu_device: RefCell::new(None),
        tuning_hook: Cell::new(TuningTestHook::Normal),
    });
    tuning::switch_off();
    let (sender, receiver) = futures::channel::mpsc::unbounded::<Job>();
    // The files of a load go straight to the running load job, not behind it in the queue.
    let (chunk_sender, chunk_receiver) = futures::channel::mpsc::unbounded::<loader::PageChunk>();
    {
        let controls = controls.clone();
        bridge::listen(move |message: Result<ToEngine, String>| match message {
            Ok(ToEngine::Control(control)) => act(&controls, &chunk_sender, control),
            Ok(ToEngine::Job(job)) => {
                let _ = sender.unbounded_send(job);
            }
            Err(error) => notice(
                Level::Error,
                format!("the engine could not read a message: {error}"),
            ),
        });
    }
    post(&Response::Booted);
    wasm_bindgen_futures::spawn_local(engine::Engine::new(controls, chunk_receiver).run(receiver));
}

/// Acts on a control message the moment it arrives (from the message handler, even while a
/// job runs).
fn act(
    controls: &Controls,
    chunks: &futures::channel::mpsc::UnboundedSender<loader::PageChunk>,
    control: Control,
) {
    match control {
        Control::Pause => controls.run.set(RunState::Paused),
        Control::Resume => {
            if controls.run.get() == RunState::Paused {
                controls.run.set(RunState::Running);
            }
        }
        Control::Stop => controls.run.set(RunState::Stopping),
        Control::CancelLoad => {
            controls.cancel_load.set(true);
            // Wakes a load that is waiting for the page's next files (none will come).
            let _ = chunks.unbounded_send((loader::WAKE_UP, Vec::new()));
        }
        Control::LoadChunk { load, files } => {
            let _ = chunks.unbounded_send((load, files));
        }
        Control::TuningTestHook(hook) => controls.tuning_hook.set(hook),
        Control::SimulateDeviceLoss => match controls.gpu_device.borrow().as_ref() {
            Some(device) => {
                device.destroy();
                notice(Level::Warning, "test hook: the WebGPU device was destroyed");
            }
            None => notice(Level::Info, "no WebGPU device in use"),
        },
    }
}
