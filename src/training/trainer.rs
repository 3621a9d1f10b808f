//! A training run from its start: the settings checked, the run begun, the head trained first
//! where asked ([`super::head_first`]), then the epochs ([`super::epochs`]: a training epoch, a
//! validation epoch and the callbacks chained at epoch end, in the shape of Burn's custom
//! training loop and burn-train's learner). The loop knows nothing of files: it hands
//! checkpoints as values to a [`super::CheckpointSink`].

use burn::prelude::*;

use super::epochs::run_epochs;
use super::head_first;
#[cfg(test)]
use super::run::mix;
use super::run::{Run, Start, TrainingData, TrainingOutcome};
use super::{CheckpointSink, StopReason, TrainingConfig, TrainingError, TrainingHost};
use crate::data::validate_class_names;
use crate::model::ModelConfig;

/// The settings and the data fit the network; nothing has run yet.
fn check(
    data: &TrainingData<'_>,
    config: &TrainingConfig,
    network: &ModelConfig,
) -> Result<(), TrainingError> {
    config.validate().map_err(TrainingError::Invalid)?;
    // One class (or two alike) would give a model that calls anything that class at 100 %.
    validate_class_names(&data.dataset.classes)
        .and_then(|()| network.validate())
        .map_err(|e| TrainingError::Invalid(format!("cannot train on this data: {e}")))?;
    network
        .check_input(data.dataset.classes.len(), data.dataset.shape)
        .map_err(TrainingError::Invalid)?;
    data.class_weights(&config.class_weighting)
        .map_err(TrainingError::Invalid)?;
    if data.train.is_empty() || data.validation.is_empty() {
        return Err(TrainingError::Invalid(
            "training needs at least one training and one validation image".into(),
        ));
    }
    Ok(())
}

/// Trains `network` on `data`, reports every step to `host` and hands every checkpoint to
/// `sink`.
pub async fn train<H: TrainingHost, S: CheckpointSink>(
    data: &TrainingData<'_>,
    config: &TrainingConfig,
    network: &ModelConfig,
    start: Start,
    device: &Device,
    (host, sink): (&mut H, &mut S),
) -> Result<TrainingOutcome, TrainingError> {
    check(data, config, network)?;
    let mut run = Run::begin(data, config, network, start, device, host);
    if config.trains_head_first(network, run.state.epochs_completed)
        && !head_first::train_head(&mut run, device, host).await?
    {
        return Ok(run.finish(StopReason::Stopped, host));
    }
    run_epochs(run, device, (host, sink)).await
}

#[cfg(test)]
mod tests {
    use super::mix;

    #[test]
    fn each_epoch_gets_its_own_stream() {
        assert_ne!(mix(42, 1), mix(42, 2));
        assert_ne!(mix(42, 1), mix(43, 1));
        assert_eq!(mix(42, 1), mix(42, 1));
    }
}
