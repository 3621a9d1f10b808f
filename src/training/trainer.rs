//! The training loop, in the shape of Burn's custom training loop and burn-train's learner:
//! a training epoch ([`super::epoch`]), a validation epoch ([`super::epoch::score`]) and the
//! callbacks chained at epoch end ([`super::epoch_end`]). The loop knows nothing of files: it
//! hands checkpoints as values to a [`super::CheckpointSink`].

use burn::prelude::*;

use super::features::{self, FeatureCache};
use super::head_first;
#[cfg(test)]
use super::run::mix;
use super::run::{Run, Start, TrainingData, TrainingOutcome};
use super::{
    CheckpointSink, CheckpointSlot, StopReason, TrainingConfig, TrainingError, TrainingEvent,
    TrainingHost, epoch, epoch_end,
};
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
    if head_first::applies(config, network, run.state.epochs_completed)
        && !head_first::train_head(&mut run, device, host).await?
    {
        return Ok(run.finish(StopReason::Stopped, host));
    }
    run_epochs(run, device, (host, sink)).await
}

/// The epochs of a run that has begun (after its head alone, when it trains that first).
pub(super) async fn run_epochs<H: TrainingHost, S: CheckpointSink>(
    mut run: Run<'_>,
    device: &Device,
    (host, sink): (&mut H, &mut S),
) -> Result<TrainingOutcome, TrainingError> {
    let (data, config) = (run.data, run.config);
    if features::applies(config, run.network) {
        let samples: Vec<usize> = data.train.iter().chain(&data.validation).copied().collect();
        let inference = run.model.valid();
        // The second replica shares the feature pass, and is then kept aside for the scoring
        // after the run: not for the head's steps, a small product on cached features each,
        // which would cost less than sending the replica the weights.
        let mut peer = run.peer.take();
        let cache =
            FeatureCache::compute(&inference, data.dataset, &samples, device, &mut peer, host);
        let cache = cache.await;
        run.spare_peer = peer;
        match cache? {
            Some(cache) => run.features = Some(cache),
            None => return Ok(run.finish(StopReason::Stopped, host)),
        }
    }
    let mut reason = StopReason::Completed;
    for epoch in run.state.epochs_completed + 1..=config.epochs {
        let epoch_start = host.now_ms();
        let trained = match epoch::train_epoch(&mut run, epoch, host).await? {
            epoch::EpochEnd::Trained(trained) => trained,
            epoch::EpochEnd::Stopped => {
                reason = StopReason::Stopped;
                break;
            }
            epoch::EpochEnd::Diverged => {
                reason = StopReason::NonFiniteLoss;
                break;
            }
        };
        let inference = run.model.valid();
        let metrics = epoch::validate_epoch(&run, &inference, trained, epoch_start, host).await?;
        run.record.history.push(metrics.clone());
        host.event(TrainingEvent::Epoch(metrics.clone()));
        host.epoch_end(epoch, &inference).await;
        run.state.epochs_completed = epoch;
        run.weights_from_epoch = epoch;
        let stop = epoch_end::callbacks(&mut run, &metrics, &inference, (host, sink)).await;
        save_last(&mut run, (host, sink)).await;
        if stop {
            reason = StopReason::EarlyStopping;
            break;
        }
    }
    if reason == StopReason::Completed {
        epoch_end::restore_best_at_the_end(&mut run, host);
    }
    Ok(run.finish(reason, host))
}

/// The resume point after an epoch. Training goes on when it cannot be saved, but the user
/// must know that there is no resume point.
async fn save_last<H: TrainingHost, S: CheckpointSink>(
    run: &mut Run<'_>,
    (host, sink): (&mut H, &mut S),
) {
    let snapshot = run.model.valid();
    run.last_good = Some((run.weights_from_epoch, snapshot.clone()));
    let saved = run
        .save(CheckpointSlot::Last, &snapshot, (&mut *host, sink))
        .await;
    if let Err(error) = saved {
        let epoch = run.state.epochs_completed;
        host.event(TrainingEvent::Notice {
            message: format!(
                "the checkpoint after epoch {epoch} could not be saved ({error}); \
                 training goes on, but cannot resume from this epoch"
            ),
        });
    }
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
