//! Training: the loop, its settings, its events and the Keras-style callbacks.
//!
//! [`train`] is the loop in one screen; [`epoch`] holds a training and a validation epoch,
//! `step` one optimiser step (with the optional second replica), `epoch_end` the callback chain
//! and `run` the state between steps. Nothing here knows about files: the host receives
//! checkpoints as values ([`Checkpoint`]).

mod callbacks;
mod config;
pub mod epoch;
mod epoch_end;
mod events;
mod features;
mod host;
mod parallel;
mod probe;
mod record;
mod run;
mod step;
mod trainer;
mod weighting;

pub use callbacks::*;
pub use config::{AdamSettings, MAX_BATCH_SIZE, TrainingConfig};
pub use epoch::{EVAL_BATCH, score};
pub use events::{BatchMetrics, CallbackEvent, EpochMetrics, StopReason, TrainingEvent};
pub use features::{FeatureCache, Inputs};
pub use host::{Checkpoint, CheckpointSlot, TrainingHost};
pub use parallel::{
    GradientPeer, GradientReplica, PeerGradients, PeerSetup, PeerStep, combine_gradients,
    flat_gradients, flat_weights, parameter_count, part_gradients,
};
pub use probe::measure_step_ms;
pub use record::{ResumeState, RunRecord};
pub use trainer::{Start, TrainingData, TrainingError, TrainingOutcome, train};
pub use weighting::{ClassWeighting, Sampling, cross_entropy};
