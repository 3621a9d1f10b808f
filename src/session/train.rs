//! Training as a use case: the checks, the run, the fall-back to the CPU when the GPU is
//! lost, the test-set assessment and the finished model file.

use burn::prelude::*;

use super::{FileCheckpoints, LoadedData, Platform, assess_shared, check_resume, model_file};
use crate::data::{Split, Subset};
use crate::evaluation::Assessment;
use crate::model::pretrained::WeightsFile;
use crate::model::{Classifier, ModelConfig};
use crate::storage::{ModelFile, ModelMeta, decode_weights};
use crate::training::{
    RunRecord, Start, StopReason, TrainingConfig, TrainingData, TrainingError, TrainingOutcome,
};

/// A checked training request: what to train, from where.
pub struct TrainingPlan {
    /// The settings.
    pub config: TrainingConfig,
    /// The network (the checkpoint's when resuming).
    pub network: ModelConfig,
    /// The checkpoint to continue from.
    pub resume: Option<ModelFile>,
    /// Something the user should know that does not stop training.
    pub warning: Option<String>,
}

/// Checks the settings, the data and the checkpoint (when resuming) before a device is chosen.
pub fn plan_training(
    data: &LoadedData,
    config: TrainingConfig,
    resume: Option<ModelFile>,
) -> Result<TrainingPlan, String> {
    let split = data
        .split()
        .map_err(|_| "the split failed; fix the split settings first".to_string())?;
    config.validate()?;
    let dataset = &data.dataset;
    let validation: Vec<(&str, usize)> = split
        .counts
        .iter()
        .map(|c| (c.class.as_str(), c.validation))
        .collect();
    config.callbacks.check_for(&validation)?;
    let (network, warning) = match &resume {
        Some(file) => (
            file.meta.model.clone(),
            check_resume(
                &file.meta,
                dataset,
                data.manifest_sha256.as_deref(),
                &config,
            )?,
        ),
        None => (
            ModelConfig::new(config.preset, dataset.classes.len(), dataset.shape),
            None,
        ),
    };
    Ok(TrainingPlan {
        config,
        network,
        resume,
        warning,
    })
}

/// A finished run with its assessment and model file.
pub struct Trained {
    /// The network (inference mode).
    pub model: Classifier,
    /// Its model file.
    pub file: ModelFile,
    /// Test-set scores.
    pub assessment: Assessment,
    /// Where it ran last (the CPU after a GPU loss).
    pub device: Device,
    /// The backend's description.
    pub backend: String,
    /// Why training ended.
    pub reason: StopReason,
    /// The epoch whose weights the model holds.
    pub weights_from_epoch: usize,
}

/// Where a run starts: fresh, or the checkpoint's weights and record.
pub fn start_from(file: Option<&ModelFile>, device: &Device) -> Result<Start, String> {
    let Some(file) = file else {
        return Ok(Start::Fresh);
    };
    let state = file
        .meta
        .resume
        .clone()
        .ok_or("this model file holds no resume point")?;
    Ok(Start::Resume {
        // Straight onto the training device, as a network that records gradients.
        model: decode_weights(&file.meta.model, &file.weights, &device.clone().autodiff())?,
        record: RunRecord {
            history: file.meta.history.clone(),
            callback_events: file.meta.callback_events.clone(),
        },
        state,
    })
}

/// Where a new run of `plan` starts: a pretrained preset from its backbone's `weights` (with
/// a new head, initialised from the run's seed), any other preset fresh.
pub fn start_new(
    plan: &TrainingPlan,
    weights: Option<&WeightsFile>,
    device: &Device,
) -> Result<Start, String> {
    if plan.network.preset().pretrained().is_none() {
        return Ok(Start::Fresh);
    }
    device.seed(plan.config.seed);
    // Straight onto the training device, as a network that records gradients.
    let train_device = device.clone().autodiff();
    Ok(Start::Weights(
        plan.network.init_for_training(&train_device, weights)?,
    ))
}

/// Where a run of `plan` on `device` starts: from `resume`'s checkpoint, else from the
/// pretrained weights `platform` supplies, else fresh.
pub(super) async fn start_of<P: Platform>(
    plan: &TrainingPlan,
    resume: Option<&ModelFile>,
    device: &Device,
    platform: &mut P,
) -> Result<Start, String> {
    match (resume, plan.network.preset().pretrained()) {
        (Some(_), _) => start_from(resume, device),
        (None, Some(backbone)) => {
            let weights = platform.pretrained_weights(backbone).await;
            weights.and_then(|w| start_new(plan, Some(&w), device))
        }
        (None, None) => start_new(plan, None, device),
    }
}

/// One run on `device` from `resume`.
async fn run_once<P: Platform>(
    data: &TrainingData<'_>,
    plan: &TrainingPlan,
    resume: Option<&ModelFile>,
    device: &Device,
    (platform, files): (&mut P, &mut FileCheckpoints),
) -> Result<TrainingOutcome, TrainingError> {
    let start = start_of(plan, resume, device, platform)
        .await
        .map_err(TrainingError::Invalid)?;
    let run = crate::training::train(
        data,
        &plan.config,
        &plan.network,
        start,
        device,
        (&mut *platform, &mut *files),
    );
    let result = run.await;
    // A read that failed because the device went away is a device loss too, whichever of the
    // two (the failed read or the platform's notice of the loss) came first.
    if let Err(TrainingError::Execution(_)) = &result
        && let Some(reason) = platform.device_lost_reason().await
    {
        return Err(TrainingError::DeviceLost {
            reason,
            epochs_completed: files.epochs_completed,
        });
    }
    result
}

/// What the page and the command say when the user stopped a run before its first epoch
/// ended ([`RunError::StoppedBeforeAnEpoch`]).
pub const STOPPED_BEFORE_AN_EPOCH: &str = "stopped before the first epoch ended: nothing was trained, so there is no model to evaluate or keep";

/// Why [`train`] gave no model, as a caller must tell them apart: a refusal (nothing ran, the
/// settings or the data must change), the user's stop, or a failure.
#[derive(Clone, Debug, PartialEq)]
pub enum RunError {
    /// The data or the settings cannot be trained; nothing was trained.
    Refused(String),
    /// The user stopped the run before its first epoch ended: nothing to keep.
    StoppedBeforeAnEpoch,
    /// The run started and failed (training, the test set, the model file).
    Failed(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Refused(message) | RunError::Failed(message) => f.write_str(message),
            RunError::StoppedBeforeAnEpoch => f.write_str(STOPPED_BEFORE_AN_EPOCH),
        }
    }
}

impl From<TrainingError> for RunError {
    fn from(error: TrainingError) -> Self {
        match error {
            TrainingError::Invalid(message) => RunError::Refused(message),
            other => RunError::Failed(other.to_string()),
        }
    }
}

/// Trains as `plan` says on `device` (described as `backend`), continues on the CPU from the
/// last completed epoch if the GPU is lost, scores the test set and builds the model file.
pub async fn train<P: Platform>(
    data: &LoadedData,
    plan: &TrainingPlan,
    device: Device,
    backend: String,
    platform: &mut P,
) -> Result<Trained, RunError> {
    let split = data.split().map_err(|e| RunError::Refused(e.to_string()))?;
    train_on_split(data, split, plan, (device, backend), platform, false).await
}

/// [`train`] on `split` of the data (a cross-validation fold's, or the data's own), on `device`
/// described as `backend`; with `in_memory`, its checkpoint files are kept in memory only (a
/// fold's).
pub async fn train_on_split<P: Platform>(
    data: &LoadedData,
    split: &Split,
    plan: &TrainingPlan,
    (device, backend): (Device, String),
    platform: &mut P,
    in_memory: bool,
) -> Result<Trained, RunError> {
    let mut template = ModelMeta::new(plan.network.clone(), data.dataset.classes.clone());
    template.data = Some(data.summary_of(split));
    template.window = data.dicom.window;
    template.frames = data.dicom.frames;
    template.backend = Some(backend.clone());
    template.training = Some(plan.config.clone());
    let training_data = TrainingData {
        dataset: &data.dataset,
        train: split.indices(Subset::Train),
        validation: split.indices(Subset::Validation),
    };
    let mut files = FileCheckpoints::new(template);
    files.in_memory = in_memory;
    let (mut device, mut backend) = (device, backend);
    let mut result = run_once(
        &training_data,
        plan,
        plan.resume.as_ref(),
        &device,
        (&mut *platform, &mut files),
    )
    .await;
    if let Err(TrainingError::DeviceLost {
        reason,
        epochs_completed,
    }) = &result
    {
        backend = platform
            .continue_on_cpu(&backend, reason, *epochs_completed)
            .await;
        files.template.backend = Some(backend.clone());
        device = Device::flex();
        let last = files
            .last
            .as_deref()
            .and_then(|b| ModelFile::from_bytes(b).ok());
        let resume = last.as_ref().or(plan.resume.as_ref());
        result = run_once(
            &training_data,
            plan,
            resume,
            &device,
            (platform, &mut files),
        )
        .await;
    }
    let mut outcome = result?;
    // Nothing was trained: scoring the test set would only measure the starting weights (and
    // take minutes for a pretrained network at 224 px on a CPU, after the user said stop).
    if outcome.reason == StopReason::Stopped && outcome.weights_from_epoch == 0 {
        return Err(RunError::StoppedBeforeAnEpoch);
    }
    // The run's second replica, if it had one, shares the scoring, then ends.
    let mut peer = outcome.peer.take();
    let assessment = assess_shared(&outcome.model, &data.dataset, split, &device, &mut peer)
        .await
        .map_err(|e| RunError::Failed(format!("evaluating on the test set failed: {e}")))?;
    let file = model_file(&files.template, &outcome, &assessment)
        .await
        .map_err(RunError::Failed)?;
    Ok(Trained {
        model: outcome.model,
        file,
        assessment,
        device,
        backend,
        reason: outcome.reason,
        weights_from_epoch: outcome.weights_from_epoch,
    })
}
