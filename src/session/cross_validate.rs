//! Cross-validation as a use case: k stratified, duplicate-aware folds (`crate::data::Folds`),
//! one training run per held-out fold through the same [`super::train_on_split`] as a single
//! run (checks, GPU-loss fall-back, assessment), and the summary
//! (`crate::evaluation::CrossValidation`) in every fold model's file.

use burn::prelude::*;

use super::{
    FoldEvent, FoldObserver, LoadedData, Platform, RunError, plan_training, train_on_split,
};
use crate::data::{Folds, Subset, make_folds};
use crate::evaluation::{CrossValidation, FoldScores};
use crate::storage::ModelFile;
use crate::training::{StopReason, TrainingConfig};

/// A finished cross-validation.
pub struct CrossValidated {
    /// The folds' scores and their summary.
    pub summary: CrossValidation,
    /// Each completed fold's model file (the summary in its header), in fold order.
    pub files: Vec<ModelFile>,
    /// The backend the last fold ran on.
    pub backend: String,
    /// The fold of every sample.
    pub folds: Folds,
}

/// Runs `k`-fold cross-validation of `config` on `data` (folds seeded with the split's seed,
/// duplicates dropped as the split says). A fold stopped by the user ends the run: its
/// half-trained model is not scored, and the summary covers the folds that finished.
pub async fn cross_validate<P: Platform + FoldObserver>(
    data: &LoadedData,
    config: TrainingConfig,
    k: usize,
    device: Device,
    backend: String,
    platform: &mut P,
) -> Result<CrossValidated, String> {
    let seed = data.split_config.seed;
    let config_split = &data.split_config;
    let folds = make_folds(
        &data.dataset,
        k,
        seed,
        config_split.drop_duplicates,
        &config_split.group_by,
    )
    .map_err(|e| e.to_string())?;
    let plan = plan_training(data, config, None)?;
    let (mut scores, mut files, mut backend) = (Vec::new(), Vec::new(), backend);
    for fold in 0..k {
        let split = folds.split(&data.dataset, fold);
        platform.fold_event(FoldEvent::Started {
            fold,
            k,
            train: split.total(Subset::Train),
            validation: split.total(Subset::Validation),
            held_out: split.total(Subset::Test),
        });
        let on = (device.clone(), backend.clone());
        let trained = match train_on_split(data, &split, &plan, on, &mut *platform, true).await {
            Err(RunError::StoppedBeforeAnEpoch) => break,
            other => other.map_err(|error| error.to_string())?,
        };
        if trained.reason == StopReason::Stopped {
            break;
        }
        backend = trained.backend;
        let epochs = trained.file.meta.history.len();
        let fold_scores = FoldScores::of(fold, &trained.assessment, epochs);
        platform.fold_event(FoldEvent::Finished(fold_scores.clone()));
        scores.push(fold_scores);
        files.push(trained.file);
    }
    let summary = CrossValidation::new(k, seed, scores);
    for file in &mut files {
        file.meta.cross_validation = Some(summary.clone());
    }
    Ok(CrossValidated {
        summary,
        files,
        backend,
        folds,
    })
}
