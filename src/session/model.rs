//! The current model, and model files from a run's values.

use burn::module::Module;
use burn::prelude::*;

use super::check_model_for_data;
use crate::data::Dataset;
use crate::evaluation::Assessment;
use crate::model::Classifier;
use crate::storage::{ModelFile, ModelMeta, decode_weights, encode_weights, export_onnx};
use crate::training::{Checkpoint, TrainingOutcome};

/// A model ready to score: the network in inference mode, its file and its device.
pub struct CurrentModel {
    /// The network (inference mode).
    pub model: Classifier,
    /// Its file (header and weights).
    pub file: ModelFile,
    /// Where it runs.
    pub device: Device,
}

impl CurrentModel {
    /// Reads a model file named `name` (for messages) onto `device`; with `data`, also checks
    /// that it fits the loaded data. The message says why not.
    pub fn import(
        name: &str,
        bytes: &[u8],
        data: Option<&Dataset>,
        device: Device,
    ) -> Result<Self, String> {
        let file = ModelFile::from_bytes(bytes).map_err(|e| format!("{name}: {e}"))?;
        if let Some(dataset) = data {
            check_model_for_data(name, &file.meta, dataset)?;
        }
        Self::from_file(file, device).map_err(|e| format!("{name}: {e}"))
    }

    /// Builds the network of `file` on `device`.
    pub fn from_file(file: ModelFile, device: Device) -> Result<Self, String> {
        let model = decode_weights(&file.meta.model, &file.weights, &device)?;
        Ok(Self {
            model: model.valid(),
            file,
            device,
        })
    }

    /// Classes, in output order.
    pub fn classes(&self) -> &[String] {
        &self.file.meta.classes
    }

    /// The model as an ONNX file (`crate::storage::export_onnx`), for the page's download and
    /// `medclassify export-onnx`.
    pub async fn onnx(&self) -> Result<Vec<u8>, String> {
        export_onnx(&self.model, &self.file.meta).await
    }
}

/// The model file of a checkpoint: the run's header `template` with the checkpoint's record.
pub async fn checkpoint_file(
    template: &ModelMeta,
    checkpoint: &Checkpoint<'_>,
) -> Result<ModelFile, String> {
    let mut meta = template.clone();
    meta.history = checkpoint.record.history.clone();
    meta.callback_events = checkpoint.record.callback_events.clone();
    meta.resume = Some(checkpoint.resume.clone());
    let weights = encode_weights(checkpoint.model, &meta.model).await?;
    Ok(ModelFile { meta, weights })
}

/// The model file of a finished run, with its test-set assessment.
pub async fn model_file(
    template: &ModelMeta,
    outcome: &TrainingOutcome,
    assessment: &Assessment,
) -> Result<ModelFile, String> {
    let mut meta = template.clone();
    meta.history = outcome.record.history.clone();
    meta.callback_events = outcome.record.callback_events.clone();
    meta.resume = Some(outcome.resume.clone());
    meta.test = Some(assessment.evaluation.clone());
    meta.calibration = Some(assessment.calibration.clone());
    meta.intervals = Some(assessment.intervals.clone());
    let weights = encode_weights(&outcome.model, &meta.model).await?;
    Ok(ModelFile { meta, weights })
}
