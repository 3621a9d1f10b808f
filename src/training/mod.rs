//! Training: the loop, its settings, its events and the Keras-style callbacks.

mod callbacks;
mod config;
mod events;
mod host;
mod parallel;
mod probe;
mod trainer;

pub use callbacks::*;
pub use config::{AdamSettings, TrainingConfig};
pub use events::{BatchMetrics, CallbackEvent, EpochMetrics, StopReason, TrainingEvent};
pub use host::{CheckpointSlot, TrainingHost};
pub use parallel::{
    GradientPeer, GradientReplica, PeerGradients, PeerSetup, PeerStep, combine_gradients,
    flat_gradients, flat_weights, parameter_count, part_gradients,
};
pub use probe::measure_step_ms;
pub use trainer::{TrainingData, TrainingError, TrainingOutcome, train};
