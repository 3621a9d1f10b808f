//! What a training run reports, one event at a time.

use serde::{Deserialize, Serialize};

/// Metrics of one finished epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss.
    #[serde(with = "crate::json_float")]
    pub loss: f64,
    /// Training accuracy.
    #[serde(with = "crate::json_float")]
    pub accuracy: f64,
    /// Mean validation loss.
    #[serde(with = "crate::json_float")]
    pub val_loss: f64,
    /// Validation accuracy.
    #[serde(with = "crate::json_float")]
    pub val_accuracy: f64,
    /// Two classes: the validation set's ROC AUC of class 1 (the ranking that an AUC-led
    /// study cares about, which the loss and the accuracy at the argmax only follow loosely);
    /// `None` for other class counts or a validation set that lacks a class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_auc: Option<f64>,
    /// Learning rate used during the epoch.
    #[serde(with = "crate::json_float")]
    pub learning_rate: f64,
    /// Wall time of the epoch (training and validation), seconds.
    #[serde(with = "crate::json_float")]
    pub seconds: f64,
    /// Time spent in training steps only, seconds.
    #[serde(default)]
    #[serde(with = "crate::json_float")]
    pub train_seconds: f64,
    /// Training images per second.
    #[serde(with = "crate::json_float")]
    pub images_per_second: f64,
}

/// Progress within an epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// 1-based batch within the epoch.
    pub batch: usize,
    /// Batches per epoch.
    pub batches: usize,
    /// Mean loss over the batches since the last report.
    #[serde(with = "crate::json_float")]
    pub loss: f64,
    /// Accuracy over the batches since the last report.
    #[serde(with = "crate::json_float")]
    pub accuracy: f64,
    /// Current learning rate.
    #[serde(with = "crate::json_float")]
    pub learning_rate: f64,
    /// Training images per second since the last report.
    #[serde(with = "crate::json_float")]
    pub images_per_second: f64,
}

/// Something a callback did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallbackEvent {
    /// Epoch at whose end it happened.
    pub epoch: usize,
    /// `EarlyStopping`, `ReduceLROnPlateau`, `ModelCheckpoint` or `TerminateOnNaN`.
    pub callback: String,
    /// What it did: `stop`, `restore_best_weights`, `reduce_lr`, `save`, `terminate`, or
    /// `hint` (words for the user, no action: [`slow_start_hint`](super::slow_start_hint)).
    pub action: String,
    /// The value before (learning rate, best metric), when there is one.
    #[serde(with = "crate::json_float::option", default)]
    pub old_value: Option<f64>,
    /// The value after.
    #[serde(with = "crate::json_float::option", default)]
    pub new_value: Option<f64>,
    /// A sentence for the log.
    pub message: String,
}

/// Why training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// All epochs ran.
    Completed,
    /// `EarlyStopping` fired.
    EarlyStopping,
    /// The user pressed Stop.
    Stopped,
    /// The loss became NaN or infinite.
    NonFiniteLoss,
}

/// One training event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TrainingEvent {
    /// Training begins (or resumes).
    Started {
        /// First epoch that will run (1-based).
        first_epoch: usize,
        /// Last epoch.
        epochs: usize,
        /// Batches per epoch.
        batches: usize,
        /// Training images.
        train_images: usize,
        /// Validation images.
        validation_images: usize,
        /// Trainable parameters.
        parameters: usize,
        /// Replicas computing each batch (2 with a data-parallel peer on a second core).
        #[serde(default = "one")]
        replicas: usize,
    },
    /// A batch report.
    Batch(BatchMetrics),
    /// An epoch ended.
    Epoch(EpochMetrics),
    /// A callback acted.
    Callback(CallbackEvent),
    /// The frozen backbone's features of the training and validation images, computed once
    /// before the first epoch of a head-only run on cached features (`training::features`).
    Features {
        /// Images done.
        done: usize,
        /// Images in all.
        total: usize,
        /// Seconds so far.
        seconds: f64,
    },
    /// The new head was trained first, alone on the frozen backbone's features
    /// (`training::head_first`): what that gave, for people. Information, not a warning.
    HeadTrained {
        /// What happened.
        message: String,
    },
    /// The second replica (the page's training helper) failed during the run: it goes on with
    /// one, and what the page says about the run (its "2 cores") must follow. A warning.
    ReplicaLost {
        /// What happened.
        message: String,
    },
    /// Something the user should know that does not stop training.
    Notice {
        /// What happened.
        message: String,
    },
    /// Training ended.
    Finished {
        /// Why.
        reason: StopReason,
        /// Epochs completed.
        epochs_completed: usize,
        /// The epoch whose weights the final model has.
        weights_from_epoch: usize,
    },
}

fn one() -> usize {
    1
}
