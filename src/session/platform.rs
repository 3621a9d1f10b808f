//! What a front end supplies to the session's runs ([`Platform`]: the training loop's host
//! plus pretrained weights and the GPU loss) and what it hears of a cross-validation
//! ([`FoldEvent`]), with the sink that turns the loop's checkpoints into model files
//! ([`FileCheckpoints`]). Apart from the runs (`train.rs`, `cross_validate.rs`), which both
//! use it.

use std::future::Future;
use std::sync::Arc;

use super::checkpoint_file;
use crate::evaluation::FoldScores;
use crate::model::pretrained::{BackboneInfo, WeightsFile};
use crate::storage::ModelMeta;
use crate::training::{Checkpoint, CheckpointSink, CheckpointSlot, TrainingHost};

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

/// What a front end supplies to a session's runs beyond the training loop's own needs
/// ([`TrainingHost`]: events, pacing, the clock, checkpoint files, a second replica): the
/// pretrained weights and what it does when the GPU is lost.
pub trait Platform: TrainingHost {
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

/// What a front end hears of a cross-validation (a fold starts or finishes), apart from the
/// runs' own events.
pub trait FoldObserver {
    /// A fold started or finished.
    fn fold_event(&mut self, event: FoldEvent);
}

/// The [`CheckpointSink`] of a session run: checkpoints become model files, kept in memory
/// (the last one, to continue after a GPU loss) and handed to the front end to store.
pub struct FileCheckpoints {
    /// The header every checkpoint starts from.
    pub template: ModelMeta,
    /// The last `Last` checkpoint's file.
    pub last: Option<Vec<u8>>,
    /// Epochs completed by the last `Last` checkpoint (what a run continued from it resumes
    /// after).
    pub epochs_completed: usize,
    /// Keep checkpoint files in memory only, never handing them to the front end (a
    /// cross-validation fold must not replace the checkpoints of the user's own run).
    pub in_memory: bool,
}

impl FileCheckpoints {
    /// Checkpoints of runs described by `template`.
    pub fn new(template: ModelMeta) -> Self {
        Self {
            template,
            last: None,
            epochs_completed: 0,
            in_memory: false,
        }
    }
}

impl CheckpointSink for FileCheckpoints {
    async fn save<H: TrainingHost>(
        &mut self,
        checkpoint: Checkpoint<'_>,
        host: &mut H,
    ) -> Result<String, String> {
        let bytes = checkpoint_file(&self.template, &checkpoint)
            .await?
            .to_bytes();
        if checkpoint.slot == CheckpointSlot::Last {
            self.last = Some(bytes.clone());
            self.epochs_completed = checkpoint.resume.epochs_completed;
        }
        match self.in_memory {
            true => Ok("memory (a cross-validation fold)".into()),
            false => host.store(checkpoint.slot, &bytes).await,
        }
    }
}
