//! The engine's model jobs: train, predict, explain, import.

use crate::page::protocol::Level;
use burn::prelude::*;
use futures::future::join;

use super::{Engine, MISCLASSIFIED_SHOWN, sample_image};
use crate::data::DecodeLimits;
use crate::evaluation::ExplainMethod;
use crate::session::{
    CurrentModel, ExplainError, Platform as _, Prediction, RunError, ScoringPeer, TrainingPlan,
    cross_validate, plan_training, predict, prediction_options, prediction_path, prediction_rows,
};
use crate::training::{GradientPeer, PeerSetup, TrainingConfig};
use crate::web::platform::{files, idb, time};
use crate::web::protocol::FileContent;
use crate::web::protocol::{
    BackendPreference, ExplainTarget, InputFile, ModelSource, PredictionRow, Response,
};
use crate::web::worker::host::{FINAL_KEY, WorkerHost};
use crate::web::worker::loader::FewDecoder;
use crate::web::worker::peer::{self, WorkerPeer};

/// Files to predict read and decoded together, at most (by count, and by bytes read: a group
/// ends once it holds this much), so that a long list of large files is never held whole.
const PREDICT_GROUP: usize = 16;
const PREDICT_GROUP_BYTES: usize = 64 << 20;
/// Predict shares its scoring with a replica on the second core when the files left would
/// take longer than this to score alone (as measured on the second group): starting the helper
/// and sending the weights cost a few hundred milliseconds, more than a small network saves.
const PREDICT_SHARE_AFTER_MS: f64 = 2_000.0;
use crate::web::worker::{RunState, notice, post};

/// What a WebGPU error happened during, for its warning.
#[derive(Clone, Copy)]
enum WebGpuJob {
    Training,
    Estimate,
}

impl Engine {
    pub(super) async fn train(
        &mut self,
        config: TrainingConfig,
        preference: BackendPreference,
        resume: bool,
    ) {
        self.controls.run.set(RunState::Running);
        let fail = |message: String| post(&Response::TrainingFailed { message });
        let refuse = |message: String| post(&Response::TrainingRefused { message });
        let plan = match self.plan(config, resume) {
            Ok(plan) => plan,
            Err(error) => return refuse(error),
        };
        if let Some(warning) = &plan.warning {
            notice(Level::Warning, warning.clone());
        }
        let (device, described, mut host) = self.start_run(&plan, preference).await;
        let data = self.data.as_ref().expect("checked above");
        let result = crate::session::train(data, &plan, device, described, &mut host).await;
        if host.gpu_lost {
            self.backends.forget_webgpu();
        }
        let trained = match result {
            Ok(trained) => trained,
            Err(stopped @ RunError::StoppedBeforeAnEpoch) => {
                return post(&Response::TrainingStopped {
                    message: stopped.to_string(),
                });
            }
            Err(RunError::Refused(message)) => return refuse(message),
            Err(RunError::Failed(message)) => return fail(message),
        };
        self.warn_of_webgpu_errors(WebGpuJob::Training);
        self.backends.keep_tuning().await;
        let bytes = trained.file.to_bytes();
        if let Err(error) = idb::put(FINAL_KEY, &bytes).await {
            notice(
                Level::Warning,
                format!("the model could not be saved in this browser: {error}"),
            );
        }
        let misclassified = trained
            .assessment
            .misclassified()
            .into_iter()
            .take(MISCLASSIFIED_SHOWN)
            .map(|p| sample_image(&data.dataset, p.sample))
            .collect();
        post(&Response::ModelReady {
            meta: Box::new(trained.file.meta.clone()),
            source: ModelSource::Trained,
            file_bytes: bytes.len(),
        });
        post(&Response::TrainingDone {
            assessment: Box::new(trained.assessment.clone()),
            misclassified,
            wasm_memory_bytes: crate::web::protocol::wasm_memory_bytes(),
        });
        self.assessment = Some(trained.assessment);
        self.model = Some(CurrentModel {
            model: trained.model,
            file: trained.file,
            device: trained.device,
        });
    }

    /// The checked plan of a run of `config` on the loaded data (from the current model's
    /// resume point when `resume`), or why there can be none.
    fn plan(&self, config: TrainingConfig, resume: bool) -> Result<TrainingPlan, String> {
        let Some(data) = self.data.as_ref() else {
            return Err("load a folder (or the sample data) first".into());
        };
        let resume_file = match (resume, &self.model) {
            (false, _) => None,
            (true, Some(current)) if current.file.meta.resume.is_some() => {
                Some(current.file.clone())
            }
            (true, _) => return Err("there is no checkpoint to resume from".into()),
        };
        plan_training(data, config, resume_file)
    }

    /// About how long `config` would train here (`crate::session::estimate`): on the device
    /// and with the helper a run would get, from the run's first batches; nothing is kept.
    pub(super) async fn estimate(
        &mut self,
        config: TrainingConfig,
        preference: BackendPreference,
        resume: bool,
    ) {
        self.controls.run.set(RunState::Running);
        let failed = |message: String| post(&Response::EstimateFailed { message });
        let plan = match self.plan(config, resume) {
            Ok(plan) => plan,
            Err(error) => return failed(error),
        };
        let (device, backend, _) = self
            .backends
            .choose_device(preference, &plan.network, plan.config.batch_size)
            .await;
        let mut host = self.job_host(preference, &backend).await;
        let replicas = host.replicas();
        let data = self.data.as_ref().expect("planned above");
        let result = crate::session::estimate(data, &plan, device, &mut host).await;
        self.warn_of_webgpu_errors(WebGpuJob::Estimate);
        // A run would go on on the CPU after a GPU loss; an estimate cannot, but the page must
        // not time (or train) on that device again.
        if result.is_err()
            && let Some(reason) = host.device_lost_reason().await
        {
            self.backends.forget_webgpu();
            return failed(format!(
                "the GPU device was lost while this run's first batches were timed (the browser said: {reason}); the page uses the CPU from now on: estimate again to time it"
            ));
        }
        match result {
            Ok(estimate) => post(&Response::Estimated {
                // Timed on one core from where the helper failed, so said as one core's time.
                replicas: match estimate.rates.lost_replica {
                    Some(_) => 1,
                    None => replicas,
                },
                estimate: Box::new(estimate),
                backend,
            }),
            Err(error) => failed(error),
        }
    }

    /// Cross-validates `config` on the loaded data (`crate::session::cross_validate`), with
    /// the same device choice and host as a training run; the fold models are kept for
    /// download only when asked (they are not stored in the browser).
    pub(super) async fn cross_validate(
        &mut self,
        config: TrainingConfig,
        preference: BackendPreference,
        folds: usize,
        keep_models: bool,
    ) {
        self.controls.run.set(RunState::Running);
        self.fold_models.clear();
        let fail = |message: String| post(&Response::TrainingFailed { message });
        let refuse = |message: String| post(&Response::TrainingRefused { message });
        let Some(data) = self.data.as_ref() else {
            return refuse("load a folder (or the sample data) first".into());
        };
        let plan = match plan_training(data, config.clone(), None) {
            Ok(plan) => plan,
            Err(error) => return refuse(error),
        };
        let (device, described, mut host) = self.start_run(&plan, preference).await;
        let data = self.data.as_ref().expect("checked above");
        let result = cross_validate(data, config, folds, device, described, &mut host).await;
        if host.gpu_lost {
            self.backends.forget_webgpu();
        }
        match result {
            Ok(done) => {
                self.warn_of_webgpu_errors(WebGpuJob::Training);
                self.backends.keep_tuning().await;
                if keep_models {
                    self.fold_models = done.files;
                }
                post(&Response::CrossValidated {
                    summary: Box::new(done.summary),
                    kept: keep_models,
                });
            }
            Err(error) => fail(error),
        }
    }

    /// The device for `plan` (said to the page), its description for the model file, and the
    /// host of the run: what a training run and a cross-validation both start with.
    async fn start_run(
        &mut self,
        plan: &crate::session::TrainingPlan,
        preference: BackendPreference,
    ) -> (Device, String, WorkerHost) {
        let (device, backend, reason) = self
            .backends
            .choose_device(preference, &plan.network, plan.config.batch_size)
            .await;
        post(&Response::BackendChosen {
            backend: backend.clone(),
            reason,
        });
        let host = self.job_host(preference, &backend).await;
        // The model card's "trained on": the adapter only where it trained.
        let described = match backend.as_str() {
            "WebGPU" => format!("WebGPU in the browser ({})", self.backends.gpu.adapter()),
            _ => format!("{backend} in the browser"),
        };
        (device, described, host)
    }

    /// A host for a run or an estimate on `backend` (its training helper, its GPU-loss
    /// signal), with the job's own WebGPU error tally started: the warning at its end
    /// (`warn_of_webgpu_errors`) counts that job's errors only, though the page keeps one
    /// device for the tab's life.
    async fn job_host(&self, preference: BackendPreference, backend: &str) -> WorkerHost {
        if let Some(webgpu) = &self.backends.webgpu {
            webgpu.errors.reset();
        }
        let lost = self.backends.webgpu.as_ref().map(|w| w.lost.clone());
        WorkerHost::new(self.controls.clone(), preference, backend, lost).await
    }

    /// The browser build launches no autotune candidates, so any WebGPU error during training
    /// (or the time estimate's first batches) means the adapter refused real work: say so
    /// rather than trust the numbers silently.
    fn warn_of_webgpu_errors(&self, job: WebGpuJob) {
        let Some(webgpu) = &self.backends.webgpu else {
            return;
        };
        if webgpu.errors.count() == 0 {
            return;
        }
        let first = webgpu.errors.first().unwrap_or_default();
        let (during, consequence) = match job {
            WebGpuJob::Training => (
                "training",
                "its results may be wrong; train on the CPU to compare",
            ),
            WebGpuJob::Estimate => (
                "the time estimate",
                "a run on it may give wrong results; estimate or train on the CPU to compare",
            ),
        };
        notice(
            Level::Warning,
            format!(
                "WebGPU reported {} error(s) during {during}, so {consequence}. First message: {}",
                webgpu.errors.count(),
                first.lines().next().unwrap_or_default()
            ),
        );
    }

    /// Classifies `files`, a group at a time: the helper decodes each group while the engine
    /// classifies the one before, and the page hears how many are done after each. Always ends
    /// with `Predictions` (a row that could not be classified says why).
    pub(super) async fn predict(&mut self, files: Vec<InputFile>, backend: BackendPreference) {
        let Some(current) = &self.model else {
            return notice(
                Level::Warning,
                "there is no model yet: train one, load a model file or use the ready model",
            );
        };
        let shape = current.file.meta.shape();
        let options = prediction_options(current.file.meta.window);
        // Read here (each up to the size limit) a group at a time, decoded on a helper: a file
        // that makes a decoder panic stops the helper, not the engine and its model.
        let limits = DecodeLimits::with_dicom(options);
        let mut decoder = FewDecoder::start(shape, options).await;
        let total = files.len();
        let mut peer = ScoringPeer::default();
        let mut sharing = Sharing::may_share(current, backend);
        let (mut rows, mut decoded): (Vec<Prediction>, Vec<Prediction>) = (Vec::new(), Vec::new());
        let (mut names, mut group, mut bytes) = (Vec::new(), Vec::new(), 0usize);
        let mut failure = None;
        for (k, input) in files.iter().enumerate() {
            let named = InputFile {
                path: prediction_path(&input.path),
                file: input.file.clone(),
            };
            let read = files::read_for_load(&named, &limits, false).await;
            if let FileContent::Bytes(content) = &read.content {
                bytes += content.len();
            }
            names.push(input.path.clone());
            group.push(read);
            if group.len() == PREDICT_GROUP || bytes >= PREDICT_GROUP_BYTES || k + 1 == files.len()
            {
                let decoding = decoder.decode(std::mem::take(&mut group));
                let scoring = async {
                    let started = time::now_ms();
                    classify(current, &mut decoded, &mut peer, &mut failure).await;
                    time::now_ms() - started
                };
                let (outcomes, scored_ms) = join(decoding, scoring).await;
                let done = k + 1 - names.len();
                (sharing.decide(current, &mut peer, decoded.len(), scored_ms, total - done)).await;
                rows.append(&mut decoded);
                post(&Response::PredictProgress { done, total });
                for (name, outcome) in names.drain(..).zip(outcomes) {
                    let outcome = outcome.map_err(|reason| reason.to_string());
                    decoded.extend(prediction_rows(&name, outcome, shape));
                }
                bytes = 0;
            }
        }
        classify(current, &mut decoded, &mut peer, &mut failure).await;
        gloo::console::debug!(format!(
            "predicted {total} files, shared with a second core: {}",
            peer.is_sharing()
        ));
        rows.append(&mut decoded);
        if let Some(error) = failure {
            notice(Level::Error, error);
        }
        self.uploads = rows.iter().map(|r| r.pixels.clone()).collect();
        let results = rows
            .into_iter()
            .map(|r| PredictionRow {
                name: r.name,
                probabilities: r.probabilities,
                error: r.error,
                pixels: r.pixels,
            })
            .collect();
        post(&Response::Predictions { results });
    }

    pub(super) async fn explain(
        &mut self,
        target: ExplainTarget,
        class: Option<usize>,
        method: ExplainMethod,
    ) {
        let Some(current) = &self.model else {
            return notice(Level::Warning, "there is no model to explain");
        };
        let pixels = match target {
            ExplainTarget::Sample { sample } => match &self.data {
                Some(data) if sample < data.dataset.len() => data.dataset.image(sample).to_vec(),
                _ => return notice(Level::Warning, "that image is no longer loaded"),
            },
            ExplainTarget::Upload { index } => match self.uploads.get(index) {
                Some(pixels) if !pixels.is_empty() => pixels.clone(),
                _ => return notice(Level::Warning, "that image is no longer available"),
            },
        };
        match crate::session::explain(current, &pixels, class, method).await {
            Ok(heatmap) => post(&Response::Explanation {
                target,
                heatmap,
                pixels,
            }),
            Err(error @ ExplainError::DecodedForAnotherModel) => {
                notice(Level::Warning, error.to_string())
            }
            Err(error @ ExplainError::Failed(_)) => notice(Level::Error, error.to_string()),
        }
    }

    /// Makes `bytes` the current model, or says why not (the current model stays). The
    /// reason is also returned, for the restore order in [`Self::hello`].
    pub(super) fn import(
        &mut self,
        name: &str,
        bytes: &[u8],
        source: ModelSource,
    ) -> Result<(), String> {
        let dataset = self.data.as_ref().map(|d| &d.dataset);
        let current =
            CurrentModel::import(name, bytes, dataset, Device::flex()).map_err(|error| {
                let message = format!("{error}; the current model stays");
                post(&Response::ModelRejected {
                    message: message.clone(),
                });
                message
            })?;
        post(&Response::ModelReady {
            meta: Box::new(current.file.meta.clone()),
            source,
            file_bytes: bytes.len(),
        });
        self.model = Some(current);
        Ok(())
    }
}

/// Scores the decoded `rows`; where that fails, each says why, and `failure` keeps the first
/// reason for one notice (the rows after it are still tried).
async fn classify(
    current: &CurrentModel,
    rows: &mut [Prediction],
    peer: &mut ScoringPeer,
    failure: &mut Option<String>,
) {
    if let Err(error) = predict(current, rows, peer).await {
        for row in rows.iter_mut().filter(|r| r.error.is_none()) {
            row.error = Some(error.clone());
        }
        failure.get_or_insert(error);
    }
}

/// Whether a Predict still may bring in a replica on the second core: only a model on the CPU,
/// with two cores reported and one core not asked for, and only once, after the second group
/// scored alone (the first pays for the network's first run: with the seed network at 32 px
/// it foretold over 2 s for 232 files left, the second group 0.2 s).
struct Sharing {
    allowed: bool,
    groups: usize,
}

impl Sharing {
    fn may_share(current: &CurrentModel, backend: BackendPreference) -> Self {
        Self {
            allowed: current.device == Device::flex() && peer::second_core_allowed(backend),
            groups: 0,
        }
    }

    /// After a group of `scored` images took `ms` alone: starts the replica when the `left`
    /// files would take over [`PREDICT_SHARE_AFTER_MS`] at that pace (judged on the second
    /// group).
    async fn decide(
        &mut self,
        current: &CurrentModel,
        peer: &mut ScoringPeer,
        scored: usize,
        ms: f64,
        left: usize,
    ) {
        if !self.allowed || scored == 0 {
            return;
        }
        self.groups += 1;
        if self.groups < 2 {
            return;
        }
        self.allowed = false;
        let alone_ms = ms / scored as f64 * left as f64;
        gloo::console::debug!(format!(
            "Predict: {scored} images scored in {ms:.0} ms; the {left} files left, alone: {alone_ms:.0} ms"
        ));
        if alone_ms > PREDICT_SHARE_AFTER_MS {
            *peer = ScoringPeer::new(scoring_replica(current).await);
        }
    }
}

/// A replica of `current` on the second core; `None` when it cannot start (Predict then runs
/// alone).
async fn scoring_replica(current: &CurrentModel) -> Option<Box<dyn GradientPeer>> {
    let mut replica = WorkerPeer::launch().await.ok()?;
    let setup = PeerSetup {
        model: current.file.meta.model.clone(),
        seed: 0,
        class_weights: None,
        transfer: None,
    };
    replica.start(&setup).ok()?;
    Some(Box::new(replica))
}
