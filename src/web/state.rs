//! The page's single state, changed only by [`Action`]s (a reducer).

use std::rc::Rc;

use yew::Reducible;

use crate::data::SplitConfig;
use crate::evaluation::Assessment;
use crate::storage::ModelMeta;
use crate::training::{
    BatchMetrics, CallbackEvent, EpochMetrics, StopReason, TrainingConfig, TrainingEvent,
};
use crate::web::protocol::{
    BackendPreference, DataView, ExplainTarget, GpuReport, ModelSource, PredictionRow, Response,
    SampleImage, SplitView,
};

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

/// Training status as the `training-status` hook shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainingStatus {
    /// Nothing running.
    Idle,
    /// Choosing the backend / starting.
    Loading,
    /// Batches running.
    Running,
    /// Paused between batches.
    Paused,
    /// Finished with a model.
    Done,
    /// Failed.
    Error,
}

impl TrainingStatus {
    /// The text shown (`idle`, `loading`, `running`, `paused`, `done`, `error`).
    pub fn text(self) -> &'static str {
        match self {
            TrainingStatus::Idle => "idle",
            TrainingStatus::Loading => "loading",
            TrainingStatus::Running => "running",
            TrainingStatus::Paused => "paused",
            TrainingStatus::Done => "done",
            TrainingStatus::Error => "error",
        }
    }
}

/// A message for the user.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    /// Unique id.
    pub id: u32,
    /// `info`, `warning` or `error`.
    pub level: String,
    /// Text.
    pub message: String,
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

/// One point of the per-batch loss curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchPoint {
    /// Position in epochs (e.g. 1.5 = half-way through epoch 2).
    pub x: f64,
    /// Loss.
    pub loss: f64,
}

/// A heatmap to show.
#[derive(Clone, Debug, PartialEq)]
pub struct ExplanationView {
    /// What.
    pub target: ExplainTarget,
    /// Values 0..1.
    pub heatmap: crate::evaluation::Heatmap,
    /// Image.
    pub pixels: Vec<u8>,
}

/// Everything the page shows.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Bumped by every change (cheap equality for contexts and props).
    pub version: u64,
    /// Training settings being edited.
    pub train_config: TrainingConfig,
    /// Backend wanted for training.
    pub backend_preference: BackendPreference,
    /// Visible step.
    pub step: Step,
    /// The worker answered.
    pub engine_ready: bool,
    /// The worker died.
    pub engine_crashed: Option<String>,
    /// WebGPU adapter.
    pub gpu: Option<GpuReport>,
    /// Messages.
    pub notices: Vec<Notice>,
    next_notice: u32,
    /// Load in progress: (done, total, elapsed ms).
    pub loading: Option<(usize, usize, f64)>,
    /// Loaded data.
    pub data: Option<Rc<DataView>>,
    /// Current split.
    pub split: Option<SplitView>,
    /// Split settings being edited.
    pub split_config: SplitConfig,
    /// Image size chosen.
    pub image_size: u32,
    /// Training status.
    pub status: TrainingStatus,
    /// Backend in use and why.
    pub backend_in_use: Option<(String, String)>,
    /// Replicas computing each batch in the current run (2 when CPU training uses a second
    /// core through the training helper).
    pub replicas: usize,
    /// Per-epoch history (of the current run, or of the current model).
    pub epochs: Vec<EpochMetrics>,
    /// Per-batch losses.
    pub batches: Vec<BatchPoint>,
    /// Last batch report.
    pub last_batch: Option<BatchMetrics>,
    /// Callback events.
    pub callback_log: Vec<CallbackEvent>,
    /// First and last epoch of the run, batches per epoch.
    pub run_plan: Option<(usize, usize, usize)>,
    /// When the run started (ms).
    pub run_started_ms: f64,
    /// Why training stopped.
    pub stop_reason: Option<StopReason>,
    /// Test assessment.
    pub assessment: Option<Rc<Assessment>>,
    /// Misclassified test images.
    pub misclassified: Vec<SampleImage>,
    /// Images of a clicked confusion-matrix cell: (true, predicted, images).
    pub cell_images: Option<(usize, usize, Vec<SampleImage>)>,
    /// Current model.
    pub model: Option<Rc<ModelInfo>>,
    /// Predict results.
    pub predictions: Vec<PredictionRow>,
    /// Heatmap on screen.
    pub explanation: Option<ExplanationView>,
    /// The engine's WebAssembly memory at the last report, bytes.
    pub engine_memory: f64,
}

impl Default for AppState {
    fn default() -> Self {
        Self {
            version: 0,
            train_config: default_training_config(),
            backend_preference: BackendPreference::Auto,
            step: Step::Data,
            engine_ready: false,
            engine_crashed: None,
            gpu: None,
            notices: Vec::new(),
            next_notice: 1,
            loading: None,
            data: None,
            split: None,
            split_config: SplitConfig::default(),
            image_size: 32,
            status: TrainingStatus::Idle,
            backend_in_use: None,
            replicas: 1,
            epochs: Vec::new(),
            batches: Vec::new(),
            last_batch: None,
            callback_log: Vec::new(),
            run_plan: None,
            run_started_ms: 0.0,
            stop_reason: None,
            assessment: None,
            misclassified: Vec::new(),
            cell_images: None,
            model: None,
            predictions: Vec::new(),
            explanation: None,
            engine_memory: 0.0,
        }
    }
}

/// The page's default training settings: the reference network, Adam 1e-3, batch 64, a few
/// epochs, all three callbacks on.
pub fn default_training_config() -> TrainingConfig {
    TrainingConfig {
        epochs: 5,
        ..TrainingConfig::default()
    }
}

/// Everything that changes the state.
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
    /// Pause / resume toggled locally (the worker acts at once).
    Paused(bool),
    /// Edit the split settings.
    SetSplit(SplitConfig),
    /// Choose the image size.
    SetImageSize(u32),
    /// A message from the page itself.
    Notify {
        /// Level.
        level: String,
        /// Text.
        message: String,
    },
    /// Close a notice.
    Dismiss(u32),
    /// The worker crashed.
    Crashed(String),
    /// Close the cell gallery.
    CloseCell,
}

impl AppState {
    fn notify(&mut self, level: &str, message: String) {
        // Repeated messages are shown once.
        self.notices.retain(|n| n.message != message);
        self.notices.push(Notice {
            id: self.next_notice,
            level: level.to_string(),
            message,
        });
        self.next_notice += 1;
        if self.notices.len() > 6 {
            self.notices.remove(0);
        }
    }

    fn on_training(&mut self, event: TrainingEvent) {
        match event {
            TrainingEvent::Started {
                first_epoch,
                epochs,
                batches,
                replicas,
                ..
            } => {
                self.replicas = replicas;
                self.status = TrainingStatus::Running;
                self.run_plan = Some((first_epoch, epochs, batches));
                self.epochs.retain(|e| e.epoch < first_epoch);
                self.batches.retain(|b| b.x <= (first_epoch - 1) as f64);
            }
            TrainingEvent::Batch(batch) => {
                if self.status != TrainingStatus::Paused {
                    self.status = TrainingStatus::Running;
                }
                self.batches.push(BatchPoint {
                    x: (batch.epoch - 1) as f64 + batch.batch as f64 / batch.batches.max(1) as f64,
                    loss: batch.loss,
                });
                self.last_batch = Some(batch);
            }
            TrainingEvent::Epoch(epoch) => {
                self.epochs.retain(|e| e.epoch != epoch.epoch);
                self.epochs.push(epoch);
            }
            TrainingEvent::Callback(event) => {
                self.callback_log.push(event);
            }
            TrainingEvent::Notice { message } => self.notify("warning", message),
            TrainingEvent::Finished { reason, .. } => {
                self.stop_reason = Some(reason);
            }
        }
    }

    fn on_engine(&mut self, response: Response) {
        match response {
            Response::Booted => {}
            Response::Ready { gpu } => {
                self.engine_ready = true;
                self.gpu = Some(gpu);
            }
            Response::LoadProgress {
                done,
                total,
                elapsed_ms,
            } => self.loading = Some((done, total, elapsed_ms)),
            Response::Loaded { data, split } => {
                self.loading = None;
                self.engine_memory = data.wasm_memory_bytes;
                self.image_size = data.image_size;
                self.split_config = split.config.clone();
                if let Some(error) = &split.error {
                    self.notify("warning", error.clone());
                }
                if data.images > 0 {
                    self.notify(
                        "info",
                        format!(
                            "loaded {} images in {} classes ({} files skipped) in {:.1} s",
                            data.images,
                            data.classes.len(),
                            data.skipped.len(),
                            data.seconds
                        ),
                    );
                }
                self.data = Some(Rc::new(data));
                self.split = Some(split);
                self.assessment = None;
                self.misclassified.clear();
                self.cell_images = None;
            }
            Response::LoadStopped { message } => {
                self.loading = None;
                self.notify("warning", message);
            }
            Response::SplitChanged { split } => {
                if let Some(error) = &split.error {
                    self.notify("warning", error.clone());
                }
                self.split_config = split.config.clone();
                self.split = Some(split);
            }
            Response::ManifestCsv { .. } | Response::ModelFile { .. } => {}
            Response::BackendChosen { backend, reason } => {
                self.backend_in_use = Some((backend, reason))
            }
            Response::Training { event } => self.on_training(event),
            Response::TrainingDone {
                assessment,
                misclassified,
                wasm_memory_bytes,
            } => {
                self.engine_memory = wasm_memory_bytes;
                self.status = TrainingStatus::Done;
                self.assessment = Some(Rc::new(*assessment));
                self.misclassified = misclassified;
                self.cell_images = None;
            }
            Response::TrainingFailed { message } => {
                self.status = TrainingStatus::Error;
                self.notify("error", message);
            }
            Response::Images { purpose, images } => {
                if let Some(rest) = purpose.strip_prefix("cell:") {
                    let mut parts = rest.split(',').filter_map(|p| p.parse::<usize>().ok());
                    if let (Some(t), Some(p)) = (parts.next(), parts.next()) {
                        self.cell_images = Some((t, p, images));
                    }
                }
            }
            Response::Predictions { results } => {
                self.predictions = results;
                self.explanation = None;
            }
            Response::Explanation {
                target,
                heatmap,
                pixels,
            } => {
                self.explanation = Some(ExplanationView {
                    target,
                    heatmap,
                    pixels,
                })
            }
            Response::ModelReady {
                meta,
                source,
                file_bytes,
            } => {
                if source != ModelSource::Trained {
                    // Show the loaded model's own history.
                    self.epochs = meta.history.clone();
                    self.callback_log = meta.callback_events.clone();
                    self.batches.clear();
                    self.last_batch = None;
                    let what = match source {
                        ModelSource::Bundled => "the ready model (trained on the full MedNIST)",
                        ModelSource::Saved => "the model saved in this browser",
                        _ => "the model file",
                    };
                    self.notify(
                        "info",
                        format!(
                            "using {what}: {} preset, {} classes",
                            meta.model.preset(),
                            meta.classes.len()
                        ),
                    );
                }
                self.model = Some(Rc::new(ModelInfo {
                    meta: *meta,
                    source,
                    file_bytes,
                }));
            }
            Response::ModelRejected { message } => self.notify("error", message),
            Response::Notice { level, message } => self.notify(&level, message),
        }
    }
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut state = Rc::unwrap_or_clone(self);
        state.version += 1;
        match action {
            Action::SetTrainConfig(config) => state.train_config = config,
            Action::SetBackend(preference) => state.backend_preference = preference,
            Action::Engine(response) => state.on_engine(response),
            Action::Show(step) => state.step = step,
            Action::LoadStarted => state.loading = Some((0, 0, 0.0)),
            Action::TrainingRequested { now_ms, resume } => {
                state.status = TrainingStatus::Loading;
                state.run_started_ms = now_ms;
                state.stop_reason = None;
                state.last_batch = None;
                state.backend_in_use = None;
                if !resume {
                    state.epochs.clear();
                    state.batches.clear();
                    state.callback_log.clear();
                }
            }
            Action::Paused(paused) => {
                if paused && state.status == TrainingStatus::Running {
                    state.status = TrainingStatus::Paused;
                } else if !paused && state.status == TrainingStatus::Paused {
                    state.status = TrainingStatus::Running;
                }
            }
            Action::SetSplit(config) => state.split_config = config,
            Action::SetImageSize(size) => state.image_size = size,
            Action::Notify { level, message } => state.notify(&level, message),
            Action::Dismiss(id) => state.notices.retain(|n| n.id != id),
            Action::Crashed(message) => {
                state.engine_crashed = Some(message.clone());
                if matches!(
                    state.status,
                    TrainingStatus::Running | TrainingStatus::Paused | TrainingStatus::Loading
                ) {
                    state.status = TrainingStatus::Error;
                }
                state.loading = None;
                state.notify("error", message);
            }
            Action::CloseCell => state.cell_images = None,
        }
        Rc::new(state)
    }
}
