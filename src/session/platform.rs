//! What a front end supplies to the session's runs ([`Platform`]: events, checkpoint files,
//! pretrained weights, the GPU loss) and what it hears of a cross-validation ([`FoldEvent`]),
//! with the training loop's host built on it ([`FileCheckpoints`]). Apart from the runs
//! (`train.rs`, `cross_validate.rs`), which both use it.

use std::future::Future;
use std::sync::Arc;

use super::checkpoint_file;
use crate::evaluation::FoldScores;
use crate::model::Classifier;
use crate::model::pretrained::{BackboneInfo, WeightsFile};
use crate::storage::ModelMeta;
use crate::training::{Checkpoint, CheckpointSlot, GradientPeer, TrainingEvent, TrainingHost};

/// Progress of a cross-validation, for the front end.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FoldEvent {
    /// A fold's run starts.
    Started {
        /// The fold held out (0-based).
        fold: usize,
        /// Folds in all.
        k: usize,
        /// Training, validation and held-out images.
        train: usize,
        /// Validation images (the next fold).
        validation: usize,
        /// Held-out images.
        held_out: usize,
    },
    /// A fold's run finished; its held-out scores.
    Finished(FoldScores),
}

/// What a front end supplies to a training run: where events and checkpoint files go, and
/// what it does when the GPU is lost.
pub trait Platform {
    /// Receives every training event.
    fn event(&mut self, event: TrainingEvent);

    /// Called between batches: yields where the platform needs it, waits while paused;
    /// `false` stops training.
    fn proceed(&mut self) -> impl Future<Output = bool>;

    /// Milliseconds on a monotonic clock.
    fn now_ms(&self) -> f64;

    /// Stores a model file for `slot`; where it went (for the log) or why it failed.
    fn store(
        &mut self,
        slot: CheckpointSlot,
        bytes: &[u8],
    ) -> impl Future<Output = Result<String, String>>;

    /// After each epoch, with the model in inference mode (the benchmarks score the test set).
    fn epoch_end(&mut self, epoch: usize, model: &Classifier) -> impl Future<Output = ()> {
        let _ = (epoch, model);
        std::future::ready(())
    }

    /// A second replica for the next run, if the platform has one.
    fn take_peer(&mut self) -> Option<Box<dyn GradientPeer>> {
        None
    }

    /// After a failed read: why the GPU device was lost, if it was. The page learns of a loss
    /// from the browser's `lost` promise, which can settle after the read failed.
    fn device_lost_reason(&mut self) -> impl Future<Output = Option<String>> {
        std::future::ready(None)
    }

    /// The weights of a pretrained `backbone`, for a new run of a pretrained preset (the
    /// command reads its cache folder; the page downloads them once, checked).
    fn pretrained_weights(
        &mut self,
        backbone: &'static BackboneInfo,
    ) -> impl Future<Output = Result<Arc<WeightsFile>, String>> {
        std::future::ready(Err(format!(
            "the {} weights are not available here",
            backbone.label
        )))
    }

    /// Progress of a cross-validation (a fold starts or finishes).
    fn fold_event(&mut self, event: FoldEvent) {
        let _ = event;
    }

    /// The GPU (`backend`) was lost after `epochs_completed` epochs and training continues on
    /// the CPU: tell the user, prepare a CPU peer if there is one, and return the backend's
    /// description for the model file.
    fn continue_on_cpu(
        &mut self,
        backend: &str,
        reason: &str,
        epochs_completed: usize,
    ) -> impl Future<Output = String>;
}

/// The [`TrainingHost`] of a session run: checkpoints become model files, kept in memory
/// (the last one, to continue after a GPU loss) and handed to the platform.
pub struct FileCheckpoints<'p, P> {
    /// The front end.
    pub(super) platform: &'p mut P,
    /// The header every checkpoint starts from.
    pub template: ModelMeta,
    /// The last `Last` checkpoint's file.
    pub last: Option<Vec<u8>>,
    /// Epochs completed in this run (from the epoch events).
    pub epochs_completed: usize,
    /// Keep checkpoint files in memory only, never handing them to the platform (a
    /// cross-validation fold must not replace the checkpoints of the user's own run).
    pub in_memory: bool,
}

impl<'p, P: Platform> FileCheckpoints<'p, P> {
    /// Checkpoints of runs described by `template`, stored through `platform`.
    pub fn new(platform: &'p mut P, template: ModelMeta) -> Self {
        Self {
            platform,
            template,
            last: None,
            epochs_completed: 0,
            in_memory: false,
        }
    }
}

impl<P: Platform> TrainingHost for FileCheckpoints<'_, P> {
    fn event(&mut self, event: TrainingEvent) {
        if let TrainingEvent::Epoch(metrics) = &event {
            self.epochs_completed = metrics.epoch;
        }
        self.platform.event(event);
    }

    async fn proceed(&mut self) -> bool {
        self.platform.proceed().await
    }

    fn now_ms(&self) -> f64 {
        self.platform.now_ms()
    }

    async fn save_checkpoint(&mut self, checkpoint: Checkpoint<'_>) -> Result<String, String> {
        let bytes = checkpoint_file(&self.template, &checkpoint)
            .await?
            .to_bytes();
        if checkpoint.slot == CheckpointSlot::Last {
            self.last = Some(bytes.clone());
        }
        match self.in_memory {
            true => Ok("memory (a cross-validation fold)".into()),
            false => self.platform.store(checkpoint.slot, &bytes).await,
        }
    }

    async fn epoch_end(&mut self, epoch: usize, model: &Classifier) {
        self.platform.epoch_end(epoch, model).await;
    }

    fn take_peer(&mut self) -> Option<Box<dyn GradientPeer>> {
        self.platform.take_peer()
    }
}
