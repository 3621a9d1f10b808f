//! About how long a run will take, before it starts: the run itself, stopped after its first
//! batches (`crate::training::estimate`), from the same start (checkpoint, pretrained
//! weights or fresh) and on the same split as [`super::train`] would use.

use burn::prelude::*;

use super::train::start_of;
use super::{LoadedData, Platform, TrainingPlan};
use crate::data::Subset;
use crate::training::{RunEstimate, TrainingData};

/// About how long training as `plan` says on `device` would take, test set included.
pub async fn estimate<P: Platform>(
    data: &LoadedData,
    plan: &TrainingPlan,
    device: Device,
    platform: &mut P,
) -> Result<RunEstimate, String> {
    let split = data.split().map_err(str::to_string)?;
    let training_data = TrainingData {
        dataset: &data.dataset,
        train: split.indices(Subset::Train),
        validation: split.indices(Subset::Validation),
    };
    let test = split.indices(Subset::Test).len();
    let start = start_of(plan, plan.resume.as_ref(), &device, platform).await?;
    crate::training::estimate(
        &training_data,
        &plan.config,
        &plan.network,
        start,
        test,
        &device,
        platform,
    )
    .await
    .map_err(|e| format!("the time could not be estimated: {e}"))
}
