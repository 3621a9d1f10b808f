//! Step 2's state: the settings being edited, the run's status and history. It holds no
//! image, so the page can afford to copy it on every training event (one per batch).

use super::CrossValidationState;
use crate::page::protocol::BackendPreference;
use crate::storage::ModelMeta;
use crate::training::{
    BatchMetrics, CallbackEvent, EpochMetrics, RunEstimate, StopReason, TrainingConfig,
    TrainingEvent,
};

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

    /// A run is under way (starting, running or paused).
    pub fn active(self) -> bool {
        matches!(
            self,
            TrainingStatus::Running | TrainingStatus::Paused | TrainingStatus::Loading
        )
    }
}

/// One point of the per-batch loss curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchPoint {
    /// Position in epochs (e.g. 1.5 = half-way through epoch 2).
    pub x: f64,
    /// Loss.
    pub loss: f64,
}

/// A download the run waits for (a pretrained backbone's weights).
#[derive(Clone, Debug, PartialEq)]
pub struct Download {
    /// What is downloaded, for people.
    pub what: String,
    /// Bytes received so far.
    pub received: u64,
    /// Bytes in all.
    pub total: u64,
}

/// The time estimate of the settings shown (`Job::Estimate`): stale, and dropped, once a
/// setting, the backend or the data changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum EstimateView {
    /// None asked for since the settings last changed.
    #[default]
    None,
    /// The engine is timing the run's first batches.
    Measuring,
    /// The estimate, on the device the run would use.
    Ready {
        /// About how long, and its parts.
        estimate: Box<RunEstimate>,
        /// `WebGPU` or `CPU`.
        backend: String,
        /// Replicas computing each batch.
        replicas: usize,
    },
    /// Why there is none.
    Failed(String),
}

/// The page's default training settings: the reference network, Adam 1e-3, batch 64, a few
/// epochs, all three callbacks on.
pub fn default_training_config() -> TrainingConfig {
    TrainingConfig {
        epochs: 5,
        ..TrainingConfig::default()
    }
}

/// What the Train step shows.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    /// Training settings being edited.
    pub train_config: TrainingConfig,
    /// Backend wanted for training.
    pub backend_preference: BackendPreference,
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
    /// The engine's WebAssembly memory at the last report (after a load or a run), bytes.
    pub engine_memory: f64,
    /// The cross-validation panel.
    pub cross_validation: CrossValidationState,
    /// A download the run is waiting for, until it completes.
    pub download: Option<Download>,
    /// Images whose frozen-backbone features are computed, how many in all, and the seconds
    /// so far (a head-only run on cached features, before its first epoch).
    pub features: Option<(usize, usize, f64)>,
    /// About how long a run with these settings would take.
    pub estimate: EstimateView,
    /// What the step showed before the last request, until its run starts: a request the engine
    /// refuses before anything runs puts it back.
    pub before_request: Option<Box<TrainState>>,
}

impl Default for TrainState {
    fn default() -> Self {
        Self {
            train_config: default_training_config(),
            backend_preference: BackendPreference::Auto,
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
            engine_memory: 0.0,
            cross_validation: CrossValidationState::default(),
            download: None,
            features: None,
            estimate: EstimateView::None,
            before_request: None,
        }
    }
}

impl TrainState {
    /// The user asked for a run; a new run (not a resume) starts with an empty history.
    pub fn requested(&mut self, now_ms: f64, resume: bool) {
        let mut before = self.clone();
        before.before_request = None;
        self.before_request = Some(Box::new(before));
        self.status = TrainingStatus::Loading;
        self.run_started_ms = now_ms;
        self.stop_reason = None;
        self.last_batch = None;
        self.backend_in_use = None;
        self.download = None;
        self.features = None;
        if !resume {
            self.epochs.clear();
            self.batches.clear();
            self.callback_log.clear();
        }
    }

    /// Pause toggled on the page (the worker acts at once); only a running run pauses.
    pub fn paused(&mut self, paused: bool) {
        if paused && self.status == TrainingStatus::Running {
            self.status = TrainingStatus::Paused;
        } else if !paused && self.status == TrainingStatus::Paused {
            self.status = TrainingStatus::Running;
        }
    }

    /// One event of the run. A [`TrainingEvent::Notice`] changes nothing here: its text is
    /// shown by the notices part.
    pub fn on_event(&mut self, event: TrainingEvent) {
        match event {
            TrainingEvent::Started {
                first_epoch,
                epochs,
                batches,
                replicas,
                ..
            } => {
                self.before_request = None;
                self.download = None;
                self.replicas = replicas;
                self.status = TrainingStatus::Running;
                self.run_plan = Some((first_epoch, epochs, batches));
                // A resumed run redraws from its first epoch on.
                self.epochs.retain(|e| e.epoch < first_epoch);
                self.batches.retain(|b| b.x <= (first_epoch - 1) as f64);
            }
            TrainingEvent::Batch(batch) => {
                self.features = None;
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
            TrainingEvent::Callback(event) => self.callback_log.push(event),
            TrainingEvent::Features {
                done,
                total,
                seconds,
            } => self.features = (done < total).then_some((done, total, seconds)),
            // Its text goes to the notices (`state::on_training`); the run now trains on one.
            TrainingEvent::ReplicaLost { .. } => self.replicas = 1,
            TrainingEvent::Notice { .. } | TrainingEvent::HeadTrained { .. } => {}
            TrainingEvent::Finished { reason, .. } => self.stop_reason = Some(reason),
        }
    }

    /// The run ended and the model was assessed.
    pub fn done(&mut self, wasm_memory_bytes: f64) {
        self.engine_memory = wasm_memory_bytes;
        self.status = TrainingStatus::Done;
    }

    /// The run could not start or broke.
    pub fn failed(&mut self) {
        self.before_request = None;
        self.download = None;
        self.features = None;
        self.status = TrainingStatus::Error;
        self.cross_validation.failed();
    }

    /// The user stopped the run before its first epoch ended: nothing was trained, nothing
    /// is kept; back to idle (the model the page had, if any, stays).
    pub fn stopped_before_an_epoch(&mut self) {
        self.before_request = None;
        self.download = None;
        self.features = None;
        self.last_batch = None;
        self.status = TrainingStatus::Idle;
    }

    /// The engine refused the request before anything ran (no data, no checkpoint, settings or
    /// a checkpoint that do not fit the data): the step shows what it showed before, with the
    /// settings as they are now.
    pub fn refused(&mut self) {
        let Some(before) = self.before_request.take() else {
            return self.failed();
        };
        let (config, preference) = (self.train_config.clone(), self.backend_preference);
        *self = *before;
        self.train_config = config;
        self.backend_preference = preference;
    }

    /// New settings or backend: an estimate made for the old ones no longer applies.
    pub fn settings_changed(&mut self, config: TrainingConfig, preference: BackendPreference) {
        if config != self.train_config || preference != self.backend_preference {
            self.estimate = EstimateView::None;
        }
        self.train_config = config;
        self.backend_preference = preference;
    }

    /// The engine's answer to an estimate request.
    pub fn estimated(&mut self, answer: Result<(RunEstimate, String, usize), String>) {
        self.estimate = match answer {
            Ok((estimate, backend, replicas)) => EstimateView::Ready {
                estimate: Box::new(estimate),
                backend,
                replicas,
            },
            Err(message) => EstimateView::Failed(message),
        };
    }

    /// The engine died: a run under way is lost.
    pub fn crashed(&mut self) {
        if self.estimate == EstimateView::Measuring {
            self.estimate = EstimateView::Failed("the engine stopped".into());
        }
        if self.status.active() {
            self.status = TrainingStatus::Error;
        }
        self.cross_validation.failed();
    }

    /// A model that was not trained here arrived: show its own history instead.
    pub fn show_history(&mut self, meta: &ModelMeta) {
        self.epochs = meta.history.clone();
        self.callback_log = meta.callback_events.clone();
        self.batches.clear();
        self.last_batch = None;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The report of batch `batch` (1-based) of `batches` in `epoch`.
    pub(crate) fn batch(epoch: usize, batch: usize, batches: usize) -> TrainingEvent {
        TrainingEvent::Batch(BatchMetrics {
            epoch,
            batch,
            batches,
            loss: 1.0 / batch as f64,
            accuracy: 0.5,
            learning_rate: 1e-3,
            images_per_second: 100.0,
        })
    }

    pub(crate) fn epoch(epoch: usize) -> EpochMetrics {
        EpochMetrics {
            epoch,
            loss: 0.5,
            accuracy: 0.8,
            val_loss: 0.6,
            val_accuracy: 0.7,
            val_auc: None,
            learning_rate: 1e-3,
            seconds: 1.0,
            train_seconds: 0.9,
            images_per_second: 100.0,
        }
    }

    fn started(first_epoch: usize) -> TrainingEvent {
        TrainingEvent::Started {
            first_epoch,
            epochs: 3,
            batches: 2,
            train_images: 100,
            validation_images: 20,
            parameters: 1000,
            replicas: 2,
        }
    }

    #[test]
    fn a_run_goes_from_loading_to_done_with_its_history() {
        let mut state = TrainState::default();
        state.requested(10.0, false);
        assert_eq!(state.status, TrainingStatus::Loading);
        state.on_event(started(1));
        assert_eq!(state.status, TrainingStatus::Running);
        assert_eq!((state.run_plan, state.replicas), (Some((1, 3, 2)), 2));
        state.on_event(batch(1, 1, 2));
        state.on_event(batch(1, 2, 2));
        assert_eq!(
            state.batches,
            [
                BatchPoint { x: 0.5, loss: 1.0 },
                BatchPoint { x: 1.0, loss: 0.5 }
            ]
        );
        state.on_event(TrainingEvent::Epoch(epoch(1)));
        state.on_event(TrainingEvent::Epoch(epoch(1)));
        assert_eq!(
            state.epochs.len(),
            1,
            "an epoch reported twice is kept once"
        );
        state.on_event(TrainingEvent::Finished {
            reason: StopReason::Completed,
            epochs_completed: 1,
            weights_from_epoch: 1,
        });
        state.done(2e6);
        assert_eq!(state.status, TrainingStatus::Done);
        assert_eq!(state.stop_reason, Some(StopReason::Completed));
        assert_eq!(state.engine_memory, 2e6);
    }

    #[test]
    fn a_refused_request_leaves_the_finished_run_as_it_was() {
        let mut state = TrainState::default();
        state.requested(0.0, false);
        state.on_event(started(1));
        state.on_event(batch(1, 1, 2));
        state.on_event(TrainingEvent::Epoch(epoch(1)));
        state.done(1e6);
        let finished = state.clone();
        for resume in [true, false] {
            state.requested(5.0, resume);
            assert_eq!(state.status, TrainingStatus::Loading);
            state.train_config.epochs = 9;
            state.refused();
            assert_eq!(state.status, TrainingStatus::Done, "not ERROR: nothing ran");
            assert_eq!(
                (&state.epochs, &state.batches),
                (&finished.epochs, &finished.batches)
            );
            assert_eq!(state.train_config.epochs, 9, "the settings stay as edited");
            state.train_config = finished.train_config.clone();
            assert_eq!(state, finished);
        }
        // Once a run has started, a failure is an error.
        state.requested(6.0, false);
        state.on_event(started(1));
        state.refused();
        assert_eq!(state.status, TrainingStatus::Error);
    }

    #[test]
    fn pause_holds_across_batches_and_resume_keeps_earlier_epochs() {
        let mut state = TrainState::default();
        state.paused(true);
        assert_eq!(state.status, TrainingStatus::Idle, "nothing to pause");
        state.requested(0.0, false);
        state.on_event(started(1));
        state.paused(true);
        state.on_event(batch(1, 1, 2));
        assert_eq!(state.status, TrainingStatus::Paused);
        state.paused(false);
        assert_eq!(state.status, TrainingStatus::Running);
        state.on_event(batch(1, 2, 2));
        state.on_event(TrainingEvent::Epoch(epoch(1)));
        state.on_event(batch(2, 1, 2));
        state.on_event(TrainingEvent::Epoch(epoch(2)));
        // Resume from epoch 2: epoch 1 and its batches stay, the rest is redrawn.
        state.requested(5.0, true);
        state.on_event(started(2));
        assert_eq!(
            state.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(state.batches.len(), 2);
        state.crashed();
        assert_eq!(state.status, TrainingStatus::Error);
    }
}
