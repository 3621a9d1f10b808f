//! Compute devices: what the core needs to know about a wgpu device beyond Burn's API.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use burn::tensor::wgpu::wgpu;

/// WebGPU/wgpu validation errors that reached no error scope.
///
/// CubeCL's default handler panics on them, which in a browser kills the whole worker and the
/// user's run with it. [`watch_gpu_errors`] counts them and keeps the first and last message
/// instead, so the engine can say that the adapter refused work and the run can end cleanly
/// (a refused kernel leaves NaN behind, which `TerminateOnNaN` catches). The browser build has
/// no autotuning, so on a sound adapter there are none: `tests/webgpu.rs` asserts that.
#[derive(Debug, Default)]
pub struct GpuErrors {
    count: AtomicU32,
    first: Mutex<Option<String>>,
    last: Mutex<Option<String>>,
}

impl GpuErrors {
    /// Errors seen so far.
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }

    /// The first error's message.
    pub fn first(&self) -> Option<String> {
        self.first.lock().ok().and_then(|l| l.clone())
    }

    /// The last error's message.
    pub fn last(&self) -> Option<String> {
        self.last.lock().ok().and_then(|l| l.clone())
    }

    /// Forgets the errors so far, so that a run's warning counts its own and not those of an
    /// earlier run on the same device (the page keeps one device for the tab's life).
    pub fn reset(&self) {
        self.count.store(0, Ordering::Relaxed);
        for message in [&self.first, &self.last] {
            if let Ok(mut message) = message.lock() {
                *message = None;
            }
        }
    }
}

/// Replaces the panicking uncaptured-error handler of `device` with one that records.
/// Device loss is still reported through Burn (`ExecutionError::DevicePoisoned`).
pub fn watch_gpu_errors(device: &wgpu::Device) -> Arc<GpuErrors> {
    let errors = Arc::new(GpuErrors::default());
    let sink = errors.clone();
    device.on_uncaptured_error(Arc::new(move |error| {
        sink.count.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = sink.first.lock() {
            first.get_or_insert_with(|| error.to_string());
        }
        if let Ok(mut last) = sink.last.lock() {
            *last = Some(error.to_string());
        }
    }));
    errors
}
