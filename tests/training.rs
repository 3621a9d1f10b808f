#![cfg(not(target_arch = "wasm32"))]
//! Training on the Flex CPU backend with real MedNIST images: accuracy, callbacks, NaN
//! handling, resume, reproducibility.

mod common;

use burn::prelude::*;
use medclassify::data::{Dataset, DatasetBuilder, InputShape, SplitConfig, Subset, split_dataset};
use medclassify::evaluation::assess;
use medclassify::model::{ModelConfig, Preset};
use medclassify::native::{TerminalHost, load_folder};
use medclassify::storage::{ModelFile, encode_weights, parameter_values};
use medclassify::training::{
    AdamSettings, CallbackSettings, CheckpointConfig, ClassWeighting, EarlyStoppingConfig, Monitor,
    ReduceLrConfig, Sampling, StopReason, TrainingConfig, TrainingData, TrainingEvent,
    TrainingHost,
};

/// Burn's Flex backend draws initial weights and dropout masks from one process-wide
/// generator, so runs in this test binary take turns (the app runs one training at a time).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn run(
    dataset: &Dataset,
    split: &medclassify::data::Split,
    config: &TrainingConfig,
    resume: Option<&ModelFile>,
) -> (common::Outcome, TerminalHost<'static>) {
    run_with(
        dataset,
        split,
        config,
        resume,
        TerminalHost::new(None, true),
    )
}

/// [`run`] with the host given (one that writes checkpoints to files, say).
fn run_with(
    dataset: &Dataset,
    split: &medclassify::data::Split,
    config: &TrainingConfig,
    resume: Option<&ModelFile>,
    mut host: TerminalHost<'static>,
) -> (common::Outcome, TerminalHost<'static>) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let data = TrainingData {
        dataset,
        train: split.indices(Subset::Train),
        validation: split.indices(Subset::Validation),
    };
    let network = ModelConfig::new(config.preset, dataset.classes.len(), dataset.shape);
    // A resumed run continues the checkpoint's network.
    let network = resume.map_or(network, |file| file.meta.model.clone());
    let outcome = common::train_on(&data, config, &network, resume, &device, &mut host)
        .expect("training runs");
    (outcome, host)
}

fn fixture() -> (Dataset, medclassify::data::Split) {
    let (dataset, _) = load_folder(&common::fixture(), InputShape::square(32), 2).unwrap();
    let split = split_dataset(&dataset, &SplitConfig::default()).unwrap();
    (dataset, split)
}

#[test]
fn seed_network_learns_the_fixture_on_the_cpu() {
    let (dataset, split) = fixture();
    let config = TrainingConfig {
        epochs: 15,
        batch_size: 32,
        callbacks: CallbackSettings {
            early_stopping: None,
            ..Default::default()
        },
        ..Default::default()
    };
    let (outcome, host) = run(&dataset, &split, &config, None);
    assert_eq!(outcome.reason, StopReason::Completed);
    assert_eq!(outcome.meta.history.len(), 15);
    let first = &outcome.meta.history[0];
    let last = outcome.meta.history.last().unwrap();
    assert!(
        last.loss < first.loss * 0.5,
        "training loss must fall: {} -> {}",
        first.loss,
        last.loss
    );
    let assessment =
        pollster::block_on(assess(&outcome.model, &dataset, &split, &Device::flex())).unwrap();
    // 36 test images from a 175-image training set: the stated floor is 90%.
    assert!(
        assessment.evaluation.accuracy >= 0.90,
        "test accuracy {}",
        assessment.evaluation.accuracy
    );
    // One event per batch and per epoch.
    let batches = host
        .events
        .iter()
        .filter(|e| matches!(e, TrainingEvent::Batch(_)))
        .count();
    assert_eq!(batches, 15 * 175usize.div_ceil(32));
    assert!(matches!(
        host.events.last(),
        Some(TrainingEvent::Finished {
            reason: StopReason::Completed,
            ..
        })
    ));
}

#[test]
fn all_three_callbacks_fire_in_a_real_run() {
    let (dataset, split) = fixture();
    // min_delta larger than any change: only the first epoch counts as an improvement, so
    // the callbacks act on a known schedule while the network really trains.
    let config = TrainingConfig {
        epochs: 10,
        batch_size: 32,
        callbacks: CallbackSettings {
            early_stopping: Some(EarlyStoppingConfig {
                monitor: Monitor::ValLoss,
                min_delta: 10.0,
                patience: 3,
                restore_best_weights: true,
                start_from_epoch: 0,
            }),
            reduce_lr: Some(ReduceLrConfig {
                monitor: Monitor::Loss,
                factor: 0.5,
                patience: 1,
                min_delta: 10.0,
                cooldown: 0,
                min_lr: 1e-6,
            }),
            checkpoint: Some(CheckpointConfig {
                monitor: Monitor::ValAccuracy,
                save_best_only: true,
            }),
        },
        ..Default::default()
    };
    let dir = common::temp_dir("callbacks");
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let data = TrainingData {
        dataset: &dataset,
        train: split.indices(Subset::Train),
        validation: split.indices(Subset::Validation),
    };
    let network = ModelConfig::new(Preset::Seed, 6, InputShape::square(32));
    let mut host = TerminalHost::new(Some(dir.join("run.mcmodel")), true);
    let outcome = common::train_on(&data, &config, &network, None, &device, &mut host).unwrap();

    assert_eq!(outcome.reason, StopReason::EarlyStopping);
    assert_eq!(
        outcome.meta.history.len(),
        4,
        "stops after patience 3 without improvement"
    );
    assert_eq!(
        outcome.weights_from_epoch, 1,
        "restore_best_weights goes back to epoch 1"
    );
    let events = &outcome.meta.callback_events;
    let fired = |name: &str, action: &str| {
        events
            .iter()
            .filter(|e| e.callback == name && e.action == action)
            .collect::<Vec<_>>()
    };
    assert_eq!(fired("EarlyStopping", "stop").len(), 1);
    assert_eq!(fired("EarlyStopping", "stop")[0].epoch, 4);
    assert_eq!(fired("EarlyStopping", "restore_best_weights").len(), 1);
    let cuts = fired("ReduceLROnPlateau", "reduce_lr");
    assert_eq!(
        cuts.iter().map(|e| e.epoch).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    assert_eq!(
        (cuts[0].old_value, cuts[0].new_value),
        (Some(1e-3), Some(5e-4))
    );
    // The learning rate the next epochs used follows the cuts.
    let rates: Vec<f64> = outcome
        .meta
        .history
        .iter()
        .map(|e| e.learning_rate)
        .collect();
    assert_eq!(rates, vec![1e-3, 1e-3, 5e-4, 2.5e-4]);
    let saves = fired("ModelCheckpoint", "save");
    assert!(!saves.is_empty() && saves[0].epoch == 1);
    // Checkpoints are real model files.
    let best =
        ModelFile::from_bytes(&std::fs::read(dir.join("run.best.mcmodel")).unwrap()).unwrap();
    assert_eq!(best.meta.classes, dataset.classes);
    let last =
        ModelFile::from_bytes(&std::fs::read(dir.join("run.last.mcmodel")).unwrap()).unwrap();
    assert_eq!(last.meta.resume.as_ref().unwrap().epochs_completed, 4);
    // The final model holds epoch 1's weights: bit for bit those of the same run stopped after
    // one epoch (the same seed gives the same first epoch; epochs 2 to 4 moved the weights).
    let final_params = pollster::block_on(parameter_values(&outcome.model)).unwrap();
    let one_epoch = TrainingConfig {
        epochs: 1,
        ..config.clone()
    };
    let mut quiet = TerminalHost::new(None, true);
    let first = common::train_on(&data, &one_epoch, &network, None, &device, &mut quiet).unwrap();
    let epoch_one = pollster::block_on(parameter_values(&first.model)).unwrap();
    assert!(
        final_params == epoch_one,
        "the final weights are not epoch 1's"
    );
}

/// Images black except their first pixel: the first convolution's weights away from that
/// pixel get exactly zero gradient, so Adam with epsilon 0 divides 0 by 0.
fn nan_prone_dataset() -> Dataset {
    let mut builder = DatasetBuilder::new(InputShape::square(32));
    for class in 0..3 {
        for i in 0..12u8 {
            let mut pixels = vec![0u8; 32 * 32];
            pixels[0] = 10 + i * 7 + class * 80;
            let image = image::DynamicImage::ImageLuma8(
                image::GrayImage::from_raw(32, 32, pixels).unwrap(),
            );
            builder.add_file(
                &format!("c{class}/{i}.png"),
                &common::encode(&image, image::ImageFormat::Png),
            );
        }
    }
    builder.finish().0
}

#[test]
fn a_nan_loss_stops_training_and_restores_weights() {
    let dataset = nan_prone_dataset();
    let split = split_dataset(&dataset, &SplitConfig::default()).unwrap();
    let zero_epsilon = AdamSettings {
        epsilon: 0.0,
        ..Default::default()
    };
    // Epoch 1 with a normal epsilon, saved as a resume point.
    let healthy = TrainingConfig {
        epochs: 1,
        batch_size: 8,
        callbacks: CallbackSettings {
            early_stopping: None,
            reduce_lr: None,
            checkpoint: None,
        },
        ..Default::default()
    };
    let (first, host) = run(&dataset, &split, &healthy, None);
    assert_eq!(first.reason, StopReason::Completed);
    let checkpoint = ModelFile::from_bytes(host.last_checkpoint.as_ref().unwrap()).unwrap();
    let epoch_one = pollster::block_on(parameter_values(&first.model)).unwrap();

    // Then epsilon 0: the loss turns NaN in epoch 2; training stops and epoch 1 comes back.
    let broken = TrainingConfig {
        epochs: 3,
        optimizer: zero_epsilon,
        ..healthy.clone()
    };
    let (outcome, host) = run(&dataset, &split, &broken, Some(&checkpoint));
    assert_eq!(outcome.reason, StopReason::NonFiniteLoss);
    assert_eq!(outcome.weights_from_epoch, 1);
    let event = outcome
        .meta
        .callback_events
        .iter()
        .find(|e| e.callback == "TerminateOnNaN")
        .expect("the stop is reported");
    assert_eq!(event.epoch, 2);
    assert!(
        event.message.contains("weights of epoch 1 were restored"),
        "{}",
        event.message
    );
    assert!(
        host.events
            .iter()
            .any(|e| matches!(e, TrainingEvent::Batch(b) if !b.loss.is_finite()))
    );
    let restored = pollster::block_on(parameter_values(&outcome.model)).unwrap();
    assert_eq!(
        restored, epoch_one,
        "the weights are exactly those of epoch 1"
    );
}

#[test]
fn resume_continues_from_the_checkpoint_epoch() {
    let (dataset, split) = fixture();
    let config = TrainingConfig {
        epochs: 2,
        batch_size: 32,
        ..Default::default()
    };
    let (_, host) = run(&dataset, &split, &config, None);
    let checkpoint = ModelFile::from_bytes(host.last_checkpoint.as_ref().unwrap()).unwrap();
    assert_eq!(checkpoint.meta.resume.as_ref().unwrap().epochs_completed, 2);
    let more = TrainingConfig {
        epochs: 4,
        ..config
    };
    let (outcome, host) = run(&dataset, &split, &more, Some(&checkpoint));
    assert!(matches!(
        host.events.first(),
        Some(TrainingEvent::Started {
            first_epoch: 3,
            epochs: 4,
            ..
        })
    ));
    let epochs: Vec<usize> = outcome.meta.history.iter().map(|e| e.epoch).collect();
    assert_eq!(epochs, vec![1, 2, 3, 4], "the history continues");
}

#[test]
fn same_seed_same_data_gives_identical_results_on_the_cpu() {
    let (dataset, split) = fixture();
    let config = TrainingConfig {
        epochs: 3,
        batch_size: 32,
        ..Default::default()
    };
    let (a, _) = run(&dataset, &split, &config, None);
    let (b, _) = run(&dataset, &split, &config, None);
    assert_eq!(
        a.meta
            .history
            .iter()
            .map(|e| (e.loss, e.accuracy, e.val_loss, e.val_accuracy))
            .collect::<Vec<_>>(),
        b.meta
            .history
            .iter()
            .map(|e| (e.loss, e.accuracy, e.val_loss, e.val_accuracy))
            .collect::<Vec<_>>()
    );
    let wa = pollster::block_on(parameter_values(&a.model)).unwrap();
    let wb = pollster::block_on(parameter_values(&b.model)).unwrap();
    assert!(
        wa == wb,
        "the weights differ between two runs with the same seed"
    );
    let ea = pollster::block_on(assess(&a.model, &dataset, &split, &Device::flex())).unwrap();
    let eb = pollster::block_on(assess(&b.model, &dataset, &split, &Device::flex())).unwrap();
    assert_eq!(ea, eb, "identical test metrics");
    // Another seed trains differently.
    let (c, _) = run(
        &dataset,
        &split,
        &TrainingConfig { seed: 43, ..config },
        None,
    );
    assert_ne!(a.meta.history[0].loss, c.meta.history[0].loss);
}

#[test]
fn strong_network_trains_and_uses_batch_norm_statistics() {
    let (dataset, split) = fixture();
    let config = TrainingConfig {
        preset: Preset::Strong,
        epochs: 10,
        batch_size: 32,
        callbacks: CallbackSettings {
            early_stopping: None,
            ..Default::default()
        },
        ..Default::default()
    };
    let (outcome, _) = run(&dataset, &split, &config, None);
    let assessment =
        pollster::block_on(assess(&outcome.model, &dataset, &split, &Device::flex())).unwrap();
    assert!(
        assessment.evaluation.accuracy >= 0.85,
        "strong preset test accuracy {}",
        assessment.evaluation.accuracy
    );
    // Saved and reloaded, it predicts the same.
    let weights = pollster::block_on(encode_weights(&outcome.model, &outcome.meta.model)).unwrap();
    let reloaded =
        medclassify::storage::decode_weights(&outcome.meta.model, &weights, &Device::flex())
            .unwrap();
    let again = pollster::block_on(assess(&reloaded, &dataset, &split, &Device::flex())).unwrap();
    assert_eq!(assessment.evaluation.confusion, again.evaluation.confusion);
}

/// `restore_best_weights`: the final weights are the best epoch's, compared value by value
/// with an independent run that stopped at that epoch (same seed, so the same epoch 1); after
/// an early stop and, as in Keras 3, after a run that used all its epochs. With the option
/// off the last epoch's weights stay.
#[test]
fn restore_best_weights_gives_the_best_epochs_weights_value_by_value() {
    let (dataset, split) = fixture();
    let with = |epochs: usize, patience: usize, restore: bool| TrainingConfig {
        epochs,
        batch_size: 32,
        callbacks: CallbackSettings {
            // Only epoch 1 can improve by 10: the best epoch is known.
            early_stopping: Some(EarlyStoppingConfig {
                monitor: Monitor::ValLoss,
                min_delta: 10.0,
                patience,
                restore_best_weights: restore,
                start_from_epoch: 0,
            }),
            reduce_lr: None,
            checkpoint: None,
        },
        ..Default::default()
    };
    let weights =
        |outcome: &common::Outcome| pollster::block_on(parameter_values(&outcome.model)).unwrap();
    let (one_epoch, _) = run(&dataset, &split, &with(1, 5, false), None);
    let epoch_one = weights(&one_epoch);

    let (stopped, _) = run(&dataset, &split, &with(3, 1, true), None);
    assert_eq!(stopped.reason, StopReason::EarlyStopping);
    assert_eq!(stopped.meta.history.len(), 2);
    assert_eq!(stopped.weights_from_epoch, 1);
    assert_eq!(weights(&stopped), epoch_one, "after an early stop");

    // With one epoch of warm-up, epoch 1 is not watched: epoch 2 is the first (so the best),
    // epoch 3 cannot improve on it by 10, and the run stops there with epoch 2's weights.
    let mut warmed = with(4, 1, true);
    if let Some(early) = warmed.callbacks.early_stopping.as_mut() {
        early.start_from_epoch = 1;
    }
    let (late, _) = run(&dataset, &split, &warmed, None);
    assert_eq!(late.reason, StopReason::EarlyStopping);
    assert_eq!(late.meta.history.len(), 3);
    assert_eq!(late.weights_from_epoch, 2);

    let (completed, host) = run(&dataset, &split, &with(3, 5, true), None);
    assert_eq!(completed.reason, StopReason::Completed);
    assert_eq!(completed.weights_from_epoch, 1);
    assert_eq!(weights(&completed), epoch_one, "after all epochs ran");
    assert!(
        completed
            .meta
            .callback_events
            .iter()
            .any(|e| e.action == "restore_best_weights" && e.new_value == Some(1.0))
    );
    // The last checkpoint still holds epoch 3's weights (for resuming).
    let last = ModelFile::from_bytes(host.last_checkpoint.as_ref().unwrap()).unwrap();
    let last_model =
        medclassify::storage::decode_weights(&last.meta.model, &last.weights, &Device::flex())
            .unwrap();
    let epoch_three = pollster::block_on(parameter_values(&last_model)).unwrap();
    assert_ne!(epoch_three, epoch_one);

    let (kept, _) = run(&dataset, &split, &with(3, 5, false), None);
    assert_eq!(kept.weights_from_epoch, 3);
    assert_eq!(
        weights(&kept),
        epoch_three,
        "restore_best_weights off keeps the last"
    );
}

/// Resume restores the learning rate and the callbacks' state, checked by value: a cut made
/// before the checkpoint holds after it, and EarlyStopping counts on from where it was.
#[test]
fn resume_restores_the_learning_rate_and_callback_state_by_value() {
    let (dataset, split) = fixture();
    let config = TrainingConfig {
        epochs: 2,
        batch_size: 32,
        callbacks: CallbackSettings {
            early_stopping: Some(EarlyStoppingConfig {
                monitor: Monitor::ValLoss,
                min_delta: 10.0,
                patience: 3,
                restore_best_weights: false,
                start_from_epoch: 0,
            }),
            reduce_lr: Some(ReduceLrConfig {
                monitor: Monitor::Loss,
                factor: 0.5,
                patience: 1,
                min_delta: 10.0,
                cooldown: 0,
                min_lr: 1e-6,
            }),
            checkpoint: None,
        },
        ..Default::default()
    };
    let (_, host) = run(&dataset, &split, &config, None);
    let checkpoint = ModelFile::from_bytes(host.last_checkpoint.as_ref().unwrap()).unwrap();
    let resume = checkpoint.meta.resume.as_ref().unwrap();
    assert_eq!(resume.learning_rate, 5e-4, "cut once, at epoch 2");
    assert_eq!(resume.callbacks.early_stopping.as_ref().unwrap().wait, 1);

    let more = TrainingConfig {
        epochs: 10,
        ..config
    };
    let (outcome, _) = run(&dataset, &split, &more, Some(&checkpoint));
    let rates: Vec<f64> = outcome
        .meta
        .history
        .iter()
        .map(|e| e.learning_rate)
        .collect();
    assert_eq!(
        &rates[..3],
        &[1e-3, 1e-3, 5e-4],
        "epoch 3 runs at the restored rate"
    );
    // EarlyStopping waited 1 epoch before the checkpoint: 2 more and it stops at epoch 4
    // (starting afresh it would stop at epoch 6).
    assert_eq!(outcome.reason, StopReason::EarlyStopping);
    assert_eq!(outcome.meta.history.len(), 4);
}

/// A checkpoint that cannot be written is reported (training goes on): the best-model save
/// as a `save_failed` callback event, the resume point as a notice.
#[test]
fn a_failed_checkpoint_write_is_reported_and_training_goes_on() {
    let (dataset, split) = fixture();
    let config = TrainingConfig {
        epochs: 2,
        batch_size: 32,
        ..Default::default()
    };
    let nowhere = common::temp_dir("no-checkpoints")
        .join("missing")
        .join("run.mcmodel");
    let (outcome, host) = run_with(
        &dataset,
        &split,
        &config,
        None,
        TerminalHost::new(Some(nowhere), true),
    );
    assert_eq!(outcome.meta.history.len(), 2, "training went on");
    let notices: Vec<&String> = host
        .events
        .iter()
        .filter_map(|e| match e {
            TrainingEvent::Notice { message } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices[0].contains("the checkpoint after epoch 1 could not be saved"));
    assert!(
        outcome
            .meta
            .callback_events
            .iter()
            .any(|e| e.callback == "ModelCheckpoint" && e.action == "save_failed")
    );
}

/// A 1:9 problem whose classes overlap: each image is a flat brightness (drawn per image
/// around its class's mean) plus pixel noise, so no network can separate them fully and an
/// unweighted loss favours the majority.
fn imbalanced(minority: usize, majority: usize, seed: u64) -> Dataset {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let shape = InputShape::square(32);
    let mut builder = DatasetBuilder::new(shape);
    for (class, mean, count) in [("major", 110.0, majority), ("minor", 130.0, minority)] {
        for i in 0..count {
            // About normal (the sum of 12 uniforms), standard deviation 15.
            let level = mean + 15.0 * ((0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0);
            let pixels: Vec<u8> = (0..shape.values())
                .map(|_| (level + rng.random_range(-20.0..20.0)).clamp(0.0, 255.0) as u8)
                .collect();
            let image = medclassify::data::PreparedImage {
                class: class.into(),
                sha256: medclassify::data::sha256(&pixels),
                pixels: medclassify::data::StoredPixels::full(pixels),
                dicom: None,
            };
            builder.add_prepared(&format!("{class}/{i:04}.png"), Ok(image));
        }
    }
    builder.finish().0
}

/// Recall of class `class` on `dataset` (all of it).
fn recall(model: &medclassify::model::Classifier, dataset: &Dataset, class: usize) -> f64 {
    let indices: Vec<usize> = (0..dataset.len())
        .filter(|&i| dataset.samples[i].label == class)
        .collect();
    let scores = pollster::block_on(medclassify::evaluation::score_samples(
        model,
        dataset,
        &indices,
        &Device::flex(),
    ))
    .unwrap();
    let k = dataset.classes.len();
    let hits = scores
        .logits
        .chunks(k)
        .filter(|row| medclassify::evaluation::argmax(row) == class)
        .count();
    hits as f64 / indices.len() as f64
}

#[test]
fn balanced_class_weighting_raises_the_minority_recall() {
    let train_set = imbalanced(60, 540, 11);
    // Judged on fresh images, as many of each class.
    let judge = imbalanced(300, 300, 12);
    let minor = train_set.classes.iter().position(|c| c == "minor").unwrap();
    let split = split_dataset(&train_set, &SplitConfig::default()).unwrap();
    let config = |class_weighting, sampling| TrainingConfig {
        epochs: 8,
        batch_size: 32,
        callbacks: CallbackSettings {
            early_stopping: None,
            reduce_lr: None,
            checkpoint: None,
        },
        class_weighting,
        sampling,
        ..Default::default()
    };
    let (plain, _) = run(
        &train_set,
        &split,
        &config(ClassWeighting::None, Sampling::Shuffle),
        None,
    );
    let (weighted, _) = run(
        &train_set,
        &split,
        &config(ClassWeighting::Balanced, Sampling::Shuffle),
        None,
    );
    let (sampled, _) = run(
        &train_set,
        &split,
        &config(ClassWeighting::None, Sampling::Balanced),
        None,
    );
    let (plain_recall, weighted_recall) = (
        recall(&plain.model, &judge, minor),
        recall(&weighted.model, &judge, minor),
    );
    assert!(
        weighted_recall >= plain_recall + 0.15 && weighted_recall >= 0.6,
        "minority recall without weighting {plain_recall:.3}, with balanced weighting {weighted_recall:.3}"
    );
    // The price: some majority images called minority, but far from all.
    let major_recall = recall(&weighted.model, &judge, 1 - minor);
    eprintln!(
        "minority recall: plain {plain_recall:.3}, weighted {weighted_recall:.3}, sampled {:.3}; majority recall weighted {major_recall:.3}, plain {:.3}",
        recall(&sampled.model, &judge, minor),
        recall(&plain.model, &judge, 1 - minor)
    );
    assert!(major_recall >= 0.5, "majority recall {major_recall:.3}");
    // Balanced sampling, the alternative, does the same through the batches.
    let sampled_recall = recall(&sampled.model, &judge, minor);
    assert!(
        sampled_recall >= plain_recall + 0.15,
        "minority recall without balancing {plain_recall:.3}, with balanced sampling {sampled_recall:.3}"
    );
}

/// A front end that counts the checkpoint files handed to it, and (`stop`) stops every run at
/// its first chance, as the user pressing Stop at once.
struct Front {
    started: std::time::Instant,
    stop: bool,
    stored: usize,
    folds_finished: usize,
}

impl Front {
    fn new(stop: bool) -> Self {
        Self {
            started: std::time::Instant::now(),
            stop,
            stored: 0,
            folds_finished: 0,
        }
    }
}

impl TrainingHost for Front {
    fn event(&mut self, _: TrainingEvent) {}
    async fn proceed(&mut self) -> bool {
        !self.stop
    }
    fn now_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }
    async fn store(
        &mut self,
        _: medclassify::training::CheckpointSlot,
        _: &[u8],
    ) -> Result<String, String> {
        self.stored += 1;
        Ok("counted".into())
    }
}

impl medclassify::session::Platform for Front {
    async fn continue_on_cpu(&mut self, backend: &str, _: &str, _: usize) -> String {
        backend.into()
    }
}

impl medclassify::session::FoldObserver for Front {
    fn fold_event(&mut self, event: medclassify::session::FoldEvent) {
        if let medclassify::session::FoldEvent::Finished(_) = event {
            self.folds_finished += 1;
        }
    }
}

/// A cross-validation's folds keep their checkpoint files to themselves: the front end's
/// checkpoints (the user's own run's, in the page's IndexedDB) are never replaced by a fold's,
/// while a plain run of the same settings does hand its files over (the positive control).
#[test]
fn cross_validation_folds_keep_their_checkpoints_in_memory() {
    use medclassify::session::{LoadedData, cross_validate, plan_training, train};
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (dataset, report) = load_folder(&common::fixture(), InputShape::square(32), 2).unwrap();
    let data = LoadedData::new(dataset, report, SplitConfig::default());
    let mut config = common::plain_config(Preset::Seed, 1);
    config.callbacks.checkpoint = Some(CheckpointConfig::default());
    let mut front = Front::new(false);
    let run = cross_validate(
        &data,
        config.clone(),
        3,
        Device::flex(),
        "CPU".into(),
        &mut front,
    );
    pollster::block_on(run).unwrap();
    assert_eq!(front.folds_finished, 3);
    assert_eq!(front.stored, 0, "a fold handed over a checkpoint file");
    let plan = plan_training(&data, config, None).unwrap();
    pollster::block_on(train(
        &data,
        &plan,
        Device::flex(),
        "CPU".into(),
        &mut front,
    ))
    .unwrap();
    assert!(front.stored >= 1, "the plain run's checkpoints");
}

/// A session run says which of three things happened, as a type and not as a message to
/// compare: a stop before the first epoch ended (nothing to keep), a refusal (the data cannot
/// be split: a class of two images), and nothing else for either.
#[test]
fn a_run_tells_a_stop_from_a_refusal() {
    use medclassify::session::{LoadedData, RunError, plan_training, train};
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let shape = InputShape::square(32);
    let (dataset, report) = load_folder(&common::fixture(), shape, 2).unwrap();
    let data = LoadedData::new(dataset, report, SplitConfig::default());
    let config = common::plain_config(Preset::Seed, 2);
    let plan = plan_training(&data, config.clone(), None).unwrap();
    let mut platform = Front::new(true);
    let stopped = pollster::block_on(train(
        &data,
        &plan,
        Device::flex(),
        "CPU".into(),
        &mut platform,
    ));
    assert_eq!(stopped.err(), Some(RunError::StoppedBeforeAnEpoch));

    // Two images of one class cannot be split three ways: refused, before any training.
    let mut builder = DatasetBuilder::new(shape);
    for (class, count) in [("Hand", 2), ("CXR", 12)] {
        let dir = common::fixture().join(class);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for path in files.into_iter().take(count) {
            let name = format!("{class}/{}", path.file_name().unwrap().to_string_lossy());
            builder.add_file(&name, &std::fs::read(&path).unwrap());
        }
    }
    let (tiny, report) = builder.finish();
    let data = LoadedData::new(tiny, report, SplitConfig::default());
    let refused = pollster::block_on(train(
        &data,
        &plan,
        Device::flex(),
        "CPU".into(),
        &mut platform,
    ));
    match refused.err() {
        Some(RunError::Refused(message)) => assert!(message.contains("Hand"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Per output channel, the mean and the (biased) variance of the strong network's first
/// convolution over `images` (32x32, one channel, 0..=255), worked out here from its weights:
/// a 3x3 kernel with zero padding of one, no bias, on the pixels divided by 255.
fn first_conv_statistics(
    layers: &[medclassify::model::Layer<medclassify::model::WeightValues>],
    images: &[Vec<u8>],
) -> (Vec<f64>, Vec<f64>) {
    use medclassify::model::Layer;
    let Some(Layer::Conv { weight, .. }) = layers.iter().find(|l| matches!(l, Layer::Conv { .. }))
    else {
        panic!("no convolution")
    };
    let (channels, side) = (weight.shape[0], 32i64);
    let (mut sum, mut squares, mut count) = (vec![0.0; channels], vec![0.0; channels], 0.0);
    for image in images {
        for y in 0..side {
            for x in 0..side {
                count += 1.0;
                for (c, (sum, squares)) in sum.iter_mut().zip(&mut squares).enumerate() {
                    let mut v = 0.0f64;
                    for (ky, kx) in (0..3).flat_map(|ky| (0..3).map(move |kx| (ky, kx))) {
                        let (iy, ix) = (y + ky - 1, x + kx - 1);
                        if (0..side).contains(&iy) && (0..side).contains(&ix) {
                            let pixel = image[(iy * side + ix) as usize] as f64 / 255.0;
                            v += weight.values[c * 9 + (ky * 3 + kx) as usize] as f64 * pixel;
                        }
                    }
                    *sum += v;
                    *squares += v * v;
                }
            }
        }
    }
    common::moments(&sum, &squares, count)
}

/// Five images a class, batch 16: an epoch is two steps. The first BatchNorm's running
/// statistics after three epochs must be those of the training images under the trained
/// first convolution, worked out independently; with Burn's fixed momentum 0.1 they would
/// still be about half their start (mean 0, variance 1) after six steps, and validation,
/// which uses them, would see another network than training (issue 25's small-data runs).
#[test]
fn batch_norm_statistics_follow_a_small_training_set() {
    use medclassify::model::{Layer, inference_layers};
    let (dataset, split) = fixture();
    let mut per_class = vec![0; dataset.classes.len()];
    let train: Vec<usize> = split
        .indices(Subset::Train)
        .into_iter()
        .filter(|&i| {
            let label = dataset.samples[i].label;
            per_class[label] += 1;
            per_class[label] <= 5
        })
        .collect();
    assert_eq!(train.len(), 30);
    let config = TrainingConfig {
        preset: Preset::Strong,
        epochs: 3,
        batch_size: 16,
        callbacks: CallbackSettings {
            early_stopping: None,
            reduce_lr: None,
            ..Default::default()
        },
        ..Default::default()
    };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let data = TrainingData {
        dataset: &dataset,
        train: train.clone(),
        validation: split.indices(Subset::Validation),
    };
    let network = ModelConfig::new(Preset::Strong, dataset.classes.len(), dataset.shape);
    let mut host = TerminalHost::new(None, true);
    let outcome = common::train_on(&data, &config, &network, None, &device, &mut host).unwrap();
    let layers = pollster::block_on(inference_layers(&outcome.model, 32)).unwrap();
    let Some(Layer::BatchNorm { mean, var, .. }) =
        layers.iter().find(|l| matches!(l, Layer::BatchNorm { .. }))
    else {
        panic!("no BatchNorm")
    };
    let images: Vec<Vec<u8>> = train
        .iter()
        .map(|&i| dataset.image(i).into_owned())
        .collect();
    let (expected_mean, expected_var) = first_conv_statistics(&layers, &images);
    let distance = common::relative_distance;
    let (mean_off, var_off) = (
        distance(&mean.values, &expected_mean),
        distance(&var.values, &expected_var),
    );
    println!("running mean off by {mean_off:.3}, variance by {var_off:.3} (relative)");
    // The batches are halves of the set and the weights move between steps: close, not equal.
    assert!(
        mean_off < 0.15,
        "running mean {:?} against {expected_mean:?}",
        mean.values
    );
    assert!(
        var_off < 0.25,
        "running variance {:?} against {expected_var:?}",
        var.values
    );
}
