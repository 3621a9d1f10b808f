//! A training epoch (batches, with the loss read back once per logging interval) and a
//! validation epoch.

use burn::prelude::*;
use burn::tensor::ExecutionError;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::error::execution_error;
use super::features::FeatureCache;
use super::loss::{BatchLoss, batch_loss, read_sums};
use super::norm_momentum::norm_momentum;
use super::run::{Run, mix};
use super::step::{Batch, StepSums, step};
use super::{
    BatchMetrics, CallbackEvent, EpochMetrics, TrainingError, TrainingEvent, TrainingHost,
};
use crate::data::{Dataset, batch_pixels, make_batch};
use crate::model::Classifier;

/// Images per batch when scoring (no gradients, so larger batches fit).
pub const EVAL_BATCH: usize = 256;

/// How a training epoch ended.
pub(super) enum EpochEnd {
    /// All batches ran.
    Trained(Trained),
    /// The host asked to stop.
    Stopped,
    /// The loss turned non-finite; the best weights known were restored.
    Diverged,
}

/// Sums over a training epoch.
#[derive(Default)]
pub(super) struct Trained {
    loss: f64,
    correct: f64,
    seen: usize,
    seconds: f64,
}

/// The batches since the last readback.
struct Interval {
    sums: Option<(Tensor<1>, Tensor<1, Int>)>,
    peer_loss: f64,
    peer_correct: f64,
    images: usize,
    start_ms: f64,
}

impl Interval {
    fn new(now_ms: f64) -> Self {
        Self {
            sums: None,
            peer_loss: 0.0,
            peer_correct: 0.0,
            images: 0,
            start_ms: now_ms,
        }
    }

    fn add(&mut self, step: StepSums, images: usize) {
        self.sums = Some(match self.sums.take() {
            Some((l, c)) => (l + step.loss, c + step.correct),
            None => (step.loss, step.correct),
        });
        self.peer_loss += step.peer_loss;
        self.peer_correct += step.peer_correct;
        self.images += images;
    }

    /// Reads the interval's loss sum and correct count back in one transaction.
    async fn read(&mut self, epochs_completed: usize) -> Result<(f64, f64), TrainingError> {
        let (l, c) = self.sums.take().expect("a batch was added");
        let (loss, correct) = read_sums(l, c)
            .await
            .map_err(|e| execution_error(e, epochs_completed))?;
        let loss = loss + std::mem::take(&mut self.peer_loss);
        let correct = correct + std::mem::take(&mut self.peer_correct);
        Ok((loss, correct))
    }
}

/// Runs the batches of `epoch` in its seeded order.
pub(super) async fn train_epoch<H: TrainingHost>(
    run: &mut Run<'_>,
    epoch: usize,
    host: &mut H,
) -> Result<EpochEnd, TrainingError> {
    let (config, data) = (run.config, run.data);
    let epoch_start = host.now_ms();
    let order = config.sampling.order(
        &data.train,
        |i| data.dataset.samples[i].label,
        data.dataset.classes.len(),
        &mut ChaCha8Rng::seed_from_u64(mix(config.seed, epoch as u64)),
    );
    let mut augment_rng = ChaCha8Rng::seed_from_u64(mix(config.seed ^ 0xA5A5, epoch as u64));
    let learning_rate = run.state.learning_rate;
    let (batches, log_every) = (run.batches(), config.log_every.max(1));
    let mut trained = Trained::default();
    let mut interval = Interval::new(host.now_ms());
    for (index, chunk) in order.chunks(config.batch_size).enumerate() {
        if !host.proceed().await {
            return Ok(EpochEnd::Stopped);
        }
        let (pixels, labels) = match run.features {
            Some(_) => (Vec::new(), labels_of(data.dataset, chunk)),
            None => {
                let augment = config.augmentation.as_ref().map(|a| (a, &mut augment_rng));
                batch_pixels(data.dataset, chunk, augment)
            }
        };
        let batch = Batch {
            pixels,
            samples: chunk,
            labels,
        };
        let steps_before = run.state.epochs_completed * batches + index;
        run.model
            .set_norm_momentum(norm_momentum(steps_before, batches));
        let sums = step(run, batch, learning_rate, host).await?;
        interval.add(sums, chunk.len());
        let batch = index + 1;
        if batch % log_every != 0 && batch != batches {
            continue;
        }
        let (loss_sum, correct) = interval.read(run.state.epochs_completed).await?;
        let seconds = ((host.now_ms() - interval.start_ms) / 1000.0).max(1e-9);
        host.event(TrainingEvent::Batch(BatchMetrics {
            epoch,
            batch,
            batches,
            loss: loss_sum / interval.images as f64,
            accuracy: correct / interval.images as f64,
            learning_rate,
            images_per_second: interval.images as f64 / seconds,
        }));
        if !loss_sum.is_finite() {
            terminate_on_nan(run, epoch, batch, loss_sum, host);
            return Ok(EpochEnd::Diverged);
        }
        trained.loss += loss_sum;
        trained.correct += correct;
        trained.seen += interval.images;
        interval = Interval::new(host.now_ms());
    }
    trained.seconds = (host.now_ms() - epoch_start) / 1000.0;
    Ok(EpochEnd::Trained(trained))
}

/// Keras' `TerminateOnNaN`, and back to the best weights known: the best epoch by the
/// monitored metric, else the last completed epoch, else the starting weights.
fn terminate_on_nan<H: TrainingHost>(
    run: &mut Run<'_>,
    epoch: usize,
    batch: usize,
    loss_sum: f64,
    host: &mut H,
) {
    let (restored_epoch, restored) = run
        .best
        .take()
        .or_else(|| run.last_good.take())
        .unwrap_or_else(|| run.start_weights.clone());
    let restored_what = if restored_epoch > 0 {
        format!("the weights of epoch {restored_epoch} were restored")
    } else {
        "the starting weights were restored".to_string()
    };
    let event = CallbackEvent {
        epoch,
        callback: "TerminateOnNaN".into(),
        action: "terminate".into(),
        old_value: None,
        new_value: Some(loss_sum),
        message: format!(
            "loss became {loss_sum} at epoch {epoch}, batch {batch}; training stopped and {restored_what}"
        ),
    };
    run.callback_event(event, host);
    run.model = restored.fork(&run.train_device);
    run.weights_from_epoch = restored_epoch;
}

/// Scores the validation images and completes the epoch's metrics.
pub(super) async fn validate_epoch<H: TrainingHost>(
    run: &Run<'_>,
    inference: &Classifier,
    trained: Trained,
    epoch_start: f64,
    host: &mut H,
) -> Result<EpochMetrics, TrainingError> {
    let validation = score_inputs(
        inference,
        run.data.dataset,
        &run.data.validation,
        &run.device,
        run.features.as_ref(),
    )
    .await
    .map_err(|e| execution_error(e, run.state.epochs_completed))?;
    let epoch = run.state.epochs_completed + 1;
    Ok(EpochMetrics {
        epoch,
        loss: trained.loss / trained.seen.max(1) as f64,
        accuracy: trained.correct / trained.seen.max(1) as f64,
        val_loss: validation.loss,
        val_accuracy: validation.accuracy,
        val_auc: validation.auc,
        learning_rate: run.state.learning_rate,
        seconds: (host.now_ms() - epoch_start) / 1000.0,
        train_seconds: trained.seconds,
        images_per_second: trained.seen as f64 / trained.seconds.max(1e-9),
    })
}

/// The labels of `samples`, as the loss takes them.
fn labels_of(dataset: &Dataset, samples: &[usize]) -> Vec<i32> {
    samples
        .iter()
        .map(|&i| dataset.samples[i].label as i32)
        .collect()
}

/// Mean loss and accuracy of `model` (inference mode) on `indices`, read back once.
pub async fn score(
    model: &Classifier,
    dataset: &Dataset,
    indices: &[usize],
    device: &Device,
) -> Result<(f64, f64), ExecutionError> {
    let scored = score_inputs(model, dataset, indices, device, None).await?;
    Ok((scored.loss, scored.accuracy))
}

/// What a scoring pass over a set of images found.
struct Scored {
    /// Mean cross-entropy.
    loss: f64,
    /// Share classified right at the argmax.
    accuracy: f64,
    /// Two classes: the ROC AUC of class 1 (`None` otherwise, or without both classes).
    auc: Option<f64>,
}

/// Two classes: the ROC AUC of class 1 from each image's logit margin (class 1's logit less
/// class 0's, which ranks the images as P(class 1) does), read back once.
async fn margin_auc(
    margins: Vec<Tensor<1>>,
    dataset: &Dataset,
    indices: &[usize],
) -> Result<Option<f64>, ExecutionError> {
    if margins.is_empty() {
        return Ok(None);
    }
    let scores = Tensor::cat(margins, 0)
        .into_data_async()
        .await?
        .try_into_vec::<f32>()
        .unwrap_or_default();
    let positives: Vec<bool> = indices
        .iter()
        .map(|&i| dataset.samples[i].label == 1)
        .collect();
    Ok(super::auc::rank_auc(&scores, &positives))
}

/// [`score`], from the cached features of `indices` where there are.
async fn score_inputs(
    model: &Classifier,
    dataset: &Dataset,
    indices: &[usize],
    device: &Device,
    cache: Option<&FeatureCache>,
) -> Result<Scored, ExecutionError> {
    if indices.is_empty() {
        let (loss, accuracy, auc) = (f64::NAN, f64::NAN, None);
        return Ok(Scored {
            loss,
            accuracy,
            auc,
        });
    }
    let two_classes = dataset.classes.len() == 2;
    let mut margins = Vec::new();
    let mut sums: Option<(Tensor<1>, Tensor<1, Int>)> = None;
    let batch = match cache {
        Some(_) => EVAL_BATCH,
        None => model.inference_batch(dataset.shape.size() as usize, EVAL_BATCH),
    };
    for chunk in indices.chunks(batch) {
        let (logits, labels) = match cache {
            Some(cache) => {
                let labels = labels_of(dataset, chunk);
                let labels =
                    Tensor::<1, Int>::from_data(TensorData::new(labels, [chunk.len()]), device);
                (cache.inputs(chunk, device).logits(model), labels)
            }
            None => {
                let (images, labels) = make_batch(dataset, chunk, None, device);
                (model.forward(images), labels)
            }
        };
        if two_classes {
            let n = chunk.len();
            let margin = logits.clone().slice([0..n, 1..2]) - logits.clone().slice([0..n, 0..1]);
            margins.push(margin.reshape([n]));
        }
        let BatchLoss { sum, correct, .. } = batch_loss(logits, labels, None);
        sums = Some(match sums {
            Some((l, c)) => (l + sum, c + correct),
            None => (sum, correct),
        });
    }
    let (loss, correct) = sums.expect("at least one batch");
    let (loss, correct) = read_sums(loss, correct).await?;
    let n = indices.len() as f64;
    Ok(Scored {
        loss: loss / n,
        accuracy: correct / n,
        auc: margin_auc(margins, dataset, indices).await?,
    })
}
