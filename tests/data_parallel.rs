#![cfg(not(target_arch = "wasm32"))]
//! Data parallelism on the CPU path (the page's second core): a replica on another thread
//! computes the gradient of half of each batch; the trainer combines the halves into the
//! gradient of the whole batch. Real MedNIST images, Flex CPU backend.

mod common;

use burn::prelude::*;
use futures::future::LocalBoxFuture;
use medclassify::data::{
    Dataset, InputShape, SplitConfig, Subset, batch_pixels, images_tensor, split_dataset,
};
use medclassify::model::{ModelConfig, SeedConfig};
use medclassify::native::{TerminalHost, ThreadPeer, load_folder};
use medclassify::training::{
    CallbackSettings, GradientPeer, GradientReplica, Inputs, PeerGradients, PeerSetup, PeerStep,
    Start, StopReason, TrainingConfig, TrainingData, TrainingEvent, combine_gradients, estimate,
    flat_gradients, flat_weights, part_gradients,
};

/// The Flex backend draws from one process-wide generator: runs take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn fixture() -> (Dataset, medclassify::data::Split) {
    let (dataset, _) = load_folder(&common::fixture(), InputShape::square(32), 2).unwrap();
    let split = split_dataset(&dataset, &SplitConfig::default()).unwrap();
    (dataset, split)
}

/// The seed network without dropout, so that two runs differ only by arithmetic order.
fn seed_without_dropout(dataset: &Dataset) -> ModelConfig {
    ModelConfig::Seed(
        SeedConfig::new(dataset.classes.len(), dataset.shape.side()).with_dropout(0.0),
    )
}

fn labels_tensor(labels: &[i32], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(labels.to_vec(), [labels.len()]), device)
}

/// The gradient of the whole batch and the one combined from the two halves (the second
/// computed by a replica loaded with the first's flat weights), flat.
fn whole_and_combined(
    model_config: &ModelConfig,
    dataset: &Dataset,
    batch: &[usize],
    class_weights: Option<Vec<f32>>,
) -> (Vec<f32>, Vec<f32>) {
    let weights = class_weights.as_deref();
    let device = Device::flex();
    let train_device = device.clone().autodiff();
    let model = model_config.init(&train_device);
    let shape = dataset.shape;
    let (pixels, labels) = batch_pixels(dataset, batch, None);

    let (whole, _, _) = part_gradients(
        &model,
        Inputs::Images(images_tensor(&pixels, shape, &train_device)),
        labels_tensor(&labels, &train_device),
        weights,
    );
    let whole = pollster::block_on(flat_gradients(&model, &whole)).unwrap();

    let split = batch.len() - batch.len() / 2;
    let (own, _, _) = part_gradients(
        &model,
        Inputs::Images(images_tensor(
            &pixels[..split * shape.values()],
            shape,
            &train_device,
        )),
        labels_tensor(&labels[..split], &train_device),
        weights,
    );
    let mut replica = GradientReplica::new(
        &PeerSetup {
            model: model_config.clone(),
            seed: 7,
            class_weights: class_weights.clone(),
            transfer: None,
        },
        &device,
    );
    let step = PeerStep {
        weights: pollster::block_on(flat_weights(&model)).unwrap(),
        pixels: pixels[split * shape.values()..].to_vec(),
        labels: labels[split..].to_vec(),
    };
    let other = pollster::block_on(replica.compute(&step)).unwrap();
    assert_eq!(other.gradients.len(), replica.parameters());
    let combined = combine_gradients(
        &model,
        own,
        split,
        &other.gradients,
        batch.len() - split,
        &device,
    );
    let combined = pollster::block_on(flat_gradients(&model, &combined)).unwrap();
    (whole, combined)
}

fn assert_close(whole: &[f32], combined: &[f32], what: &str) {
    assert_eq!(whole.len(), combined.len());
    let scale = whole.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(
        scale > 1e-4,
        "{what}: the gradient is not trivially zero ({scale})"
    );
    let worst = whole
        .iter()
        .zip(combined)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        worst <= scale * 1e-4,
        "{what}: combined gradient differs from the whole batch's by {worst} (largest entry {scale})"
    );
}

#[test]
fn two_halves_combine_into_the_gradient_of_the_whole_batch() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (dataset, split) = fixture();
    let train = split.indices(Subset::Train);
    // An odd batch: the halves hold 17 and 16 images, so the shares must be weighed.
    let batch = &train[..33];
    let network = seed_without_dropout(&dataset);
    let (whole, combined) = whole_and_combined(&network, &dataset, batch, None);
    assert_close(&whole, &combined, "seed");
    // Class weights (Keras' class_weight: a mean over images) keep the split exact.
    let weights = Some(vec![0.5, 4.0, 1.0, 2.0, 1.5, 3.0]);
    let (whole, combined) = whole_and_combined(&network, &dataset, batch, weights);
    assert_close(&whole, &combined, "seed, class-weighted");
}

#[test]
fn a_replica_refuses_a_step_that_does_not_fit_it() {
    // Building a replica reseeds the process-wide generator: not while another test trains.
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (dataset, _) = fixture();
    let mut replica = GradientReplica::new(
        &PeerSetup {
            model: seed_without_dropout(&dataset),
            seed: 1,
            class_weights: None,
            transfer: None,
        },
        &Device::flex(),
    );
    let wrong_weights = PeerStep {
        weights: vec![0.0; 10],
        pixels: vec![0; 32 * 32],
        labels: vec![0],
    };
    let error = pollster::block_on(replica.compute(&wrong_weights)).unwrap_err();
    assert!(error.contains("the step carries 10"), "{error}");
    let wrong_pixels = PeerStep {
        weights: vec![0.0; replica.parameters()],
        pixels: vec![0; 100],
        labels: vec![0, 1],
    };
    let error = pollster::block_on(replica.compute(&wrong_pixels)).unwrap_err();
    assert!(
        error.contains("100 pixels do not make 2 images of 32x32"),
        "{error}"
    );
}

fn run(
    dataset: &Dataset,
    split: &medclassify::data::Split,
    config: &TrainingConfig,
    peer: Option<Box<dyn GradientPeer>>,
) -> (common::Outcome, TerminalHost<'static>) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let data = TrainingData {
        dataset,
        train: split.indices(Subset::Train),
        validation: split.indices(Subset::Validation),
    };
    let network = seed_without_dropout(dataset);
    let mut host = TerminalHost::new(None, true);
    host.peer = peer;
    let outcome = common::train_on(&data, config, &network, None, &Device::flex(), &mut host)
        .expect("training runs");
    (outcome, host)
}

fn config() -> TrainingConfig {
    TrainingConfig {
        epochs: 3,
        batch_size: 32,
        log_every: 1,
        callbacks: CallbackSettings {
            early_stopping: None,
            reduce_lr: None,
            checkpoint: None,
        },
        ..Default::default()
    }
}

fn batch_losses(host: &TerminalHost) -> Vec<f64> {
    host.events
        .iter()
        .filter_map(|e| match e {
            TrainingEvent::Batch(b) => Some(b.loss),
            _ => None,
        })
        .collect()
}

fn replicas(host: &TerminalHost) -> usize {
    host.events
        .iter()
        .find_map(|e| match e {
            TrainingEvent::Started { replicas, .. } => Some(*replicas),
            _ => None,
        })
        .unwrap()
}

fn notices(host: &TerminalHost) -> Vec<String> {
    host.events
        .iter()
        .filter_map(|e| match e {
            TrainingEvent::Notice { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn training_with_a_peer_follows_training_alone() {
    let (dataset, split) = fixture();
    let config = config();
    let (alone, alone_host) = run(&dataset, &split, &config, None);
    let (paired, paired_host) = run(
        &dataset,
        &split,
        &config,
        Some(Box::new(ThreadPeer::spawn())),
    );
    assert_eq!(replicas(&alone_host), 1);
    assert_eq!(replicas(&paired_host), 2);
    assert!(
        notices(&paired_host).is_empty(),
        "{:?}",
        notices(&paired_host)
    );
    let (a, b) = (batch_losses(&alone_host), batch_losses(&paired_host));
    assert_eq!(a.len(), b.len());
    assert_eq!(a.len(), 3 * 175usize.div_ceil(32));
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-3 * x.abs().max(1.0),
            "batch {i}: loss {x} alone, {y} with a peer"
        );
    }
    // The batch losses count every image: the peer's half is in them.
    for (x, y) in alone.meta.history.iter().zip(&paired.meta.history) {
        assert!(
            (x.accuracy - y.accuracy).abs() <= 2.0 / 175.0,
            "{x:?} vs {y:?}"
        );
        assert!(
            (x.val_loss - y.val_loss).abs() <= 1e-3 * x.val_loss.max(1.0),
            "{x:?} vs {y:?}"
        );
    }
    assert_eq!(paired.reason, StopReason::Completed);
}

/// A peer whose thread is stopped after `steps` answers: a helper that crashes mid-run.
struct CrashesAfter {
    peer: Option<ThreadPeer>,
    steps: usize,
}

impl GradientPeer for CrashesAfter {
    fn start(&mut self, setup: &PeerSetup) -> Result<(), String> {
        self.peer.as_mut().unwrap().start(setup)
    }

    fn submit(&mut self, step: PeerStep) -> Result<(), String> {
        match self.peer.as_mut() {
            Some(peer) => peer.submit(step),
            None => Err("the helper is gone".into()),
        }
    }

    fn gradients(&mut self) -> LocalBoxFuture<'_, Result<PeerGradients, String>> {
        if self.steps == 0 {
            // The thread ends (joined) with a step in flight.
            self.peer = None;
            return Box::pin(async { Err("the helper worker crashed".to_string()) });
        }
        self.steps -= 1;
        self.peer.as_mut().unwrap().gradients()
    }
}

#[test]
fn a_peer_that_crashes_mid_run_loses_no_batch() {
    let (dataset, split) = fixture();
    let config = config();
    let (alone, alone_host) = run(&dataset, &split, &config, None);
    let peer = CrashesAfter {
        peer: Some(ThreadPeer::spawn()),
        steps: 4,
    };
    let (crashed, host) = run(&dataset, &split, &config, Some(Box::new(peer)));
    assert_eq!(crashed.reason, StopReason::Completed);
    // Said once, as the loss of the replica (what the page's "2 cores" follows), not as
    // a plain notice.
    assert!(notices(&host).is_empty(), "{:?}", notices(&host));
    let lost: Vec<&String> = host
        .events
        .iter()
        .filter_map(|e| match e {
            TrainingEvent::ReplicaLost { message } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert!(
        lost[0].contains("the second training replica failed (the helper worker crashed)")
            && lost[0].contains("on one core"),
        "{lost:?}"
    );
    // Every batch was trained, the crashed one included, and the run matches one alone.
    let (a, b) = (batch_losses(&alone_host), batch_losses(&host));
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-3 * x.abs().max(1.0),
            "batch {i}: loss {x} alone, {y} with a crashing peer"
        );
    }
    assert_eq!(alone.meta.history.len(), crashed.meta.history.len());
}

/// The time estimate runs the run's first batches with its helper: a helper that fails there
/// is said in the estimate (which the page then shows as one core's time), and one that does
/// not fail is not.
#[test]
fn an_estimate_whose_helper_fails_says_so() {
    let (dataset, split) = fixture();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let data = TrainingData {
        dataset: &dataset,
        train: split.indices(Subset::Train),
        validation: split.indices(Subset::Validation),
    };
    let network = seed_without_dropout(&dataset);
    let (config, device) = (config(), Device::flex());
    let estimate_with = |peer: Box<dyn GradientPeer>| {
        let mut host = TerminalHost::new(None, true);
        host.peer = Some(peer);
        let run = estimate(
            &data,
            &config,
            &network,
            Start::Fresh,
            10,
            &device,
            &mut host,
        );
        pollster::block_on(run).expect("the estimate runs")
    };
    let crashing = CrashesAfter {
        peer: Some(ThreadPeer::spawn()),
        steps: 1,
    };
    let crashed = estimate_with(Box::new(crashing));
    let why = crashed.rates.lost_replica.as_deref().unwrap_or_default();
    assert!(
        why.contains("the second training replica failed (the helper worker crashed)"),
        "{why:?}"
    );
    assert_eq!(crashed.rates.timed_batches, 2, "timed again after the loss");
    assert!(
        crashed
            .describe()
            .contains("(timed on one core: the second"),
        "{}",
        crashed.describe()
    );
    let healthy = estimate_with(Box::new(ThreadPeer::spawn()));
    assert_eq!(healthy.rates.lost_replica, None);
    assert!(!healthy.describe().contains("one core"));
}
