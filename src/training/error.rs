//! Why a run could not finish, and how a failed read becomes a device loss: shared by the
//! loop (`trainer.rs`) and the epochs (`epoch.rs`), so neither imports the other for it.

use std::fmt;

use burn::tensor::ExecutionError;

/// Why a run could not finish.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainingError {
    /// A setting or the data is unusable; nothing was trained.
    Invalid(String),
    /// The GPU device was lost; the last completed epoch was saved to the `Last` slot.
    DeviceLost {
        /// What the driver said.
        reason: String,
        /// Epochs completed before the loss.
        epochs_completed: usize,
    },
    /// Any other execution error.
    Execution(String),
}

impl fmt::Display for TrainingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainingError::Invalid(message) => write!(f, "{message}"),
            TrainingError::DeviceLost {
                reason,
                epochs_completed,
            } => write!(
                f,
                "the GPU device was lost after epoch {epochs_completed}: {reason}"
            ),
            TrainingError::Execution(message) => write!(f, "training failed: {message}"),
        }
    }
}

impl std::error::Error for TrainingError {}

/// Maps a failed read to a device loss (the GPU went away) or a plain execution error.
pub(super) fn execution_error(error: ExecutionError, epochs_completed: usize) -> TrainingError {
    match error {
        ExecutionError::DevicePoisoned { reason } => TrainingError::DeviceLost {
            reason,
            epochs_completed,
        },
        other => TrainingError::Execution(other.to_string()),
    }
}
