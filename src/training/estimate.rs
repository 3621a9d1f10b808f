//! How long a run will take on this device, said before it starts, so that a user who asks
//! for a pretrained network at 224 px on a CPU knows before waiting (issue 25, item 3).
//!
//! Measured, not modelled: [`estimate`] starts the run itself (its data, settings, network,
//! device and second replica) and stops it after its first batches, then times one batch of
//! inference. The first batch is not timed (it pays for kernel compilation, autotuning and
//! the first allocations); the next ones are. [`RunEstimate::project`] scales the measured
//! rates to the whole run: every epoch's batches, the validation after each epoch (on the
//! cached features when there are), the frozen backbone's features computed once for a
//! head-only run, and the test set at the end.

use serde::{Deserialize, Serialize};

use super::epoch::{EVAL_BATCH, score};
use super::features;
use super::run::{Start, TrainingData};
use super::{
    CheckpointSlot, GradientPeer, NoCheckpoints, TrainingConfig, TrainingError, TrainingEvent,
    TrainingHost, train,
};
use crate::model::{Classifier, ModelConfig};
use burn::prelude::*;

/// Batches (or feature batches) timed after the untimed first one.
const TIMED: usize = 2;
/// The probe stops after one timed batch when that one took this long already (a batch of a
/// pretrained network at 224 px on a CPU takes most of a minute).
const ENOUGH_MS: f64 = 15_000.0;

/// What the measured run has to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Epochs still to run (all of them, unless early stopping ends the run sooner).
    pub epochs: usize,
    /// Training batches per epoch.
    pub batches: usize,
    /// Training images (features computed once for a head-only run on cached features).
    pub train: usize,
    /// Validation images, scored after every epoch.
    pub validation: usize,
    /// Test images, scored once at the end.
    pub test: usize,
    /// Whether the head trains on features computed once (`training::features`).
    pub cached_features: bool,
    /// Whether the head trains alone first, on features computed once, before the layers
    /// that the run trains (`training::head_first`).
    #[serde(default)]
    pub head_first: bool,
    /// Checkpoints saved after an epoch, at most (the resume point, and ModelCheckpoint's).
    #[serde(default)]
    pub saves_per_epoch: usize,
    /// Training images passed through the backbone once before the first epoch to fit its
    /// BatchNorm statistics (`training::adapt_norm`; 0 when the run keeps them).
    #[serde(default)]
    pub adapt_images: usize,
}

/// The rates measured on this device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// Seconds per training batch (`None` on cached features: the head's batches take
    /// milliseconds and none ran before the probe stopped).
    #[serde(with = "crate::json_float::option", default)]
    pub batch_seconds: Option<f64>,
    /// Images per second through the network (or the frozen backbone) without gradients.
    #[serde(with = "crate::json_float")]
    pub inference_images_per_second: f64,
    /// Batches timed after the untimed first one (0: the figures include the warm-up).
    pub timed_batches: usize,
    /// Seconds to read a checkpoint's weights back (timed once; encoding and storing the file
    /// come on top).
    #[serde(with = "crate::json_float", default)]
    pub checkpoint_seconds: f64,
    /// The run's second replica (the page's training helper) failed while the probe ran, and
    /// why: the rates above were then timed afresh on one core, which is what the rest of that
    /// run would have had (a new run starts a new helper).
    #[serde(default)]
    pub lost_replica: Option<String>,
}

/// One part of the run and its time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EstimatePart {
    /// What it is, for people.
    pub what: String,
    /// Its time.
    #[serde(with = "crate::json_float")]
    pub seconds: f64,
}

/// About how long a run will take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunEstimate {
    /// All parts together.
    #[serde(with = "crate::json_float")]
    pub seconds: f64,
    /// The parts.
    pub parts: Vec<EstimatePart>,
    /// What was measured.
    pub rates: Rates,
    /// What was projected from it.
    pub workload: Workload,
}

impl RunEstimate {
    /// `workload` at `rates`.
    pub fn project(workload: Workload, rates: Rates) -> Self {
        let inference = |images: usize| images as f64 / rates.inference_images_per_second;
        let mut parts = Vec::new();
        let mut add = |what: String, seconds: f64| {
            if seconds > 0.0 {
                parts.push(EstimatePart { what, seconds });
            }
        };
        let (train, validation, epochs) = (workload.train, workload.validation, workload.epochs);
        add(
            format!(
                "first the backbone's BatchNorm statistics from {} training images, one pass",
                workload.adapt_images
            ),
            inference(workload.adapt_images),
        );
        match rates.batch_seconds {
            Some(batch) if !workload.cached_features => {
                let batches = workload.batches;
                add(
                    format!("{epochs} epoch(s) of {batches} training batches"),
                    (epochs * batches) as f64 * batch,
                );
                add(
                    format!("validation of {validation} images after each epoch"),
                    epochs as f64 * inference(validation),
                );
            }
            _ => add(
                format!(
                    "the frozen backbone's features of {train} training and {validation} validation images, once (the head then trains on them in seconds)"
                ),
                inference(train + validation),
            ),
        }
        if workload.head_first && !workload.cached_features {
            add(
                format!(
                    "first the head alone: the frozen backbone's features of {train} training and {validation} validation images, once"
                ),
                inference(train + validation),
            );
        }
        add(
            format!(
                "up to {} checkpoint(s) after each epoch",
                workload.saves_per_epoch
            ),
            (epochs * workload.saves_per_epoch) as f64 * rates.checkpoint_seconds,
        );
        add(
            format!("the test set, {} images, at the end", workload.test),
            inference(workload.test),
        );
        Self {
            seconds: parts.iter().map(|p| p.seconds).sum(),
            parts,
            rates,
            workload,
        }
    }

    /// One line for people: the total, then the parts.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|p| format!("{}: {}", p.what, duration_text(p.seconds)))
            .collect();
        let one_core = match &self.rates.lost_replica {
            Some(why) => format!(" (timed on one core: {why})"),
            None => String::new(),
        };
        format!(
            "about {} on this device{one_core}: {}",
            duration_text(self.seconds),
            parts.join("; ")
        )
    }
}

/// `seconds` rounded for people: "under a second", "40 s", "3 min 20 s", "2 h 05 min".
pub fn duration_text(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "an unknown time".into();
    }
    let s = seconds.round() as u64;
    match s {
        0 => "under a second".into(),
        1..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// Starts the run `config` of `network` on `data` from `start` on `device`, stops it after
/// its first batches and times a batch of inference: about how long the whole run, with
/// `test` images scored at the end, will take. The host's events are not passed on (the run
/// did not happen) and no checkpoint is stored; its Stop stops the probe.
pub async fn estimate<H: TrainingHost>(
    data: &TrainingData<'_>,
    config: &TrainingConfig,
    network: &ModelConfig,
    start: Start,
    test: usize,
    device: &Device,
    host: &mut H,
) -> Result<RunEstimate, TrainingError> {
    // One report per batch, so that each batch's end is seen.
    // The head trained first is not probed: its features take what a pass of inference
    // takes (timed below), and its epochs on them seconds.
    let probe_config = TrainingConfig {
        log_every: 1,
        head_first: false,
        ..config.clone()
    };
    let epochs_done = match &start {
        Start::Resume { state, .. } => state.epochs_completed,
        _ => 0,
    };
    let mut probe = Probe::new(host);
    let sink = &mut NoCheckpoints;
    let outcome = train(
        data,
        &probe_config,
        network,
        start,
        device,
        (&mut probe, sink),
    )
    .await?;
    if probe.stopped {
        return Err(TrainingError::Invalid(
            "stopped before enough batches were timed".into(),
        ));
    }
    let started = probe
        .started
        .ok_or_else(|| TrainingError::Invalid("the run did not start".into()))?;
    let cached_features = features::applies(config, network);
    let (inference, timed) = match cached_features {
        true => probe.rate(&probe.feature_marks),
        false => (None, 0),
    };
    let (batch_seconds, timed) = match cached_features {
        true => (None, timed),
        false => {
            let (batches_per_second, timed) = probe.rate(&probe.batch_marks);
            (batches_per_second.map(|rate| 1.0 / rate), timed)
        }
    };
    let lost_replica = probe.lost_replica.take();
    let inference = match inference {
        Some(rate) => rate,
        None => inference_rate(&outcome.model, data, device, host).await?,
    };
    let readback = host.now_ms();
    crate::model::parameter_values(&outcome.model)
        .await
        .map_err(TrainingError::Execution)?;
    let checkpoint_seconds = (host.now_ms() - readback) / 1000.0;
    let workload = Workload {
        epochs: started.epochs,
        batches: started.batches,
        train: data.train.len(),
        validation: data.validation.len(),
        test,
        cached_features,
        head_first: config.trains_head_first(network, epochs_done),
        saves_per_epoch: 1 + usize::from(config.callbacks.checkpoint.is_some()),
        adapt_images: match config.adapts_norm(network, epochs_done) {
            true => data.train.len().min(super::ADAPT_IMAGES),
            false => 0,
        },
    };
    let rates = Rates {
        batch_seconds,
        inference_images_per_second: inference,
        timed_batches: timed,
        checkpoint_seconds,
        lost_replica,
    };
    if !cached_features && rates.batch_seconds.is_none() {
        return Err(TrainingError::Invalid(
            "no training batch ran before the probe ended".into(),
        ));
    }
    Ok(RunEstimate::project(workload, rates))
}

/// Images per second of `model` (inference mode) on the first validation images, in the
/// batches the evaluation uses: one untimed batch, then one timed.
async fn inference_rate<H: TrainingHost>(
    model: &Classifier,
    data: &TrainingData<'_>,
    device: &Device,
    host: &mut H,
) -> Result<f64, TrainingError> {
    let side = data.dataset.shape.size() as usize;
    let samples = match data.validation.is_empty() {
        true => &data.train,
        false => &data.validation,
    };
    let batch = model.inference_batch(side, EVAL_BATCH).min(samples.len());
    let chunk = &samples[..batch];
    let failed = |e: burn::tensor::ExecutionError| TrainingError::Execution(e.to_string());
    let first = host.now_ms();
    score(model, data.dataset, chunk, device)
        .await
        .map_err(failed)?;
    let warm = host.now_ms();
    if warm - first > ENOUGH_MS {
        return Ok(batch as f64 / ((warm - first) / 1000.0));
    }
    score(model, data.dataset, chunk, device)
        .await
        .map_err(failed)?;
    Ok(batch as f64 / ((host.now_ms() - warm) / 1000.0).max(1e-6))
}

/// The run's plan as its `Started` event said it.
#[derive(Clone, Copy)]
struct Started {
    epochs: usize,
    batches: usize,
}

/// The host of the probe run: notes when each batch (or feature batch) ends and asks the run
/// to stop once enough are timed; passes Stop and the second replica on, nothing else. When
/// that replica fails, the probe keeps why and times afresh from there (on one core).
struct Probe<'h, H> {
    inner: &'h mut H,
    started: Option<Started>,
    /// (ms, batches done) at the end of each training batch.
    batch_marks: Vec<(f64, usize)>,
    /// (ms, images done) at the end of each feature batch.
    feature_marks: Vec<(f64, usize)>,
    /// The user stopped the probe.
    stopped: bool,
    /// When the probe began (ms).
    begun_ms: f64,
    /// Why the second replica failed, if it did.
    lost_replica: Option<String>,
    /// Feature images done before the marks started again (after a lost replica).
    features_before: usize,
}

impl<'h, H: TrainingHost> Probe<'h, H> {
    fn new(inner: &'h mut H) -> Self {
        Self {
            begun_ms: inner.now_ms(),
            inner,
            started: None,
            batch_marks: Vec::new(),
            feature_marks: Vec::new(),
            stopped: false,
            lost_replica: None,
            features_before: 0,
        }
    }

    /// Units (batches or images) per second between the first mark and the last, and the
    /// batches between them; from the start of the probe when there is one mark only (its
    /// warm-up included).
    fn rate(&self, marks: &[(f64, usize)]) -> (Option<f64>, usize) {
        match marks {
            [] => (None, 0),
            [(ms, done)] => {
                let seconds = ((ms - self.begun_ms) / 1000.0).max(1e-6);
                (Some(*done as f64 / seconds), 0)
            }
            [first, .., last] => {
                let seconds = ((last.0 - first.0) / 1000.0).max(1e-6);
                (Some((last.1 - first.1) as f64 / seconds), marks.len() - 1)
            }
        }
    }
}

/// Whether `marks` time enough: the untimed first and [`TIMED`] more, or one more that
/// already took [`ENOUGH_MS`].
fn enough(marks: &[(f64, usize)]) -> bool {
    match marks {
        [first, .., last] => marks.len() > TIMED || last.0 - first.0 >= ENOUGH_MS,
        _ => false,
    }
}

impl<H: TrainingHost> TrainingHost for Probe<'_, H> {
    fn event(&mut self, event: TrainingEvent) {
        let now = self.inner.now_ms();
        match event {
            TrainingEvent::Started {
                first_epoch,
                epochs,
                batches,
                ..
            } => {
                self.started = Some(Started {
                    epochs: (epochs + 1).saturating_sub(first_epoch),
                    batches,
                });
            }
            TrainingEvent::Batch(_) => {
                let done = self.batch_marks.len() + 1;
                self.batch_marks.push((now, done));
            }
            TrainingEvent::Features { done, .. } => {
                let done = done.saturating_sub(self.features_before);
                self.feature_marks.push((now, done));
            }
            // What was timed so far had two cores; the rest of the run has one: start again.
            TrainingEvent::ReplicaLost { message } => {
                self.lost_replica = Some(message);
                self.features_before += self.feature_marks.last().map_or(0, |m| m.1);
                self.batch_marks.clear();
                self.feature_marks.clear();
                self.begun_ms = now;
            }
            _ => {}
        }
    }

    async fn proceed(&mut self) -> bool {
        if enough(&self.batch_marks) || enough(&self.feature_marks) {
            return false;
        }
        let go_on = self.inner.proceed().await;
        self.stopped |= !go_on;
        go_on
    }

    fn now_ms(&self) -> f64 {
        self.inner.now_ms()
    }

    async fn store(&mut self, _: CheckpointSlot, _: &[u8]) -> Result<String, String> {
        Ok("not stored (a timing probe)".into())
    }

    fn take_peer(&mut self) -> Option<Box<dyn GradientPeer>> {
        self.inner.take_peer()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rates of two timed batches: seconds a batch, images a second, seconds a checkpoint.
    fn rates(batch_seconds: Option<f64>, images_per_second: f64, checkpoint: f64) -> Rates {
        Rates {
            batch_seconds,
            inference_images_per_second: images_per_second,
            timed_batches: 2,
            checkpoint_seconds: checkpoint,
            lost_replica: None,
        }
    }

    fn workload(cached_features: bool) -> Workload {
        Workload {
            epochs: 5,
            batches: 4,
            train: 120,
            validation: 40,
            test: 60,
            cached_features,
            head_first: false,
            saves_per_epoch: 0,
            adapt_images: 0,
        }
    }

    #[test]
    fn a_run_on_images_pays_every_epoch_and_the_test_set_once() {
        let rates = rates(Some(2.0), 20.0, 0.5);
        let estimate = RunEstimate::project(workload(false), rates.clone());
        // 5 epochs x 4 batches x 2 s, 5 x 40 validation images / 20, 60 test images / 20.
        assert_eq!(estimate.seconds, 40.0 + 10.0 + 3.0);
        assert_eq!(estimate.parts.len(), 3);
        // Two checkpoints after each of the 5 epochs, half a second each.
        let saving = Workload {
            saves_per_epoch: 2,
            ..workload(false)
        };
        assert_eq!(RunEstimate::project(saving, rates).seconds, 53.0 + 5.0);
    }

    #[test]
    fn cached_features_are_paid_once_whatever_the_epochs() {
        let rates = rates(None, 8.0, 0.0);
        let five = RunEstimate::project(workload(true), rates.clone());
        let fifty = RunEstimate::project(
            Workload {
                epochs: 50,
                ..workload(true)
            },
            rates,
        );
        // (120 + 40) / 8 features once, 60 / 8 test images.
        assert_eq!(five.seconds, 20.0 + 7.5);
        assert_eq!(fifty.seconds, five.seconds);
    }

    #[test]
    fn training_the_head_first_adds_one_feature_pass() {
        let rates = rates(Some(2.0), 20.0, 0.0);
        let first = Workload {
            head_first: true,
            ..workload(false)
        };
        let estimate = RunEstimate::project(first, rates);
        // 53 s as without it (above), and (120 + 40) / 20 for the features.
        assert_eq!(estimate.seconds, 53.0 + 8.0);
        assert!(estimate.describe().contains("first the head alone"));
    }

    #[test]
    fn fitting_the_batchnorm_statistics_adds_one_pass_over_its_images() {
        let rates = rates(Some(2.0), 20.0, 0.0);
        let adapting = Workload {
            adapt_images: 100,
            ..workload(false)
        };
        let estimate = RunEstimate::project(adapting, rates);
        // 53 s as without it (above), and 100 / 20 for the pass.
        assert_eq!(estimate.seconds, 53.0 + 5.0);
        assert!(
            estimate
                .describe()
                .contains("BatchNorm statistics from 100 training images, one pass: 5 s")
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration_text(0.2), "under a second");
        assert_eq!(duration_text(42.4), "42 s");
        assert_eq!(duration_text(200.0), "3 min 20 s");
        assert_eq!(duration_text(7500.0), "2 h 05 min");
        assert_eq!(duration_text(f64::NAN), "an unknown time");
    }

    /// A host whose clock the test sets.
    struct Clock(f64);

    impl TrainingHost for Clock {
        fn event(&mut self, _: TrainingEvent) {}
        async fn proceed(&mut self) -> bool {
            true
        }
        fn now_ms(&self) -> f64 {
            self.0
        }
        async fn store(&mut self, _: CheckpointSlot, _: &[u8]) -> Result<String, String> {
            Ok(String::new())
        }
    }

    fn batch() -> TrainingEvent {
        TrainingEvent::Batch(crate::training::BatchMetrics {
            epoch: 1,
            batch: 1,
            batches: 9,
            loss: 1.0,
            accuracy: 0.5,
            learning_rate: 1e-3,
            images_per_second: 1.0,
        })
    }

    /// `events` at their times (ms) into a probe begun at 0: its batch rate and its feature
    /// rate (per second, with the timed marks), and why a replica was lost.
    fn probed(events: Vec<(f64, TrainingEvent)>) -> ((f64, usize), (f64, usize), Option<String>) {
        let mut clock = Clock(0.0);
        let mut probe = Probe::new(&mut clock);
        for (ms, event) in events {
            probe.inner.0 = ms;
            probe.event(event);
        }
        let batches = probe.rate(&probe.batch_marks);
        let features = probe.rate(&probe.feature_marks);
        (
            (batches.0.unwrap_or(0.0), batches.1),
            (features.0.unwrap_or(0.0), features.1),
            probe.lost_replica.clone(),
        )
    }

    #[test]
    fn a_lost_replica_is_kept_and_the_batches_are_timed_again_on_one_core() {
        let lost = || TrainingEvent::ReplicaLost {
            message: "the helper crashed".into(),
        };
        // Two cores: a batch each 100 ms; then one: the timed batches are the last two only,
        // 200 ms each, not an average over both.
        let (batches, _, why) = probed(vec![
            (100.0, batch()),
            (200.0, batch()),
            (250.0, lost()),
            (450.0, batch()),
            (650.0, batch()),
            (850.0, batch()),
        ]);
        assert_eq!(batches, (5.0, 2));
        assert_eq!(why.as_deref(), Some("the helper crashed"));
        // Features: 34 images a step on two cores, then one 17-image step alone in 1 s,
        // timed from the loss and counting its own images only (its warm-up included).
        let features = |done| TrainingEvent::Features {
            done,
            total: 200,
            seconds: 0.0,
        };
        let (_, features, _) = probed(vec![
            (500.0, features(34)),
            (700.0, features(68)),
            (1_000.0, lost()),
            (2_000.0, features(85)),
        ]);
        assert_eq!(features, (17.0, 0));
        // Without a loss, nothing is said.
        let (batches, _, why) = probed(vec![(100.0, batch()), (300.0, batch())]);
        assert_eq!((batches, why), ((5.0, 1), None));
    }

    #[test]
    fn the_probe_stops_after_the_timed_batches_or_one_long_one() {
        assert!(!enough(&[(0.0, 1)]));
        assert!(!enough(&[(0.0, 1), (100.0, 2)]));
        assert!(enough(&[(0.0, 1), (100.0, 2), (200.0, 3)]));
        assert!(enough(&[(0.0, 1), (ENOUGH_MS, 2)]));
    }
}
