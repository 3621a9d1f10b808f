//! The epochs of a run that has begun: the training epoch ([`super::epoch`]), the validation
//! epoch and the callbacks chained at epoch end ([`super::epoch_end`]), in the shape of Burn's
//! custom training loop and burn-train's learner. [`super::train`] begins the run (and trains
//! the head first where asked, [`super::head_first`], through this same loop).

use burn::prelude::*;

use super::features::{self, FeatureCache};
use super::run::{Run, TrainingOutcome};
use super::{
    CheckpointSink, CheckpointSlot, StopReason, TrainingError, TrainingEvent, TrainingHost, epoch,
    epoch_end,
};

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
