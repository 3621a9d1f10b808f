//! Training: the loop, its settings, its events and the Keras-style callbacks.
//!
//! [`train`] is the loop in one screen; [`epoch`] holds a training and a validation epoch,
//! `step` one optimiser step (with the optional second replica), `epoch_end` the callback chain
//! and `run` the state between steps. Nothing here knows about files: the host receives
//! checkpoints as values ([`Checkpoint`]).

mod adapt_norm;
mod auc;
mod callbacks;
mod config;
pub mod epoch;
mod epoch_end;
mod epochs;
mod error;
mod estimate;
mod events;
mod features;
mod head_first;
mod host;
mod inputs;
mod loss;
mod micro_batch;
mod norm_momentum;
mod parallel;
mod probe;
mod record;
mod run;
mod shared_pass;
mod step;
mod trainer;
mod weighting;

pub use adapt_norm::ADAPT_IMAGES;
pub use callbacks::*;
pub use config::{AdamSettings, MAX_BATCH_SIZE, TrainingConfig};
pub use epoch::{EVAL_BATCH, score};
pub use error::TrainingError;
pub use estimate::{EstimatePart, Rates, RunEstimate, Workload, duration_text, estimate};
pub use events::{BatchMetrics, CallbackEvent, EpochMetrics, StopReason, TrainingEvent};
pub use features::FeatureCache;
pub use host::{Checkpoint, CheckpointSink, CheckpointSlot, NoCheckpoints, TrainingHost};
pub use inputs::Inputs;
pub use micro_batch::{PART_BUDGET, merge as merge_parts, part_size};
pub use parallel::{
    FeatureStep, GradientPeer, GradientReplica, PassOutput, PeerGradients, PeerSetup, PeerStep,
    combine_gradients, flat_gradients, flat_weights, parameter_count, part_gradients,
};
pub use probe::measure_step_ms;
pub use record::{ResumeState, RunRecord};
pub use run::{Start, TrainingData, TrainingOutcome};
pub use shared_pass::{Share, SharedPass};
pub use trainer::train;
pub use weighting::{ClassWeighting, Sampling, cross_entropy};
