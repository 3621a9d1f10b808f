//! The use cases both front ends call: load or re-split data, import a model, train (with the
//! fall-back to the CPU after a GPU loss and the test-set assessment at the end), evaluate,
//! predict and explain. The page's engine worker and the command line are thin maps from
//! their messages or arguments to these calls, so the flow (and its checks and messages)
//! exists once.
//!
//! Layers, each importing only those before it: data -> model -> training / evaluation ->
//! storage -> session -> front ends (`web`, `native` and the `medclassify` command).

mod compat;
mod cross_validate;
mod data;
mod estimate;
mod model;
mod platform;
mod predict;
mod scoring;
mod train;

pub use compat::{check_model_for_data, check_resume};
pub use cross_validate::{CrossValidated, cross_validate};
pub use data::LoadedData;
pub use estimate::estimate;
pub use model::{CurrentModel, checkpoint_file, model_file};
pub use platform::{FileCheckpoints, FoldEvent, FoldObserver, Platform};
pub use predict::{
    ExplainError, FolderEvaluation, Prediction, decode_for_prediction, evaluate_folder, explain,
    predict, prediction_options, prediction_path, prediction_rows,
};
pub use scoring::{ScoringPeer, assess_shared, score_pixels_shared, score_shared};
pub use train::{
    RunError, STOPPED_BEFORE_AN_EPOCH, Trained, TrainingPlan, plan_training, start_from, start_new,
    train, train_on_split,
};
