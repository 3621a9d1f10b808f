//! The page's state, split by step, and [`reduce`], the one function that changes it.
//!
//! Why split: the engine sends one message per training batch, and a reducer that copies the
//! whole state on each would copy every pixel buffer the page holds (data samples,
//! misclassified images, predictions, heatmap) several times a second. Each step's part sits
//! behind its own `Rc`; [`reduce`] takes a part mutably (`Rc::make_mut`) only when the action
//! changes it, so a batch copies the small training part and shares everything else with the
//! previous state. Each part's changes are plain methods on plain data (no Yew, no DOM),
//! tested natively like yew's `function_todomvc` example tests its state; the `web` module's `state`
//! makes [`reduce`] Yew's `Reducible`.

pub mod cross_validation;
pub mod data;
pub mod evaluate;
pub mod notices;
pub mod predict;
pub mod train;

use crate::page::protocol::Level;
use std::rc::Rc;

pub use cross_validation::{CrossValidationState, DEFAULT_FOLDS};
pub use data::DataState;
pub use evaluate::EvaluateState;
pub use notices::{Notice, NoticeState};
pub use predict::{ExplanationView, PredictState};
pub use train::{
    BatchPoint, Download, EstimateView, TrainState, TrainingStatus, default_training_config,
};

use crate::data::{InputShape, SplitConfig};
use crate::page::protocol::{BackendPreference, ModelSource, Response};
use crate::session::FoldEvent;
use crate::storage::ModelMeta;
use crate::training::{TrainingConfig, TrainingEvent};

/// The four steps of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Load and split a folder.
    Data,
    /// Train.
    Train,
    /// Test-set results.
    Evaluate,
    /// Classify new images.
    Predict,
}

impl Step {
    /// All steps in order.
    pub const ALL: [Step; 4] = [Step::Data, Step::Train, Step::Evaluate, Step::Predict];

    /// Tab label.
    pub fn label(self) -> &'static str {
        match self {
            Step::Data => "1. Data",
            Step::Train => "2. Train",
            Step::Evaluate => "3. Evaluate",
            Step::Predict => "4. Predict",
        }
    }

    /// Id fragment.
    pub fn id(self) -> &'static str {
        match self {
            Step::Data => "data",
            Step::Train => "train",
            Step::Evaluate => "evaluate",
            Step::Predict => "predict",
        }
    }
}

/// The current model.
#[derive(Clone, Debug)]
pub struct ModelInfo {
    /// Its header.
    pub meta: ModelMeta,
    /// Where it came from.
    pub source: ModelSource,
    /// File size.
    pub file_bytes: usize,
}

/// Everything the page shows. Cloning it clones seven pointers and two words.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Bumped by every change (cheap equality for contexts and props).
    pub version: u64,
    /// Visible step.
    pub step: Step,
    /// Current model. Shared by the Train, Evaluate and Predict steps, so in none of them.
    pub model: Option<Rc<ModelInfo>>,
    /// Step 1.
    pub data: Rc<DataState>,
    /// Step 2.
    pub train: Rc<TrainState>,
    /// Step 3.
    pub evaluate: Rc<EvaluateState>,
    /// Step 4.
    pub predict: Rc<PredictState>,
    /// Messages and the engine's status.
    pub notices: Rc<NoticeState>,
}

impl Default for AppState {
    fn default() -> Self {
        Self {
            version: 0,
            step: Step::Data,
            model: None,
            data: Rc::default(),
            train: Rc::default(),
            evaluate: Rc::default(),
            predict: Rc::default(),
            notices: Rc::default(),
        }
    }
}

/// Everything that changes the state.
// Unboxed although `Engine` carries a `Response` (a few hundred bytes): one action at a time
// goes through the reducer, and matching on plain variants keeps it readable.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Action {
    /// New training settings.
    SetTrainConfig(TrainingConfig),
    /// New backend preference.
    SetBackend(BackendPreference),
    /// A message from the worker.
    Engine(Response),
    /// Show a step.
    Show(Step),
    /// A load began.
    LoadStarted,
    /// Training was requested.
    TrainingRequested {
        /// ms timestamp.
        now_ms: f64,
        /// Keep the history (resume).
        resume: bool,
    },
    /// A time estimate of the settings shown was requested.
    EstimateRequested,
    /// Folds of the next cross-validation.
    SetFolds(usize),
    /// Keep (or discard) the fold models of the next cross-validation.
    SetKeepFoldModels(bool),
    /// A cross-validation was requested.
    CrossValidationRequested {
        /// ms timestamp.
        now_ms: f64,
    },
    /// Pause / resume toggled locally (the worker acts at once).
    Paused(bool),
    /// Edit the split settings.
    SetSplit(SplitConfig),
    /// Choose the image shape of the next load.
    SetImageSize(InputShape),
    /// Choose how the next load windows DICOM files.
    SetWindow(crate::data::Window),
    /// Choose which frames of multi-frame DICOM files the next load uses.
    SetFrames(crate::data::Frames),
    /// A message from the page itself.
    Notify {
        /// Level.
        level: Level,
        /// Text.
        message: String,
    },
    /// Close a notice.
    Dismiss(u32),
    /// Close every notice.
    DismissAll,
    /// The worker crashed.
    Crashed(String),
    /// Close the cell gallery.
    CloseCell,
    /// Move the two-class decision threshold.
    SetThreshold(evaluate::Threshold),
}

/// The state after `action`. Parts the action does not change are shared with `state`.
pub fn reduce(mut state: AppState, action: Action) -> AppState {
    state.version += 1;
    match action {
        Action::SetTrainConfig(config) => {
            let train = Rc::make_mut(&mut state.train);
            let preference = train.backend_preference;
            train.settings_changed(config, preference);
        }
        Action::SetBackend(preference) => {
            let train = Rc::make_mut(&mut state.train);
            let config = train.train_config.clone();
            train.settings_changed(config, preference);
        }
        Action::EstimateRequested => {
            Rc::make_mut(&mut state.train).estimate = EstimateView::Measuring
        }
        Action::Engine(response) => on_engine(&mut state, response),
        Action::Show(step) => state.step = step,
        Action::LoadStarted => Rc::make_mut(&mut state.data).started(),
        Action::TrainingRequested { now_ms, resume } => {
            let train = Rc::make_mut(&mut state.train);
            train.requested(now_ms, resume);
            train.cross_validation.last_run = false;
        }
        Action::SetFolds(folds) => Rc::make_mut(&mut state.train).cross_validation.folds = folds,
        Action::SetKeepFoldModels(keep) => {
            Rc::make_mut(&mut state.train).cross_validation.keep_models = keep
        }
        Action::CrossValidationRequested { now_ms } => {
            let train = Rc::make_mut(&mut state.train);
            train.requested(now_ms, false);
            train.cross_validation.requested();
        }
        Action::Paused(paused) => Rc::make_mut(&mut state.train).paused(paused),
        Action::SetSplit(config) => Rc::make_mut(&mut state.data).split_config = config,
        Action::SetImageSize(shape) => Rc::make_mut(&mut state.data).shape = shape,
        Action::SetWindow(window) => Rc::make_mut(&mut state.data).dicom.window = window,
        Action::SetFrames(frames) => Rc::make_mut(&mut state.data).dicom.frames = frames,
        Action::Notify { level, message } => state.notify(level, message),
        Action::Dismiss(id) => Rc::make_mut(&mut state.notices).dismiss(id),
        Action::DismissAll => Rc::make_mut(&mut state.notices).dismiss_all(),
        Action::Crashed(message) => {
            Rc::make_mut(&mut state.train).crashed();
            Rc::make_mut(&mut state.data).lost();
            Rc::make_mut(&mut state.predict).lost();
            Rc::make_mut(&mut state.notices).crashed(message);
        }
        Action::CloseCell => Rc::make_mut(&mut state.evaluate).close_cell(),
        Action::SetThreshold(t) => Rc::make_mut(&mut state.evaluate).set_threshold(t),
    }
    state
}

impl AppState {
    /// The epoch a *Resume* would continue after: the current model's resume point, unless
    /// the loaded data has other classes (a model for another data set, such as the ready
    /// MedNIST model beside a loaded `.npz`, can only be refused). With no data loaded yet it
    /// is offered, as after a reload, and the Train step keeps it disabled until data comes.
    pub fn resumable_after(&self) -> Option<usize> {
        let model = self.model.as_ref()?;
        let epochs = model.meta.resume.as_ref()?.epochs_completed;
        let fits = self.data.loaded.as_ref().is_none_or(|data| {
            let classes = data.report.classes.iter().map(|c| c.name.as_str());
            classes.eq(model.meta.classes.iter().map(String::as_str))
        });
        fits.then_some(epochs)
    }

    fn notify(&mut self, level: Level, message: String) {
        Rc::make_mut(&mut self.notices).notify(level, message);
    }
}

/// An event of a training run: words for people go to the notices (a notice changes nothing
/// else, so the training part stays as it was), the rest to the training part; a lost replica
/// to both.
fn on_training(state: &mut AppState, event: TrainingEvent) {
    match event {
        TrainingEvent::Notice { message } => state.notify(Level::Warning, message),
        TrainingEvent::HeadTrained { message } => state.notify(Level::Info, message),
        TrainingEvent::ReplicaLost { message } => {
            state.notify(Level::Warning, message.clone());
            let lost = TrainingEvent::ReplicaLost { message };
            Rc::make_mut(&mut state.train).on_event(lost);
        }
        event => Rc::make_mut(&mut state.train).on_event(event),
    }
}

/// A message from the engine: each answer changes the parts it concerns, nothing else.
fn on_engine(state: &mut AppState, response: Response) {
    match response {
        Response::Booted | Response::ManifestCsv { .. } | Response::ModelFile { .. } => {}
        Response::Ready { gpu } => Rc::make_mut(&mut state.notices).ready(gpu),
        Response::GpuLost => Rc::make_mut(&mut state.notices).gpu_lost(),
        Response::LoadProgress {
            done,
            total,
            elapsed_ms,
        } => Rc::make_mut(&mut state.data).progress(done, total, elapsed_ms),
        Response::Loaded { data, split } => {
            let train = Rc::make_mut(&mut state.train);
            train.engine_memory = data.wasm_memory_bytes;
            train.estimate = EstimateView::None;
            for (level, message) in Rc::make_mut(&mut state.data).loaded(data, split) {
                state.notify(level, message);
            }
            // Nothing of the last assessment applies to new data (replaced, not copied).
            state.evaluate = Rc::default();
        }
        Response::LoadStopped { message } => {
            Rc::make_mut(&mut state.data).stopped();
            state.notify(Level::Warning, message);
        }
        Response::SplitChanged { split } => {
            Rc::make_mut(&mut state.train).estimate = EstimateView::None;
            if let Some(error) = Rc::make_mut(&mut state.data).split_changed(split) {
                state.notify(Level::Warning, error);
            }
        }
        Response::Download {
            what,
            received,
            total,
        } => {
            Rc::make_mut(&mut state.train).download = (received < total).then_some(Download {
                what,
                received,
                total,
            })
        }
        Response::BackendChosen { backend, reason } => {
            Rc::make_mut(&mut state.train).backend_in_use = Some((backend, reason))
        }
        Response::Estimated {
            estimate,
            backend,
            replicas,
        } => Rc::make_mut(&mut state.train).estimated(Ok((*estimate, backend, replicas))),
        Response::EstimateFailed { message } => {
            Rc::make_mut(&mut state.train).estimated(Err(message))
        }
        Response::Training { event } => on_training(state, event),
        Response::TrainingDone {
            assessment,
            misclassified,
            wasm_memory_bytes,
        } => {
            Rc::make_mut(&mut state.train).done(wasm_memory_bytes);
            Rc::make_mut(&mut state.evaluate).assessed(*assessment, misclassified);
        }
        Response::Fold { event } => {
            let train = Rc::make_mut(&mut state.train);
            if matches!(event, FoldEvent::Started { .. }) {
                train.callback_log.clear();
            }
            train.cross_validation.on_fold(event);
        }
        Response::CrossValidated { summary, kept } => {
            let train = Rc::make_mut(&mut state.train);
            train.status = TrainingStatus::Done;
            let message = summary.describe();
            train.cross_validation.done(*summary, kept);
            state.notify(Level::Info, format!("cross-validation finished: {message}"));
        }
        Response::TrainingFailed { message } => {
            Rc::make_mut(&mut state.train).failed();
            state.notify(Level::Error, message);
        }
        Response::TrainingRefused { message } => {
            Rc::make_mut(&mut state.train).refused();
            state.notify(Level::Error, message);
        }
        Response::TrainingStopped { message } => {
            Rc::make_mut(&mut state.train).stopped_before_an_epoch();
            state.notify(Level::Info, message);
        }
        Response::Images { purpose, images } => {
            if let Some(cell) = evaluate::cell_of(&purpose) {
                Rc::make_mut(&mut state.evaluate).show_cell(cell, images);
            }
        }
        Response::PredictProgress { done, total } => {
            Rc::make_mut(&mut state.predict).predicting(done, total)
        }
        Response::Predictions { results } => Rc::make_mut(&mut state.predict).predicted(results),
        Response::Explanation {
            target,
            heatmap,
            pixels,
        } => Rc::make_mut(&mut state.predict).explained(target, heatmap, pixels),
        Response::ModelReady {
            meta,
            source,
            file_bytes,
        } => model_ready(state, *meta, source, file_bytes),
        Response::ModelRejected { message } => state.notify(Level::Error, message),
        Response::Notice { level, message } => state.notify(level, message),
    }
}

/// A model became current: a loaded one shows its own history and is named; a trained one
/// withdraws the name of the model before it (the Train step shows the run).
fn model_ready(state: &mut AppState, meta: ModelMeta, source: ModelSource, file_bytes: usize) {
    let message = model_notice(&meta, source);
    if message.is_some() {
        Rc::make_mut(&mut state.train).show_history(&meta);
    }
    if message.is_some() || state.notices.says_current_model() {
        Rc::make_mut(&mut state.notices).current_model(message);
    }
    state.model = Some(Rc::new(ModelInfo {
        meta,
        source,
        file_bytes,
    }));
}

/// What the page says when a model it did not just train becomes current (`None` for one it
/// trained: the Train step already shows that).
fn model_notice(meta: &ModelMeta, source: ModelSource) -> Option<String> {
    let what = match source {
        ModelSource::Trained => return None,
        ModelSource::Bundled => "the ready model (trained on the full MedNIST)",
        ModelSource::Saved => "the model saved in this browser",
        ModelSource::File => "the model file",
    };
    Some(format!(
        "using {what}: {} preset, {} classes",
        meta.model.preset(),
        meta.classes.len()
    ))
}

#[cfg(test)]
mod tests;
