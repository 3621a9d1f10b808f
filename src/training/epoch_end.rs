//! The callbacks at the end of an epoch, in Keras' order: ModelCheckpoint, ReduceLROnPlateau,
//! EarlyStopping. Each is a plain state machine (`callbacks/`); this file turns their
//! decisions into checkpoints, learning rates, restored weights and events.

use burn::module::Module;

use super::run::Run;
use super::{
    CallbackEvent, CheckpointSink, CheckpointSlot, EarlyStoppingDecision, EpochMetrics,
    TrainingHost, slow_start_hint,
};
use crate::model::Classifier;

/// Runs the chain; returns whether training must stop.
pub(super) async fn callbacks<H: TrainingHost, S: CheckpointSink>(
    run: &mut Run<'_>,
    metrics: &EpochMetrics,
    inference: &Classifier,
    (host, sink): (&mut H, &mut S),
) -> bool {
    let mut events = Vec::new();
    events.extend(model_checkpoint(run, metrics, inference, (&mut *host, sink)).await);
    events.extend(reduce_lr(run, metrics));
    let stop = early_stopping(run, metrics, inference, &mut events);
    for event in events {
        run.callback_event(event, host);
    }
    stop
}

async fn model_checkpoint<H: TrainingHost, S: CheckpointSink>(
    run: &mut Run<'_>,
    metrics: &EpochMetrics,
    inference: &Classifier,
    (host, sink): (&mut H, &mut S),
) -> Option<CallbackEvent> {
    let checkpoint = run.state.callbacks.checkpoint.as_mut()?;
    let monitor = checkpoint.config.monitor;
    let value = monitor.value(metrics);
    let previous = checkpoint.on_epoch_end(value)?;
    let outcome = run
        .save(CheckpointSlot::Best, inference, (host, sink))
        .await;
    let message = match (&outcome, previous) {
        (Ok(place), Some(previous)) => {
            format!("{monitor} improved from {previous:.5} to {value:.5}; model saved to {place}")
        }
        (Ok(place), None) => format!("{monitor} = {value:.5}; model saved to {place}"),
        (Err(error), _) => format!("saving the checkpoint failed: {error}"),
    };
    Some(CallbackEvent {
        epoch: metrics.epoch,
        callback: "ModelCheckpoint".into(),
        action: if outcome.is_ok() {
            "save"
        } else {
            "save_failed"
        }
        .into(),
        old_value: previous,
        new_value: Some(value),
        message,
    })
}

fn reduce_lr(run: &mut Run<'_>, metrics: &EpochMetrics) -> Option<CallbackEvent> {
    let state = &mut run.state;
    let reduce = state.callbacks.reduce_lr.as_mut()?;
    let monitor = reduce.config.monitor;
    let new_rate = reduce.on_epoch_end(monitor.value(metrics), state.learning_rate)?;
    let event = CallbackEvent {
        epoch: metrics.epoch,
        callback: "ReduceLROnPlateau".into(),
        action: "reduce_lr".into(),
        old_value: Some(state.learning_rate),
        new_value: Some(new_rate),
        message: format!(
            "{monitor} did not improve for {} epoch(s); learning rate {:.3e} -> {:.3e}",
            reduce.config.patience, state.learning_rate, new_rate
        ),
    };
    state.learning_rate = new_rate;
    Some(event)
}

fn early_stopping(
    run: &mut Run<'_>,
    metrics: &EpochMetrics,
    inference: &Classifier,
    events: &mut Vec<CallbackEvent>,
) -> bool {
    let epoch = metrics.epoch;
    let Some(early) = run.state.callbacks.early_stopping.as_mut() else {
        return false;
    };
    let monitor = early.config.monitor;
    let restore = early.config.restore_best_weights;
    let patience = early.config.patience;
    match early.on_epoch_end(epoch, monitor.value(metrics)) {
        EarlyStoppingDecision::Improved => {
            if restore {
                run.best = Some((epoch, inference.clone()));
            }
            false
        }
        EarlyStoppingDecision::WarmingUp | EarlyStoppingDecision::Waiting { .. } => false,
        EarlyStoppingDecision::Stop { best_epoch, best } => {
            events.push(CallbackEvent {
                epoch,
                callback: "EarlyStopping".into(),
                action: "stop".into(),
                old_value: Some(best),
                new_value: Some(monitor.value(metrics)),
                message: format!(
                    "{monitor} has not improved on {best:.5} (epoch {best_epoch}) for {patience} epoch(s); stopping"
                ),
            });
            if let Some(hint) = slow_start_hint(&run.record.history, run.network.num_classes()) {
                events.push(CallbackEvent {
                    epoch,
                    callback: "EarlyStopping".into(),
                    action: "hint".into(),
                    old_value: None,
                    new_value: None,
                    message: hint,
                });
            }
            if restore && let Some((best_epoch, best_model)) = run.best.take() {
                run.model = best_model.fork(&run.train_device);
                run.weights_from_epoch = best_epoch;
                events.push(CallbackEvent {
                    epoch,
                    callback: "EarlyStopping".into(),
                    action: "restore_best_weights".into(),
                    old_value: Some(epoch as f64),
                    new_value: Some(best_epoch as f64),
                    message: format!(
                        "restored the weights of epoch {best_epoch} ({monitor} {best:.5})"
                    ),
                });
            }
            true
        }
    }
}

/// As in Keras 3: with `restore_best_weights` the best epoch's weights are the result when
/// all epochs ran without an early stop, too (`restore_best_weights: false` keeps the last).
pub(super) fn restore_best_at_the_end<H: TrainingHost>(run: &mut Run<'_>, host: &mut H) {
    let Some((best_epoch, best_model)) = run.best.take() else {
        return;
    };
    if best_epoch == run.weights_from_epoch {
        return;
    }
    run.model = best_model.fork(&run.train_device);
    let event = CallbackEvent {
        epoch: run.state.epochs_completed,
        callback: "EarlyStopping".into(),
        action: "restore_best_weights".into(),
        old_value: Some(run.weights_from_epoch as f64),
        new_value: Some(best_epoch as f64),
        message: format!(
            "training ended; restored the weights of epoch {best_epoch}, the best one"
        ),
    };
    run.weights_from_epoch = best_epoch;
    run.callback_event(event, host);
}
