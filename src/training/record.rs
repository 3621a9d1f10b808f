//! What a run has recorded so far: the history, what the callbacks did, and where it stands.
//! A checkpoint is these plus the weights; the storage layer turns them into a model file.

use serde::{Deserialize, Serialize};

use super::{CallbackEvent, CallbackStates, EpochMetrics};

/// Where training stood after the last completed epoch: enough to resume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResumeState {
    /// Epochs completed.
    pub epochs_completed: usize,
    /// Learning rate for the next epoch.
    #[serde(with = "crate::json_float")]
    pub learning_rate: f64,
    /// Callback states.
    pub callbacks: CallbackStates,
}

/// The history of a run (carried over from the checkpoint when it resumes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunRecord {
    /// Per-epoch metrics, in order.
    pub history: Vec<EpochMetrics>,
    /// What the callbacks did, in order.
    pub callback_events: Vec<CallbackEvent>,
}
