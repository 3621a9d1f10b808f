//! What the training loop needs from where it runs (a Web Worker, a terminal, a test).

use std::future::Future;

use super::{GradientPeer, ResumeState, RunRecord, TrainingEvent};
use crate::model::Classifier;

/// Which checkpoint slot a model file goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointSlot {
    /// The best model so far (`ModelCheckpoint`).
    Best,
    /// The state after the last completed epoch (for resuming after a reload or a crash).
    Last,
}

/// A checkpoint as a value: the loop knows nothing of files, the host decides how to store it
/// (the session layer writes it as a model file).
pub struct Checkpoint<'a> {
    /// Where it goes.
    pub slot: CheckpointSlot,
    /// The network, in inference mode.
    pub model: &'a Classifier,
    /// The run's history up to this point.
    pub record: &'a RunRecord,
    /// Where the run stands (what a resume starts from).
    pub resume: &'a ResumeState,
}

/// The environment of a training run: the one trait a front end implements (the session's
/// `Platform` adds only what a session needs beyond the loop).
///
/// In the page this is the worker: events go to the UI thread, checkpoint files to IndexedDB,
/// and `proceed` yields to the event loop so Pause and Stop messages are seen. Natively events
/// go to a renderer and checkpoint files to disk.
pub trait TrainingHost {
    /// Receives every event.
    fn event(&mut self, event: TrainingEvent);

    /// Called between batches: yields where the platform needs it and waits while paused.
    /// Returns `false` when training must stop.
    fn proceed(&mut self) -> impl Future<Output = bool>;

    /// Milliseconds on a monotonic clock.
    fn now_ms(&self) -> f64;

    /// Keeps a checkpoint's file (encoded by the run's [`CheckpointSink`]) for `slot`; where
    /// it went (for the log) or why it failed.
    fn store(
        &mut self,
        slot: CheckpointSlot,
        bytes: &[u8],
    ) -> impl Future<Output = Result<String, String>>;

    /// Called after each epoch's metrics with the model in inference mode, for measurements
    /// outside the training loop (the benchmarks score the test set here). Does nothing by default.
    fn epoch_end(&mut self, epoch: usize, model: &Classifier) -> impl Future<Output = ()> {
        let _ = (epoch, model);
        std::future::ready(())
    }

    /// A second replica for data parallelism, taken once at the start of a run (the page
    /// offers one when training on the CPU with a second core). None by default.
    fn take_peer(&mut self) -> Option<Box<dyn GradientPeer>> {
        None
    }
}

/// Where a run's checkpoints go: the loop hands each one over as a value, the sink turns it
/// into a file (the session writes model files) and gives it to the host to keep, or keeps it
/// itself. Apart from the host, so that the host is the front end itself and not a wrapper
/// around it.
pub trait CheckpointSink {
    /// Saves `checkpoint` through `host`; where it went (for the log) or why it failed.
    fn save<H: TrainingHost>(
        &mut self,
        checkpoint: Checkpoint<'_>,
        host: &mut H,
    ) -> impl Future<Output = Result<String, String>>;
}

/// A sink that keeps nothing (a timing probe, a benchmark's run).
pub struct NoCheckpoints;

impl CheckpointSink for NoCheckpoints {
    async fn save<H: TrainingHost>(
        &mut self,
        _: Checkpoint<'_>,
        _: &mut H,
    ) -> Result<String, String> {
        Ok("not kept".into())
    }
}
