//! The training loop: async, event-driven, pausable, stoppable between batches.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, decay::WeightDecayConfig};
use burn::prelude::*;
use burn::tensor::{ExecutionError, Transaction};
use rand::{SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;
use std::fmt;

use super::{
    CallbackEvent, CallbackStates, CheckpointSlot, EarlyStoppingDecision, EpochMetrics,
    GradientPeer, PeerSetup, PeerStep, StopReason, TrainingConfig, TrainingEvent, TrainingHost,
    combine_gradients, flat_gradients, flat_weights, parameter_count, part_gradients,
};
use crate::data::{Dataset, batch_pixels, images_tensor, make_batch};
use crate::model::Classifier;
use crate::storage::{ModelFile, ModelMeta, ResumeState, decode_weights, encode_weights};

/// Images per batch when scoring (no gradients, so larger batches fit).
pub const EVAL_BATCH: usize = 256;

/// What a run trains and validates on.
pub struct TrainingData<'a> {
    /// All images.
    pub dataset: &'a Dataset,
    /// Indices of training samples.
    pub train: Vec<usize>,
    /// Indices of validation samples.
    pub validation: Vec<usize>,
}

/// Why a run could not finish.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainingError {
    /// A setting or the data is unusable; nothing was trained.
    Invalid(String),
    /// The GPU device was lost; the last completed epoch was saved to the `Last` slot.
    DeviceLost {
        /// What the driver said.
        reason: String,
        /// Epochs completed before the loss.
        epochs_completed: usize,
    },
    /// Any other execution error.
    Execution(String),
}

impl fmt::Display for TrainingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainingError::Invalid(message) => write!(f, "{message}"),
            TrainingError::DeviceLost {
                reason,
                epochs_completed,
            } => {
                write!(
                    f,
                    "the GPU device was lost after epoch {epochs_completed}: {reason}"
                )
            }
            TrainingError::Execution(message) => write!(f, "training failed: {message}"),
        }
    }
}

impl std::error::Error for TrainingError {}

/// A finished run.
pub struct TrainingOutcome {
    /// The trained network, in inference mode (dropout off, batch-norm running statistics).
    pub model: Classifier,
    /// Header for its model file: history, callback events, settings, resume point.
    pub meta: ModelMeta,
    /// Why it ended.
    pub reason: StopReason,
    /// The epoch whose weights `model` holds.
    pub weights_from_epoch: usize,
}

fn execution_error(error: ExecutionError, epochs_completed: usize) -> TrainingError {
    match error {
        ExecutionError::DevicePoisoned { reason } => TrainingError::DeviceLost {
            reason,
            epochs_completed,
        },
        other => TrainingError::Execution(other.to_string()),
    }
}

/// Mixes a seed with a number so each epoch gets its own stream (splitmix64).
fn mix(seed: u64, salt: u64) -> u64 {
    let mut z = seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Mean loss and accuracy of `model` (inference mode) on `indices`, read back once.
pub async fn score(
    model: &Classifier,
    dataset: &Dataset,
    indices: &[usize],
    device: &Device,
) -> Result<(f64, f64), ExecutionError> {
    if indices.is_empty() {
        return Ok((f64::NAN, f64::NAN));
    }
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let mut loss_sum: Option<Tensor<1>> = None;
    let mut correct_sum: Option<Tensor<1, Int>> = None;
    for chunk in indices.chunks(EVAL_BATCH) {
        let (images, labels) = make_batch(dataset, chunk, None, device);
        let logits = model.forward(images);
        let loss = loss_fn
            .forward(logits.clone(), labels.clone())
            .mul_scalar(chunk.len() as f32);
        let correct = logits
            .argmax(1)
            .reshape([chunk.len()])
            .equal(labels)
            .int()
            .sum();
        loss_sum = Some(match loss_sum {
            Some(sum) => sum + loss,
            None => loss,
        });
        correct_sum = Some(match correct_sum {
            Some(sum) => sum + correct,
            None => correct,
        });
    }
    let values = Transaction::default()
        .register(loss_sum.expect("at least one batch"))
        .register(correct_sum.expect("at least one batch"))
        .execute_async()
        .await?;
    let loss: f64 = values[0]
        .clone()
        .try_into_vec_as::<f64>()
        .map(|v| v[0])
        .unwrap_or(f64::NAN);
    let correct: f64 = values[1]
        .clone()
        .try_into_vec_as::<f64>()
        .map(|v| v[0])
        .unwrap_or(f64::NAN);
    let n = indices.len() as f64;
    Ok((loss / n, correct / n))
}

/// Says why the peer is no longer used and drops it (training goes on, on one core).
fn drop_peer<H: TrainingHost>(peer: &mut Option<Box<dyn GradientPeer>>, host: &mut H, why: String) {
    if peer.take().is_some() {
        host.event(TrainingEvent::Notice {
            message: format!(
                "the second training replica failed ({why}); training goes on, on one core"
            ),
        });
    }
}

/// Encodes `model` with `meta` as a model file and hands it to the host for `slot`; where it
/// went (for the log) or why it could not be saved.
async fn save_checkpoint<H: TrainingHost>(
    host: &mut H,
    slot: CheckpointSlot,
    meta: &ModelMeta,
    model: &Classifier,
) -> Result<String, String> {
    let weights = encode_weights(model, &meta.model).await?;
    let file = ModelFile {
        meta: meta.clone(),
        weights,
    };
    host.save_checkpoint(slot, file.to_bytes()).await
}

/// Trains a network and reports every step to `host`.
///
/// `meta` is the header template (model configuration, classes, data summary, backend).
/// With `resume`, training continues from that checkpoint (weights, learning rate, callback
/// states and history) at the epoch after the one it saved; the optimiser's moments start
/// afresh.
pub async fn train<H: TrainingHost>(
    data: &TrainingData<'_>,
    config: &TrainingConfig,
    device: &Device,
    mut meta: ModelMeta,
    resume: Option<&ModelFile>,
    host: &mut H,
) -> Result<TrainingOutcome, TrainingError> {
    config.validate().map_err(TrainingError::Invalid)?;
    // One class (or two alike) would give a model that calls anything that class at 100 %.
    meta.validate()
        .map_err(|e| TrainingError::Invalid(format!("cannot train on this data: {e}")))?;
    if data.train.is_empty() || data.validation.is_empty() {
        return Err(TrainingError::Invalid(
            "training needs at least one training and one validation image".into(),
        ));
    }
    if meta.model.num_classes() != data.dataset.classes.len()
        || meta.image_size != data.dataset.image_size as usize
    {
        return Err(TrainingError::Invalid(format!(
            "the network expects {} classes at {}x{}, the data has {} classes at {}x{}",
            meta.model.num_classes(),
            meta.image_size,
            meta.image_size,
            data.dataset.classes.len(),
            data.dataset.image_size,
            data.dataset.image_size
        )));
    }
    meta.training = Some(config.clone());

    let train_device = device.clone().autodiff();
    device.seed(config.seed);
    let (mut model, mut state) = match resume {
        Some(file) => {
            let state = file.meta.resume.clone().ok_or_else(|| {
                TrainingError::Invalid("this model file holds no resume point".into())
            })?;
            if file.meta.model.num_classes() != meta.model.num_classes()
                || file.meta.image_size != meta.image_size
            {
                return Err(TrainingError::Invalid(
                    "the checkpoint was trained for other classes or another image size".into(),
                ));
            }
            meta.history = file.meta.history.clone();
            meta.callback_events = file.meta.callback_events.clone();
            device.seed(mix(config.seed, state.epochs_completed as u64));
            (
                decode_weights(&file.meta.model, &file.weights, &train_device)
                    .map_err(TrainingError::Invalid)?,
                state,
            )
        }
        None => (
            meta.model.init(&train_device),
            ResumeState {
                epochs_completed: 0,
                learning_rate: config.optimizer.learning_rate,
                callbacks: CallbackStates::new(&config.callbacks),
            },
        ),
    };

    let o = &config.optimizer;
    let mut optimizer = AdamConfig::new()
        .with_beta_1(o.beta_1)
        .with_beta_2(o.beta_2)
        .with_epsilon(o.epsilon)
        .with_weight_decay((o.weight_decay > 0.0).then(|| WeightDecayConfig::new(o.weight_decay)))
        .init();
    let batch_size = config.batch_size;
    let size = data.dataset.image_size as usize;
    let parameters = parameter_count(&model);
    // Data parallelism where the host offers a second replica (the page's CPU path).
    let mut peer = host.take_peer();
    if let Some(helper) = peer.as_mut()
        && let Err(error) = helper.start(&PeerSetup {
            model: meta.model.clone(),
            // 53 bits, so that a JavaScript number carries it to the page's helper.
            seed: mix(config.seed, 0x7065_6572 + state.epochs_completed as u64) >> 11,
        })
    {
        drop_peer(&mut peer, host, error);
    }
    let batches = data.train.len().div_ceil(batch_size);
    let log_every = config.log_every.max(1);
    host.event(TrainingEvent::Started {
        first_epoch: state.epochs_completed + 1,
        epochs: config.epochs,
        batches,
        train_images: data.train.len(),
        validation_images: data.validation.len(),
        parameters: model.num_params(),
        replicas: if peer.is_some() { 2 } else { 1 },
    });

    let mut best: Option<(usize, Classifier)> = None;
    let start_weights = (state.epochs_completed, model.valid());
    let mut last_good: Option<(usize, Classifier)> = None;
    let mut weights_from_epoch = state.epochs_completed;
    let mut reason = StopReason::Completed;

    'epochs: for epoch in state.epochs_completed + 1..=config.epochs {
        let epoch_start = host.now_ms();
        let mut order = data.train.clone();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(
            config.seed,
            epoch as u64,
        )));
        let mut augment_rng = ChaCha8Rng::seed_from_u64(mix(config.seed ^ 0xA5A5, epoch as u64));
        let (mut epoch_loss, mut epoch_correct, mut epoch_seen) = (0.0f64, 0.0f64, 0usize);
        let mut pending: Option<(Tensor<1>, Tensor<1, Int>)> = None;
        // The peer's share of the pending loss sum and correct count (read on its side).
        let (mut peer_loss, mut peer_correct) = (0.0f64, 0.0f64);
        let (mut pending_images, mut interval_start) = (0usize, host.now_ms());
        let learning_rate = state.learning_rate;

        for (batch_index, chunk) in order.chunks(batch_size).enumerate() {
            if !host.proceed().await {
                reason = StopReason::Stopped;
                break 'epochs;
            }
            let augment = config.augmentation.as_ref().map(|a| (a, &mut augment_rng));
            let (pixels, labels) = batch_pixels(data.dataset, chunk, augment);
            let count = chunk.len();
            // With a peer, it takes the second half of the batch and this replica the first
            // (a fixed split, not a timed one, so that a seeded run stays reproducible).
            let mut own = count;
            if count >= 2
                && let Some(helper) = peer.as_mut()
            {
                let weights = flat_weights(&model)
                    .await
                    .map_err(|e| TrainingError::Execution(e.to_string()))?;
                let split = count - count / 2;
                let step = PeerStep {
                    weights,
                    pixels: pixels[split * size * size..].to_vec(),
                    labels: labels[split..].to_vec(),
                };
                match helper.submit(step) {
                    Ok(()) => own = split,
                    Err(error) => {
                        drop_peer(&mut peer, host, error);
                    }
                }
            }
            let part = |range: std::ops::Range<usize>| {
                let labels = labels[range.clone()].to_vec();
                let n = labels.len();
                (
                    images_tensor(
                        &pixels[range.start * size * size..range.end * size * size],
                        size,
                        &train_device,
                    ),
                    Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), &train_device),
                )
            };
            let (images, part_labels) = part(0..own);
            let (mut gradients, loss_sum, correct) = part_gradients(&model, images, part_labels);
            let (mut loss_sum, mut correct) = (loss_sum.inner(), correct.inner());
            if own < count {
                let answer = match peer.as_mut() {
                    Some(helper) => helper.gradients().await.and_then(|answer| {
                        if answer.gradients.len() == parameters {
                            Ok(answer)
                        } else {
                            Err(format!(
                                "it sent {} gradient values for {parameters} weights",
                                answer.gradients.len()
                            ))
                        }
                    }),
                    None => Err("it is gone".into()),
                };
                let other = match answer {
                    Ok(answer) => {
                        peer_loss += answer.loss_sum;
                        peer_correct += answer.correct as f64;
                        answer.gradients
                    }
                    Err(error) => {
                        // Nothing is lost: this replica computes the peer's part too.
                        drop_peer(&mut peer, host, error);
                        let (images, part_labels) = part(own..count);
                        let (rest, rest_loss, rest_correct) =
                            part_gradients(&model, images, part_labels);
                        loss_sum = loss_sum + rest_loss.inner();
                        correct = correct + rest_correct.inner();
                        flat_gradients(&model, &rest)
                            .await
                            .map_err(TrainingError::Execution)?
                    }
                };
                gradients = combine_gradients(&model, gradients, own, &other, count - own, device);
            }
            model = optimizer.step(learning_rate, model, gradients);

            pending = Some(match pending.take() {
                Some((l, c)) => (l + loss_sum, c + correct),
                None => (loss_sum, correct),
            });
            pending_images += chunk.len();

            let batch = batch_index + 1;
            if batch % log_every == 0 || batch == batches {
                let (l, c) = pending.take().expect("a batch was added");
                let values = Transaction::default()
                    .register(l)
                    .register(c)
                    .execute_async()
                    .await
                    .map_err(|e| execution_error(e, state.epochs_completed))?;
                let loss_sum = values[0]
                    .clone()
                    .try_into_vec_as::<f64>()
                    .map(|v| v[0])
                    .unwrap_or(f64::NAN)
                    + std::mem::take(&mut peer_loss);
                let correct = values[1]
                    .clone()
                    .try_into_vec_as::<f64>()
                    .map(|v| v[0])
                    .unwrap_or(0.0)
                    + std::mem::take(&mut peer_correct);
                let now = host.now_ms();
                let seconds = ((now - interval_start) / 1000.0).max(1e-9);
                host.event(TrainingEvent::Batch(super::BatchMetrics {
                    epoch,
                    batch,
                    batches,
                    loss: loss_sum / pending_images as f64,
                    accuracy: correct / pending_images as f64,
                    learning_rate,
                    images_per_second: pending_images as f64 / seconds,
                }));
                if !loss_sum.is_finite() {
                    // Go back to the best weights known: the best epoch by the monitored
                    // metric, else the last completed epoch, else the starting weights.
                    let (restored_epoch, restored) = best
                        .take()
                        .or_else(|| last_good.take())
                        .unwrap_or_else(|| start_weights.clone());
                    let message = if restored_epoch > 0 {
                        format!(
                            "loss became {loss_sum} at epoch {epoch}, batch {batch}; training stopped and the weights of epoch {restored_epoch} were restored"
                        )
                    } else {
                        format!(
                            "loss became {loss_sum} at epoch {epoch}, batch {batch}; training stopped and the starting weights were restored"
                        )
                    };
                    let event = CallbackEvent {
                        epoch,
                        callback: "TerminateOnNaN".into(),
                        action: "terminate".into(),
                        old_value: None,
                        new_value: Some(loss_sum),
                        message,
                    };
                    meta.callback_events.push(event.clone());
                    host.event(TrainingEvent::Callback(event));
                    model = restored.fork(&train_device);
                    weights_from_epoch = restored_epoch;
                    reason = StopReason::NonFiniteLoss;
                    break 'epochs;
                }
                epoch_loss += loss_sum;
                epoch_correct += correct;
                epoch_seen += pending_images;
                pending_images = 0;
                interval_start = host.now_ms();
            }
        }

        let train_seconds = (host.now_ms() - epoch_start) / 1000.0;
        let inference = model.valid();
        let (val_loss, val_accuracy) = score(&inference, data.dataset, &data.validation, device)
            .await
            .map_err(|e| execution_error(e, state.epochs_completed))?;
        let metrics = EpochMetrics {
            epoch,
            loss: epoch_loss / epoch_seen.max(1) as f64,
            accuracy: epoch_correct / epoch_seen.max(1) as f64,
            val_loss,
            val_accuracy,
            learning_rate,
            seconds: (host.now_ms() - epoch_start) / 1000.0,
            train_seconds,
            images_per_second: epoch_seen as f64 / train_seconds.max(1e-9),
        };
        meta.history.push(metrics.clone());
        host.event(TrainingEvent::Epoch(metrics.clone()));
        host.epoch_end(epoch, &inference).await;
        state.epochs_completed = epoch;
        weights_from_epoch = epoch;

        let mut events = Vec::new();
        // ModelCheckpoint.
        if let Some(checkpoint) = state.callbacks.checkpoint.as_mut() {
            let monitor = checkpoint.config.monitor;
            let value = monitor.value(&metrics);
            if let Some(previous) = checkpoint.on_epoch_end(value) {
                meta.resume = Some(state.clone());
                let outcome = save_checkpoint(host, CheckpointSlot::Best, &meta, &inference).await;
                let message = match (&outcome, previous) {
                    (Ok(place), Some(previous)) => format!(
                        "{monitor} improved from {previous:.5} to {value:.5}; model saved to {place}"
                    ),
                    (Ok(place), None) => format!("{monitor} = {value:.5}; model saved to {place}"),
                    (Err(error), _) => format!("saving the checkpoint failed: {error}"),
                };
                events.push(CallbackEvent {
                    epoch,
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
                });
            }
        }
        // ReduceLROnPlateau.
        if let Some(reduce) = state.callbacks.reduce_lr.as_mut() {
            let monitor = reduce.config.monitor;
            if let Some(new_rate) =
                reduce.on_epoch_end(monitor.value(&metrics), state.learning_rate)
            {
                events.push(CallbackEvent {
                    epoch,
                    callback: "ReduceLROnPlateau".into(),
                    action: "reduce_lr".into(),
                    old_value: Some(state.learning_rate),
                    new_value: Some(new_rate),
                    message: format!(
                        "{monitor} did not improve for {} epoch(s); learning rate {:.3e} -> {:.3e}",
                        reduce.config.patience, state.learning_rate, new_rate
                    ),
                });
                state.learning_rate = new_rate;
            }
        }
        // EarlyStopping.
        let mut stop = false;
        if let Some(early) = state.callbacks.early_stopping.as_mut() {
            let monitor = early.config.monitor;
            match early.on_epoch_end(epoch, monitor.value(&metrics)) {
                EarlyStoppingDecision::Improved => {
                    if early.config.restore_best_weights {
                        best = Some((epoch, inference.clone()));
                    }
                }
                EarlyStoppingDecision::Waiting { .. } => {}
                EarlyStoppingDecision::Stop {
                    best_epoch,
                    best: best_value,
                } => {
                    stop = true;
                    events.push(CallbackEvent {
                        epoch,
                        callback: "EarlyStopping".into(),
                        action: "stop".into(),
                        old_value: Some(best_value),
                        new_value: Some(monitor.value(&metrics)),
                        message: format!(
                            "{monitor} has not improved on {best_value:.5} (epoch {best_epoch}) for {} epoch(s); stopping",
                            early.config.patience
                        ),
                    });
                    if early.config.restore_best_weights {
                        if let Some((best_epoch, best_model)) = best.take() {
                            model = best_model.fork(&train_device);
                            weights_from_epoch = best_epoch;
                            events.push(CallbackEvent {
                                epoch,
                                callback: "EarlyStopping".into(),
                                action: "restore_best_weights".into(),
                                old_value: Some(epoch as f64),
                                new_value: Some(best_epoch as f64),
                                message: format!("restored the weights of epoch {best_epoch} ({monitor} {best_value:.5})"),
                            });
                        }
                    }
                }
            }
        }
        for event in events {
            meta.callback_events.push(event.clone());
            host.event(TrainingEvent::Callback(event));
        }

        // The resume point after this epoch.
        meta.resume = Some(state.clone());
        let snapshot = model.valid();
        last_good = Some((weights_from_epoch, snapshot.clone()));
        let saved = save_checkpoint(host, CheckpointSlot::Last, &meta, &snapshot).await;
        // Training goes on, but the user must know that there is no resume point.
        if let Err(error) = saved {
            host.event(TrainingEvent::Notice {
                message: format!(
                    "the checkpoint after epoch {epoch} could not be saved ({error}); \
                     training goes on, but cannot resume from this epoch"
                ),
            });
        }
        if stop {
            reason = StopReason::EarlyStopping;
            break;
        }
    }

    // As in Keras 3: with restore_best_weights the best epoch's weights are the result when
    // all epochs ran without an early stop, too (restore_best_weights: false keeps the last).
    if reason == StopReason::Completed
        && let Some((best_epoch, best_model)) = best.take()
        && best_epoch != weights_from_epoch
    {
        model = best_model.fork(&train_device);
        let event = CallbackEvent {
            epoch: state.epochs_completed,
            callback: "EarlyStopping".into(),
            action: "restore_best_weights".into(),
            old_value: Some(weights_from_epoch as f64),
            new_value: Some(best_epoch as f64),
            message: format!(
                "training ended; restored the weights of epoch {best_epoch}, the best one"
            ),
        };
        weights_from_epoch = best_epoch;
        meta.callback_events.push(event.clone());
        host.event(TrainingEvent::Callback(event));
    }
    host.event(TrainingEvent::Finished {
        reason,
        epochs_completed: state.epochs_completed,
        weights_from_epoch,
    });
    meta.resume = Some(state);
    Ok(TrainingOutcome {
        model: model.valid(),
        meta,
        reason,
        weights_from_epoch,
    })
}
