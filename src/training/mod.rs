//! Training: the loop, its settings, its events and the Keras-style callbacks.

mod batcher;
mod callbacks;
mod config;
mod events;
mod host;
mod probe;
mod trainer;

pub use batcher::{batch_data, images_tensor, make_batch};
pub use callbacks::*;
pub use config::{AdamSettings, TrainingConfig};
pub use events::{BatchMetrics, CallbackEvent, EpochMetrics, StopReason, TrainingEvent};
pub use host::{CheckpointSlot, TrainingHost};
pub use probe::measure_step_ms;
pub use trainer::{TrainingData, TrainingError, TrainingOutcome, train};
