//! Transfer learning from the command line, as a user runs it: `medclassify train --preset
//! efficientnet_lite0 --transfer head|top|all` on the shipped MedNIST sample. The trained model
//! file is read back and its every weight compared with the published ImageNet weights: what
//! a mode freezes is bit-identical, what it trains has moved; the accuracy is counted from
//! `medclassify predict` on the test split's files.

mod common;

use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use futures::future::LocalBoxFuture;
use medclassify::data::{
    Colour, InputShape, SplitConfig, Subset, batch_pixels, make_batch, split_dataset,
};
use medclassify::evaluation::score_samples;
use medclassify::model::pretrained::BACKBONES;
use medclassify::model::{Classifier, ModelConfig, Preset, Transfer};
use medclassify::native::{TerminalHost, ThreadPeer};
use medclassify::native::{load_folder, read_weights};
use medclassify::session::{ScoringPeer, score_pixels_shared, score_shared};
use medclassify::storage::{ModelFile, decode_weights};
use medclassify::training::{
    CheckpointSlot, FeatureCache, FeatureStep, GradientPeer, GradientReplica, Inputs,
    PeerGradients, PeerSetup, PeerStep, TrainingConfig, TrainingData, TrainingEvent, TrainingHost,
    combine_gradients, flat_gradients, flat_weights, merge_parts, part_gradients, part_size,
};
use std::cell::Cell;
use std::rc::Rc;

const SIZE: &str = "128";

/// Every float tensor of a network (parameters and BatchNorm statistics) by module path.
#[derive(Default)]
struct Values {
    path: Vec<String>,
    out: Vec<(String, Vec<f32>)>,
}

impl ModuleVisitor for Values {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let values = param.val().into_data().try_to_vec::<f32>().unwrap();
        self.out.push((self.path.join("."), values));
    }
}

fn values(model: &Classifier) -> Vec<(String, Vec<f32>)> {
    let mut visitor = Values::default();
    model.visit(&mut visitor);
    visitor.out
}

/// The network as a new run starts it: the published backbone, a new six-class head.
fn pretrained() -> Vec<(String, Vec<f32>)> {
    let shape = InputShape::square(128).with_colour(Colour::Grayscale);
    let config = ModelConfig::new(Preset::EfficientNetLite0, 6, shape);
    let weights = read_weights(&BACKBONES[0]).unwrap();
    values(
        &config
            .init_for_training(&Device::flex(), Some(&weights))
            .unwrap(),
    )
}

fn trained(path: &Path) -> Vec<(String, Vec<f32>)> {
    let file = ModelFile::from_bytes(&std::fs::read(path).unwrap()).unwrap();
    values(&decode_weights(&file.meta.model, &file.weights, &Device::flex()).unwrap())
}

fn train(out: &Path, transfer: &str, epochs: usize) {
    let extra = [
        "--preset",
        "efficientnet_lite0",
        "--transfer",
        transfer,
        "--size",
        SIZE,
        "--batch",
        "16",
        "--lr-patience",
        "0",
    ];
    common::train_on_cpu(&common::fixture(), out, epochs, &extra);
}

/// (tensors equal to the pretrained ones, tensors that moved), by path; the head apart.
fn compare(
    before: &[(String, Vec<f32>)],
    after: &[(String, Vec<f32>)],
) -> (Vec<String>, Vec<String>) {
    assert_eq!(before.len(), after.len());
    let (mut same, mut moved) = (Vec::new(), Vec::new());
    for ((path, a), (path_after, b)) in before.iter().zip(after) {
        assert_eq!(path, path_after);
        if path.contains("classifier") {
            continue;
        }
        if a == b {
            same.push(path.clone())
        } else {
            moved.push(path.clone())
        }
    }
    (same, moved)
}

/// EfficientNet-Lite0 without dropout, so that two computations differ only by arithmetic
/// order.
fn lite0_without_dropout(classes: usize, shape: InputShape) -> ModelConfig {
    let mut network = ModelConfig::new(Preset::EfficientNetLite0, classes, shape);
    if let ModelConfig::EfficientNetLite0(c) = &mut network {
        c.dropout = 0.0;
    }
    network
}

/// The pretrained network (dropout off) on the shipped images at 64 px, prepared to train
/// `part`: the inference device, the training device, the data, the network.
fn for_gradients(part: Transfer) -> (Device, Device, medclassify::data::Dataset, Classifier) {
    let device = Device::flex();
    let train_device = device.clone().autodiff();
    let shape = InputShape::square(64);
    let (data, _) = load_folder(&common::fixture(), shape, 2).unwrap();
    let network = lite0_without_dropout(data.classes.len(), shape);
    let weights = read_weights(&BACKBONES[0]).expect("scripts/weights.sh obtains the weights");
    let model = network
        .init_for_training(&train_device, Some(&weights))
        .unwrap()
        .prepare_transfer(part);
    (device, train_device, data, model)
}

/// The shipped sample at 32 px, with its split's training and validation images.
struct Sample {
    data: medclassify::data::Dataset,
    train: Vec<usize>,
    validation: Vec<usize>,
}

impl Sample {
    /// The shipped fixture at 32 px, split as the page splits it by default.
    fn at_32() -> Self {
        let (data, _) = load_folder(&common::fixture(), InputShape::square(32), 2).unwrap();
        let split = split_dataset(&data, &SplitConfig::default()).unwrap();
        let (train, validation) = (
            split.indices(Subset::Train),
            split.indices(Subset::Validation),
        );
        Sample {
            data,
            train,
            validation,
        }
    }

    /// What a run trains and validates on.
    fn training(&self) -> TrainingData<'_> {
        TrainingData {
            dataset: &self.data,
            train: self.train.clone(),
            validation: self.validation.clone(),
        }
    }
}

/// EfficientNet-Lite0 without dropout for `data`'s classes and input, and its published
/// weights.
fn lite0_for(
    data: &medclassify::data::Dataset,
) -> (ModelConfig, medclassify::model::pretrained::WeightsFile) {
    let network = lite0_without_dropout(data.classes.len(), data.shape);
    let weights = read_weights(&BACKBONES[0]).expect("scripts/weights.sh obtains the weights");
    (network, weights)
}

/// The largest absolute difference between two gradient vectors.
fn largest(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

/// `got` is the oracle `whole` (gradients) within 1e-5 of their scale, and `control`, what a
/// mistake (`mistake`) gives, is not (more than 1e-3 of it off): the check can fail.
fn assert_gradients_with_control(whole: &[f32], got: &[f32], (mistake, control): (&str, &[f32])) {
    let scale = largest(whole, &vec![0.0; whole.len()]);
    let (worst, off) = (largest(whole, got), largest(whole, control));
    println!("gradients: largest {scale}; computed so differ by {worst}; {mistake} by {off}");
    assert!(scale > 1e-4, "the gradients are not all zero");
    assert!(
        worst <= 1e-5 * scale.max(1.0),
        "differ by {worst} (largest {scale})"
    );
    assert!(
        off > 1e-3 * scale,
        "{mistake} gave the same gradients ({off})"
    );
}

#[test]
fn head_only_training_keeps_the_backbone_bit_identical_and_learns_the_sample() {
    let dir = common::temp_dir("transfer-head");
    let out = dir.join("head.mcmodel");
    train(&out, "head", 3);
    let before = pretrained();
    let after = trained(&out);
    let (same, moved) = compare(&before, &after);
    assert!(
        moved.is_empty(),
        "a head-only run changed the backbone: {moved:?}"
    );
    assert!(same.len() > 200, "{} backbone tensors compared", same.len());
    let head = |v: &[(String, Vec<f32>)]| {
        v.iter()
            .filter(|(p, _)| p.contains("classifier"))
            .map(|(_, x)| x.clone())
            .collect::<Vec<_>>()
    };
    assert_ne!(head(&before), head(&after), "the head did not train");

    let (ok, report, stderr, _) = common::run_cli(&[
        "inspect",
        common::fixture().to_str().unwrap(),
        "--size",
        SIZE,
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let (correct, total) = common::test_split_accuracy(&out, &common::fixture(), &report);
    println!("head-only EfficientNet-Lite0, 3 epochs: {correct} of {total} test images right");
    // Six classes: guessing gives one in six. ImageNet features separate MedNIST's classes
    // almost linearly; three epochs of a linear head on 170 images get nearly all right.
    assert!(correct * 10 >= total * 9, "{correct} of {total}");
}

#[test]
fn fine_tuning_moves_the_backbone_but_never_its_batchnorm_weights() {
    let dir = common::temp_dir("transfer-all");
    let before = pretrained();
    for (transfer, first_trained_block) in [("all", 0), ("top", 11)] {
        let out = dir.join(format!("{transfer}.mcmodel"));
        train(&out, transfer, 1);
        let (same, moved) = compare(&before, &trained(&out));
        assert!(!moved.is_empty(), "{transfer}: the backbone did not move");
        for path in &moved {
            // No BatchNorm tensor moves: its weights never train, and its statistics stay
            // ImageNet's unless a run asks for them to be fitted (AdaBN; not here).
            assert!(
                !path.contains("norm"),
                "{transfer}: a BatchNorm tensor moved: {path}"
            );
            let block = path
                .split('.')
                .skip_while(|p| *p != "blocks")
                .nth(1)
                .and_then(|n| n.parse::<usize>().ok());
            match block {
                Some(b) => assert!(b >= first_trained_block, "{transfer}: frozen {path} moved"),
                None => assert!(
                    transfer == "all" || path.contains("top"),
                    "{transfer}: frozen {path} moved"
                ),
            }
        }
        // Every trainable convolution moved (none was silently left frozen).
        let conv_moved = |prefix: &str| {
            moved
                .iter()
                .any(|p| p.contains(prefix) && p.contains("conv"))
        };
        assert!(
            conv_moved("top"),
            "{transfer}: the last convolution did not train"
        );
        assert!(
            conv_moved("blocks.15"),
            "{transfer}: the last block did not train"
        );
        if transfer == "all" {
            assert!(conv_moved("stem"), "all: the stem did not train");
        } else {
            assert!(
                same.iter().any(|p| p.contains("blocks.10")),
                "top: block 10 should be frozen"
            );
        }
    }
}

/// Never stops; keeps the events.
struct Host(Vec<TrainingEvent>);

impl TrainingHost for Host {
    fn event(&mut self, event: TrainingEvent) {
        self.0.push(event);
    }
    async fn proceed(&mut self) -> bool {
        true
    }
    fn now_ms(&self) -> f64 {
        0.0
    }
    async fn store(&mut self, _: CheckpointSlot, _: &[u8]) -> Result<String, String> {
        Ok(String::new())
    }
}

/// The head-only run on cached features (`src/training/features.rs`) trains what the run on
/// images would: for a batch of the shipped images, the gradients of every parameter and the
/// loss are the same (within float rounding) whether the frozen backbone runs on the images
/// or its features come from the cache. The cache's rows are in another order than the
/// samples, so a lookup by position would fail; and another image's features give other
/// gradients (the control).
#[test]
fn the_head_gets_the_same_gradients_from_cached_features_as_from_the_images() {
    let (device, train_device, data, model) = for_gradients(Transfer::Head);
    let classes = data.classes.len();
    let cached: Vec<usize> = (0..40).rev().collect();
    let mut host = Host(Vec::new());
    let cache = pollster::block_on(FeatureCache::compute(
        &model.valid(),
        &data,
        &cached,
        &device,
        &mut None,
        &mut host,
    ))
    .unwrap()
    .unwrap();
    assert!(matches!(
        host.0.last(),
        Some(TrainingEvent::Features {
            done: 40,
            total: 40,
            ..
        })
    ));

    let labels = |batch: &[usize]| {
        let labels: Vec<i32> = batch
            .iter()
            .map(|&i| data.samples[i].label as i32)
            .collect();
        Tensor::<1, Int>::from_data(TensorData::new(labels, [batch.len()]), &train_device)
    };
    let flat = |g| pollster::block_on(flat_gradients(&model, &g)).unwrap();
    let read = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap()[0];
    let batch = [31, 2, 17];
    let (images, _) = make_batch(&data, &batch, None, &train_device);
    let (g, loss_images, _) = part_gradients(&model, Inputs::Images(images), labels(&batch), None);
    let from_images = flat(g);
    let (g, loss_cache, _) = part_gradients(
        &model,
        cache.inputs(&batch, &train_device),
        labels(&batch),
        None,
    );
    let from_cache = flat(g);
    // Only the head trains (visited last): every frozen parameter's gradient is zero.
    assert_eq!(from_images.len(), from_cache.len());
    let head = from_images.len() - (1280 * classes + classes);
    assert!(
        from_images[..head]
            .iter()
            .chain(&from_cache[..head])
            .all(|v| *v == 0.0)
    );
    let scale = largest(&from_images[head..], &vec![0.0; from_images.len() - head]);
    let worst = largest(&from_images[head..], &from_cache[head..]);
    println!("head gradients: largest {scale}, cache vs images differ by at most {worst}");
    assert!(scale > 1e-4, "the head's gradients are not all zero");
    assert!(
        worst <= 1e-5 * scale.max(1.0),
        "gradients differ by {worst} (largest {scale})"
    );
    assert!((read(loss_images) - read(loss_cache)).abs() < 1e-5);

    let other = [31, 2, 18];
    let (g, _, _) = part_gradients(
        &model,
        cache.inputs(&other, &train_device),
        labels(&batch),
        None,
    );
    let moved = largest(&from_images[head..], &flat(g)[head..]);
    assert!(
        moved > 1e-3 * scale,
        "another image gave the same gradients ({moved})"
    );
}

/// A second replica counting the images of the feature pass it is handed (the replica
/// itself: the page's training helper's code, on a thread).
struct Counting {
    inner: ThreadPeer,
    images: Rc<Cell<usize>>,
    per_image: usize,
    /// Shares that carried the weights.
    weighted: Rc<Cell<usize>>,
    /// What each set-up asked the replica to train, in order.
    setups: Rc<std::cell::RefCell<Vec<Option<Transfer>>>>,
}

impl GradientPeer for Counting {
    fn start(&mut self, setup: &PeerSetup) -> Result<(), String> {
        self.setups.borrow_mut().push(setup.transfer);
        self.inner.start(setup)
    }
    fn submit(&mut self, step: PeerStep) -> Result<(), String> {
        self.inner.submit(step)
    }
    fn gradients(&mut self) -> LocalBoxFuture<'_, Result<PeerGradients, String>> {
        self.inner.gradients()
    }
    fn submit_features(&mut self, step: FeatureStep) -> Result<(), String> {
        self.images
            .set(self.images.get() + step.pixels.len() / self.per_image);
        if step.weights.as_ref().is_some_and(|w| !w.is_empty()) {
            self.weighted.set(self.weighted.get() + 1);
        }
        self.inner.submit_features(step)
    }
    fn features(&mut self) -> LocalBoxFuture<'_, Result<Vec<f32>, String>> {
        self.inner.features()
    }
}

/// The feature pass of a head-only run with a second replica (how the page uses its second
/// core) hands the replica the first half of each step's images, sends the weights (the
/// backbone's BatchNorm statistics included) once, and caches its answers in their places:
/// every feature equals, within float rounding, the pass without a replica (the oracle), for
/// all 40 images, and the replica computed 20 of them. So that equality is not trivial, two
/// images' features must differ. Then the replica shares the scoring of other images, as it
/// does the test set's after a run: the logits of scoring alone.
#[test]
fn a_pass_shared_with_a_second_replica_gives_the_features_and_scores_of_one() {
    let (device, _, data, model) = for_gradients(Transfer::Head);
    let samples: Vec<usize> = (0..40).map(|i| i * 6).collect();
    let inference = model.valid();
    let alone = pollster::block_on(FeatureCache::compute(
        &inference,
        &data,
        &samples,
        &device,
        &mut None,
        &mut Host(Vec::new()),
    ))
    .unwrap()
    .unwrap();
    let images = Rc::new(Cell::new(0));
    let weighted = Rc::new(Cell::new(0));
    let mut replica = Counting {
        inner: ThreadPeer::spawn(),
        images: images.clone(),
        per_image: data.shape.values(),
        weighted: weighted.clone(),
        setups: Default::default(),
    };
    let network = ModelConfig::new(Preset::EfficientNetLite0, data.classes.len(), data.shape);
    let setup = PeerSetup {
        model: network,
        seed: 7,
        class_weights: None,
        transfer: Some(Transfer::Head),
    };
    replica.start(&setup).unwrap();
    let mut peer: Option<Box<dyn GradientPeer>> = Some(Box::new(replica));
    let mut host = Host(Vec::new());
    let shared = pollster::block_on(FeatureCache::compute(
        &inference, &data, &samples, &device, &mut peer, &mut host,
    ))
    .unwrap()
    .unwrap();
    assert!(peer.is_some(), "the replica was dropped: {:?}", host.0);
    assert_eq!(images.get(), 20);
    let features = |cache: &FeatureCache, which: &[usize]| match cache.inputs(which, &device) {
        Inputs::Features(t) => t.into_data().try_to_vec::<f32>().unwrap(),
        Inputs::Images(_) => panic!("a cache holds features"),
    };
    let (a, b) = (features(&alone, &samples), features(&shared, &samples));
    assert_eq!(a.len(), 40 * 1280);
    let scale = largest(&a, &vec![0.0; a.len()]);
    let worst = largest(&a, &b);
    println!("features: largest {scale}, shared vs alone differ by at most {worst}");
    assert!(worst <= 1e-5 * scale.max(1.0), "differ by {worst}");
    let apart = largest(&a[..1280], &a[1280..2560]);
    assert!(apart > 1e-2 * scale, "two images have the same features");

    // The same replica then shares the scoring (logits) of 30 other images, with the weights
    // sent again: the scores of scoring alone, in the same order.
    let scored: Vec<usize> = (0..30).map(|i| i * 6 + 1).collect();
    let alone = pollster::block_on(score_samples(&inference, &data, &scored, &device)).unwrap();
    let shared = score_shared(&inference, &data, &scored, &device, &mut peer);
    let shared = pollster::block_on(shared).unwrap();
    assert!(peer.is_some(), "the replica was dropped while scoring");
    assert_eq!(images.get(), 20 + 15);
    assert_eq!(alone.logits.len(), 30 * data.classes.len());
    let worst = largest(&alone.logits, &shared.logits);
    assert!(worst <= 1e-5, "scores differ by {worst}");

    // Predict's scoring of raw images in two groups (as the page's Predict of many files):
    // the logits of scoring alone, in order, with the weights sent with the first group only.
    let pixels: Vec<u8> = scored
        .iter()
        .flat_map(|&i| data.image(i).to_vec())
        .collect();
    let (first, second) = pixels.split_at(18 * data.shape.values());
    let classes = data.classes.len();
    let before = (images.get(), weighted.get());
    let mut scoring = ScoringPeer::new(peer.take());
    let mut shared = Vec::new();
    for group in [first, second] {
        let scores = score_pixels_shared(
            &inference,
            group,
            data.shape,
            classes,
            &device,
            &mut scoring,
        );
        shared.extend(pollster::block_on(scores).unwrap().logits);
    }
    assert!(
        scoring.is_sharing(),
        "the replica was dropped while predicting"
    );
    assert_eq!(
        images.get() - before.0,
        9 + 6,
        "the replica scores half of each group"
    );
    assert_eq!(weighted.get() - before.1, 1, "the weights travel once");
    let worst = largest(&alone.logits, &shared);
    assert!(worst <= 1e-5, "predicted scores differ by {worst}");
}

/// Fine-tuning at a large size computes a batch in parts that fit in memory
/// (`training::merge_parts`): the merged gradients of parts of 3 and 5 images equal, within
/// float rounding, the gradient of one pass over the 8 (the oracle: Burn's own backward pass
/// over the whole batch), for every parameter of the network, backbone included. Weighting
/// the parts equally instead of by their size (the control) gives other gradients.
#[test]
fn a_batch_in_parts_gives_the_gradients_of_one_pass() {
    let (_, train_device, data, model) = for_gradients(Transfer::All);
    let batch = [3, 40, 77, 101, 150, 199, 230, 246];
    let pass = |samples: &[usize]| {
        let (images, labels) = make_batch(&data, samples, None, &train_device);
        part_gradients(&model, Inputs::Images(images), labels, None).0
    };
    let flat = |g| pollster::block_on(flat_gradients(&model, &g)).unwrap();
    let whole = flat(pass(&batch));
    let merged = flat(merge_parts(
        &model,
        pass(&batch[..3]),
        3.0 / 8.0,
        pass(&batch[3..]),
        5.0 / 8.0,
    ));
    let equal_shares = flat(merge_parts(
        &model,
        pass(&batch[..3]),
        0.5,
        pass(&batch[3..]),
        0.5,
    ));
    // The backbone trains too: its first convolution has a gradient.
    assert!(whole[..864].iter().any(|v| *v != 0.0));
    assert_gradients_with_control(&whole, &merged, ("equal shares", &equal_shares));
}

/// Which flat values (every float tensor in visiting order, as the replicas exchange them)
/// belong to a parameter that trains.
fn trainable_mask(model: &Classifier) -> Vec<bool> {
    struct Mask(Vec<bool>);
    impl ModuleVisitor for Mask {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let trains = param.val().is_require_grad();
            self.0
                .extend(std::iter::repeat_n(trains, param.shape().num_elements()));
        }
    }
    let mut mask = Mask(Vec::new());
    model.visit(&mut mask);
    mask.0
}

/// How many frozen tensors of `model` have a gradient in `gradients` (even a zero one: the
/// optimiser steps every tensor it finds there).
fn frozen_with_gradient(model: &Classifier, gradients: &GradientsParams) -> usize {
    struct Count<'a>(&'a GradientsParams, usize);
    impl ModuleVisitor for Count<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let frozen = !param.val().is_require_grad();
            self.1 += usize::from(frozen && self.0.get::<D>(param.id).is_some());
        }
    }
    let mut count = Count(gradients, 0);
    model.visit(&mut count);
    count.1
}

/// Fine-tuning on the page's two cores: a second replica (the training helper) computes part
/// of each batch. For a partly frozen network (the top blocks and the head train), the two
/// parts combined equal one pass over the batch (the oracle: Burn's own backward pass over
/// all of it) for every trained parameter, and the frozen ones get no gradient at all (a zero
/// gradient would still let weight decay move them). The control: a replica that does not
/// freeze what the trainer freezes normalises with its images' own BatchNorm statistics and
/// gives other gradients.
#[test]
fn a_second_replica_shares_a_fine_tuning_batch() {
    let (device, train_device, data, model) = for_gradients(Transfer::Top);
    let on = (&data, &device, &train_device);
    let flat = |g| pollster::block_on(flat_gradients(&model, &g)).unwrap();
    let shared = |transfer| shared_batch(&model, &model, transfer, on);
    let whole = flat(shared(None).0);
    let combined = shared(Some(Transfer::Top)).1;
    let frozen_with_gradient = frozen_with_gradient(&model, &combined);
    let combined = flat(combined);
    let unfrozen = flat(shared(None).1);
    let trains = trainable_mask(&model);
    assert_eq!((whole.len(), combined.len()), (trains.len(), trains.len()));
    let frozen = trains.iter().filter(|t| !**t).count();
    assert!(
        frozen > 500_000,
        "the lower blocks are frozen ({frozen} values)"
    );
    assert_eq!(frozen_with_gradient, 0, "frozen tensors got a gradient");
    assert_gradients_with_control(&whole, &combined, ("an unfrozen replica", &unfrozen));
}

/// The gradients of a batch of nine for `model`: one pass over all of it (Burn's own backward
/// pass, the oracle), and five of them here combined with four on a second replica (as the
/// page's helper computes them) that was sent `sent`'s weights and freezes `transfer`.
fn shared_batch(
    model: &Classifier,
    sent: &Classifier,
    transfer: Option<Transfer>,
    (data, device, train_device): (&medclassify::data::Dataset, &Device, &Device),
) -> (GradientsParams, GradientsParams) {
    let batch = [3, 40, 77, 101, 150, 199, 230, 246, 12];
    let (own, other) = batch.split_at(5);
    let pass = |samples: &[usize]| {
        let (images, labels) = make_batch(data, samples, None, train_device);
        part_gradients(model, Inputs::Images(images), labels, None).0
    };
    let (pixels, labels) = batch_pixels(data, other, None);
    let step = PeerStep {
        weights: pollster::block_on(flat_weights(sent)).unwrap(),
        pixels,
        labels,
    };
    let setup = PeerSetup {
        model: lite0_without_dropout(data.classes.len(), data.shape),
        seed: 7,
        class_weights: None,
        transfer,
    };
    let mut replica = GradientReplica::new(&setup, device);
    let answer = pollster::block_on(replica.compute(&step)).unwrap();
    let combined = combine_gradients(model, pass(own), 5, &answer.gradients, 4, device);
    (pass(&batch), combined)
}

/// The page's helper computes with the BatchNorm statistics that AdaBN fitted: they travel
/// with the weights it is sent each step. Fine-tuning every layer after the statistics were
/// fitted to twelve training images, a batch shared with a second replica gives the gradients
/// of one pass over it (Burn's own backward pass, the oracle). The control: a replica sent the
/// weights with ImageNet's statistics gives other gradients.
#[test]
fn a_second_replica_computes_with_the_statistics_fitted_to_the_images() {
    let (device, train_device, data, model) = for_gradients(Transfer::All);
    let images: Vec<usize> = (0..12).map(|i| i * 20).collect();
    let part = make_batch(&data, &images, None, &train_device).0;
    let adapted = model.adapt_norm([part], Transfer::All);
    // A network of its own: clones of a Burn module share their BatchNorm statistics.
    let imagenet = for_gradients(Transfer::All).3;
    let on = (&data, &device, &train_device);
    let flat = |g| pollster::block_on(flat_gradients(&adapted, &g)).unwrap();
    let (whole, combined) = shared_batch(&adapted, &adapted, Some(Transfer::All), on);
    let (whole, combined) = (flat(whole), flat(combined));
    let imagenet = flat(shared_batch(&adapted, &imagenet, Some(Transfer::All), on).1);
    let mistake = "a replica sent ImageNet's statistics";
    assert_gradients_with_control(&whole, &combined, (mistake, &imagenet));
}

/// The run itself, as the page's two cores run it: fine-tuning every layer with a second
/// replica (a helper thread here, a helper worker in the page) announces two replicas, keeps
/// the helper to the end (no notice that it was dropped, which is what a replica that sent
/// the wrong number of gradients gets), trains, and leaves every BatchNorm statistic as it
/// started: a new network's running means are 0 and its variances 1, exactly.
#[test]
fn fine_tuning_runs_on_two_replicas() {
    let sample = Sample::at_32();
    let (data, training) = (&sample.data, sample.training());
    let config = TrainingConfig {
        epochs: 2,
        batch_size: 16,
        transfer: Transfer::All,
        // Not fitted to the images first (tested on its own), so that they start known.
        adapt_norm: false,
        ..Default::default()
    };
    let network = lite0_without_dropout(data.classes.len(), data.shape);
    let mut host = TerminalHost::new(None, true);
    host.peer = Some(Box::new(ThreadPeer::spawn()));
    let outcome = common::train_on(
        &training,
        &config,
        &network,
        None,
        &Device::flex(),
        &mut host,
    )
    .expect("training runs");
    let replicas = host.events.iter().find_map(|e| match e {
        TrainingEvent::Started { replicas, .. } => Some(*replicas),
        _ => None,
    });
    assert_eq!(replicas, Some(2));
    let notices: Vec<_> = host
        .events
        .iter()
        .filter(|e| matches!(e, TrainingEvent::Notice { .. }))
        .collect();
    assert!(notices.is_empty(), "{notices:?}");
    let history = &outcome.meta.history;
    assert_eq!(history.len(), 2);
    assert!(history[1].loss < history[0].loss, "{history:?}");
    let statistics: Vec<_> = values(&outcome.model)
        .into_iter()
        .filter(|(path, _)| path.contains("running"))
        .collect();
    assert_eq!(
        statistics.len(),
        2 * 49,
        "two statistics of each of the 49 BatchNorms (stem, 2 + 15 x 3 in the blocks, the last convolution)"
    );
    for (path, values) in statistics {
        let start = if path.contains("mean") { 0.0 } else { 1.0 };
        assert!(values.iter().all(|v| *v == start), "{path} moved");
    }
}

/// The parts are sized from what an image takes: at 224 px a fine-tuning batch of 64 is
/// computed 13 images at a time (40 MB each, 512 MiB a part), at 64 px in one pass; inference
/// at 224 px 17 images a batch. Numbers worked out by hand from the constants' documentation.
#[test]
fn parts_are_sized_from_the_memory_an_image_takes() {
    let device = Device::flex();
    let network = ModelConfig::new(Preset::EfficientNetLite0, 6, InputShape::square(224));
    let model = network.init(&device);
    // 536,870,912 / (800 x 224 x 224 = 40,140,800 bytes) = 13.4.
    assert_eq!(part_size(&model, 224, 64, 1), 13);
    // Two replicas computing at once (the page's two cores) share the budget: 6.7 each.
    assert_eq!(part_size(&model, 224, 64, 2), 6);
    // 800 x 64 x 64 = 3,276,800 bytes: 163 would fit, so the whole batch of 64.
    assert_eq!(part_size(&model, 64, 64, 1), 64);
    // 256 MiB / (300 x 224 x 224 = 15,052,800 bytes) = 17.8.
    assert_eq!(model.inference_batch(224, 256), 17);
    // Networks trained from scratch are never split.
    let seed = ModelConfig::new(Preset::Seed, 6, InputShape::square(128)).init(&device);
    assert_eq!(part_size(&seed, 128, 64, 2), 64);
    assert_eq!(seed.inference_batch(128, 256), 256);
}

/// `training::train` on the CPU, keeping no checkpoint.
fn run_on_cpu<H: TrainingHost>(
    data: &TrainingData<'_>,
    config: &TrainingConfig,
    network: &ModelConfig,
    start: medclassify::training::Start,
    host: &mut H,
) -> medclassify::training::TrainingOutcome {
    let (sink, device) = (&mut medclassify::training::NoCheckpoints, Device::flex());
    let run = medclassify::training::train(data, config, network, start, &device, (host, sink));
    pollster::block_on(run).expect("training runs")
}

/// Keeps the events; hands the run its second replica, if any; with `stop_after_head`, stops
/// the run at its first batch after the head was trained first (the notice that says so);
/// with `stop_in_features`, as soon as the head's features are being computed.
struct HeadFirstHost {
    events: Vec<TrainingEvent>,
    peer: Option<Box<dyn GradientPeer>>,
    stop_after_head: bool,
    stop_in_features: bool,
    stop: bool,
}

impl HeadFirstHost {
    fn new(
        peer: Option<Box<dyn GradientPeer>>,
        stop_after_head: bool,
        stop_in_features: bool,
    ) -> Self {
        Self {
            events: Vec::new(),
            peer,
            stop_after_head,
            stop_in_features,
            stop: false,
        }
    }
}

impl TrainingHost for HeadFirstHost {
    fn event(&mut self, event: TrainingEvent) {
        if let TrainingEvent::HeadTrained { message } = &event {
            self.stop |= self.stop_after_head && message.contains("trained first");
        }
        self.stop |= self.stop_in_features && matches!(event, TrainingEvent::Features { .. });
        self.events.push(event);
    }
    async fn proceed(&mut self) -> bool {
        !self.stop
    }
    fn now_ms(&self) -> f64 {
        0.0
    }
    async fn store(&mut self, _: CheckpointSlot, _: &[u8]) -> Result<String, String> {
        Ok(String::new())
    }
    fn take_peer(&mut self) -> Option<Box<dyn GradientPeer>> {
        self.peer.take()
    }
}

/// Training the head first (`--head-first`: linear probing, then fine-tuning) is a head-only
/// run of the same settings, then fine-tuning from its head. Stopped right after the first
/// part, the network's head is bit-identical to that of a separate head-only run (the
/// oracle), and its backbone to the published one. Run on with a second replica, as on the
/// page's two cores: the run keeps the replica (two announced, no notice that one was
/// dropped), and every convolution of the backbone trains, the stem included (a backbone left
/// frozen from the head's run would keep all of them).
#[test]
fn training_the_head_first_is_a_head_only_run_then_fine_tuning() {
    use medclassify::training::{Start, StopReason};
    let device = Device::flex();
    let sample = Sample::at_32();
    let (data, training) = (&sample.data, sample.training());
    let (network, weights) = lite0_for(data);
    let published = || network.init_for_training(&device, Some(&weights)).unwrap();
    // As a new run starts (`session::start_new`): on the training device, the head seeded.
    let start = || {
        device.seed(42);
        let train_device = device.clone().autodiff();
        Start::Weights(
            network
                .init_for_training(&train_device, Some(&weights))
                .unwrap(),
        )
    };
    let mut config = TrainingConfig {
        epochs: 3,
        batch_size: 16,
        transfer: Transfer::Head,
        ..Default::default()
    };
    config.callbacks.checkpoint = None;
    let mut host = Host(Vec::new());
    let head_only = run_on_cpu(&training, &config, &network, start(), &mut host);

    config.transfer = Transfer::All;
    config.head_first = true;
    // Kept at ImageNet's statistics, so that the head trains on the features a head-only run
    // sees (fitting them first is tested on its own below).
    config.adapt_norm = false;
    let mut host = HeadFirstHost::new(None, true, false);
    let first = run_on_cpu(&training, &config, &network, start(), &mut host);
    assert!(host.stop, "no notice of the head's run: {:?}", host.events);
    assert_eq!(
        first.record.history.len(),
        0,
        "the head's epochs are not the run's"
    );
    let (same, moved) = compare(&values(&published()), &values(&first.model));
    assert!(
        moved.is_empty(),
        "the head's run moved the backbone: {moved:?}"
    );
    assert!(same.len() > 200);
    let head = |model: &Classifier| {
        values(model)
            .into_iter()
            .filter(|(p, _)| p.contains("classifier"))
            .collect::<Vec<_>>()
    };
    // (Compared whole, but not printed whole: 7,686 numbers.)
    assert!(
        head(&first.model) == head(&head_only.model),
        "the heads differ"
    );
    assert!(
        head(&first.model) != head(&published()),
        "the head did not train"
    );

    let setups = Rc::new(std::cell::RefCell::new(Vec::new()));
    let images = Rc::new(Cell::new(0));
    let replica = Counting {
        inner: ThreadPeer::spawn(),
        images: images.clone(),
        per_image: data.shape.values(),
        weighted: Default::default(),
        setups: setups.clone(),
    };
    let mut host = HeadFirstHost::new(Some(Box::new(replica)), false, false);
    config.epochs = 1;
    let tuned = run_on_cpu(&training, &config, &network, start(), &mut host);
    let notices: Vec<&String> = host
        .events
        .iter()
        .filter_map(|e| match e {
            TrainingEvent::Notice { message } | TrainingEvent::HeadTrained { message } => {
                Some(message)
            }
            _ => None,
        })
        .collect();
    let replicas = host.events.iter().find_map(|e| match e {
        TrainingEvent::Started { replicas, .. } => Some(*replicas),
        _ => None,
    });
    assert_eq!(replicas, Some(2));
    // Set up once for the head's run and once for the fine-tuning, nothing more: each set-up
    // builds a whole replica of the network in the page's helper.
    assert_eq!(
        *setups.borrow(),
        [Some(Transfer::Head), Some(Transfer::All)]
    );
    assert!(
        images.get() > 0,
        "the replica took no share of the head's feature pass"
    );
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("trained first"), "{notices:?}");
    assert_eq!(tuned.record.history.len(), 1);
    let (_, moved) = compare(&values(&published()), &values(&tuned.model));
    let convolutions = values(&published())
        .iter()
        .filter(|(p, _)| p.contains("conv") && !p.contains("classifier"))
        .count();
    let moved_convolutions = moved.iter().filter(|p| p.contains("conv")).count();
    assert_eq!(moved_convolutions, convolutions, "moved: {moved:?}");
    assert!(moved.iter().any(|p| p.contains("stem")));

    // Stop while the head's features are computed: the run ends there, stopped, with nothing
    // trained and no word of a head trained first.
    let mut host = HeadFirstHost::new(None, false, true);
    let stopped = run_on_cpu(&training, &config, &network, start(), &mut host);
    assert_eq!(stopped.reason, StopReason::Stopped);
    assert!(stopped.record.history.is_empty());
    assert!(
        !host.events.iter().any(|e| matches!(
            e,
            TrainingEvent::Notice { .. } | TrainingEvent::HeadTrained { .. }
        )),
        "{:?}",
        host.events
    );
    assert!(matches!(
        host.events.last(),
        Some(TrainingEvent::Finished {
            reason: StopReason::Stopped,
            epochs_completed: 0,
            ..
        })
    ));
    let (_, moved) = compare(&values(&published()), &values(&stopped.model));
    assert!(
        moved.is_empty(),
        "a stopped run moved the backbone: {moved:?}"
    );
}

/// The backbone steps at `backbone_lr` times the head's learning rate. The oracle is Adam's
/// first step, whose size is the learning rate itself wherever the gradient is far above
/// epsilon (m / sqrt(v) = g / |g|, bias-corrected): one step over every training image at
/// 1e-3, the backbone at 0.25 of it, moves no head weight by more than 1e-3 and some by that
/// much, and no backbone weight by more than 2.5e-4 and some by that much.
#[test]
fn the_backbone_steps_at_its_fraction_of_the_learning_rate() {
    use medclassify::training::{CallbackSettings, Start};
    let device = Device::flex();
    let sample = Sample::at_32();
    let (data, training) = (&sample.data, sample.training());
    let (network, weights) = lite0_for(data);
    let model = network
        .init_for_training(&device.clone().autodiff(), Some(&weights))
        .unwrap();
    let before = values(&model);
    let config = TrainingConfig {
        epochs: 1,
        batch_size: training.train.len(),
        transfer: Transfer::All,
        backbone_lr: 0.25,
        callbacks: CallbackSettings {
            early_stopping: None,
            reduce_lr: None,
            checkpoint: None,
        },
        ..Default::default()
    };
    let mut host = Host(Vec::new());
    let outcome = run_on_cpu(
        &training,
        &config,
        &network,
        Start::Weights(model),
        &mut host,
    );
    let (mut head, mut backbone) = (0f32, 0f32);
    for ((path, a), (_, b)) in before.iter().zip(&values(&outcome.model)) {
        if path.contains("running_") {
            continue; // BatchNorm statistics (fitted to the images first) are not Adam's steps
        }
        let step = largest(a, b);
        match path.contains("classifier") {
            true => head = head.max(step),
            false => backbone = backbone.max(step),
        }
    }
    println!("largest step: head {head}, backbone {backbone}");
    assert!((head - 1e-3).abs() < 1e-5, "head {head}");
    assert!((backbone - 2.5e-4).abs() < 2.5e-6, "backbone {backbone}");
}

/// The shipped sample at 32 px with three training images a class (18: one part of the
/// fitting pass, so that its variance is the whole set's too), EfficientNet-Lite0 for it and
/// its published weights, and the oracle of [`AdaptCase::fitted_by`].
struct AdaptCase {
    sample: Sample,
    train: Vec<usize>,
    network: ModelConfig,
    weights: medclassify::model::pretrained::WeightsFile,
    /// The published network (ImageNet's statistics), on the CPU.
    published: Classifier,
    /// The stem's output mean and variance per channel over the 18 images ([`stem_statistics`]).
    oracle: (Vec<f64>, Vec<f64>),
}

impl AdaptCase {
    fn new() -> Self {
        let sample = Sample::at_32();
        let data = &sample.data;
        let mut per_class = vec![0; data.classes.len()];
        let train: Vec<usize> = (sample.train.iter().copied())
            .filter(|&i| {
                per_class[data.samples[i].label] += 1;
                per_class[data.samples[i].label] <= 3
            })
            .collect();
        assert_eq!(train.len(), 18);
        let (network, weights) = lite0_for(data);
        let published = network.init_for_training(&Device::flex(), Some(&weights));
        let published = published.unwrap();
        let weight = stem_tensor(&published, "conv.weight");
        let images: Vec<Vec<u8>> = train.iter().map(|&i| data.image(i).into_owned()).collect();
        let oracle = stem_statistics(&weight, &images, 32);
        AdaptCase {
            sample,
            train,
            network,
            weights,
            published,
            oracle,
        }
    }

    fn training(&self) -> TrainingData<'_> {
        TrainingData {
            dataset: &self.sample.data,
            train: self.train.clone(),
            validation: self.sample.validation.clone(),
        }
    }

    /// A run of `config` from the published weights on the CPU.
    fn run(&self, config: &TrainingConfig) -> medclassify::training::TrainingOutcome {
        let device = Device::flex();
        device.seed(42);
        let model =
            (self.network).init_for_training(&device.clone().autodiff(), Some(&self.weights));
        let start = medclassify::training::Start::Weights(model.unwrap());
        run_on_cpu(
            &self.training(),
            config,
            &self.network,
            start,
            &mut Host(Vec::new()),
        )
    }

    /// How far `model`'s stem statistics (mean, variance) are from the oracle's (relative).
    fn fitted_by(&self, model: &Classifier) -> (f64, f64) {
        let distance = common::relative_distance;
        let mean = distance(&stem_tensor(model, "norm.running_mean"), &self.oracle.0);
        (
            mean,
            distance(&stem_tensor(model, "norm.running_var"), &self.oracle.1),
        )
    }
}

/// The values of `model`'s tensor `stem.<field>`.
fn stem_tensor(model: &Classifier, field: &str) -> Vec<f32> {
    let path = format!("stem.{field}");
    let found = values(model).into_iter().find(|(p, _)| p.ends_with(&path));
    found.unwrap_or_else(|| panic!("no {path}")).1
}

/// Fine-tuning every layer first fits the backbone's BatchNorm statistics to the training
/// images (AdaBN, `src/training/adapt_norm.rs`), then keeps them frozen. Oracle: the mean and
/// variance of the stem convolution's outputs over those images, worked out here from the
/// published weights, the images and the input scaling the weights expect (the stem comes
/// before any BatchNorm, so its statistics do not depend on how the pass normalises later
/// layers; training steps never move statistics, so the run's first epoch leaves them), both
/// after the run and straight after the fitting pass: the 18 images go through in one part,
/// whose update Burn holds back until something syncs it, and the network must compute with
/// it from the start. The published ImageNet statistics are far from them (the control), and
/// `adapt_norm: false` keeps those bit for bit.
#[test]
fn fine_tuning_fits_the_batchnorm_statistics_to_the_training_images() {
    let case = AdaptCase::new();
    let mut config = TrainingConfig {
        epochs: 1,
        batch_size: 16,
        transfer: Transfer::All,
        adapt_norm: true,
        ..Default::default()
    };
    config.callbacks.checkpoint = None;
    // The pass alone, read without a sync (as the folded convolutions read it).
    let train_device = Device::flex().autodiff();
    let part = medclassify::data::make_batch(&case.sample.data, &case.train, None, &train_device).0;
    let fresh = case
        .network
        .init_for_training(&train_device, Some(&case.weights));
    let passed = case.fitted_by(&fresh.unwrap().adapt_norm([part], Transfer::All));
    assert!(
        passed.0 < 1e-3 && passed.1 < 1e-3,
        "after the pass: {passed:?}"
    );

    let adapted = case.run(&config);
    config.adapt_norm = false;
    let kept = case.run(&config);
    let fitted = case.fitted_by(&adapted.model);
    let imagenet = case.fitted_by(&case.published);
    println!("stem statistics off by {fitted:?} fitted, {imagenet:?} ImageNet's (relative)");
    assert!(fitted.0 < 1e-3 && fitted.1 < 1e-3, "fitted: {fitted:?}");
    assert!(
        imagenet.0 > 0.1 || imagenet.1 > 0.1,
        "the control: {imagenet:?}"
    );
    for field in ["norm.running_mean", "norm.running_var"] {
        assert!(
            stem_tensor(&kept.model, field) == stem_tensor(&case.published, field),
            "adapt_norm: false moved the {field}"
        );
    }
}

/// A head-only run asked to fit the statistics (`--transfer head --adapt-norm`: AdaBN as first
/// published, a frozen network adapted by its statistics alone) fits them as fine-tuning does
/// (the oracle above), moves no backbone weight, and trains its head on the fitted network's
/// features: the validation loss it recorded for the epoch it kept, computed on its cached
/// features, is the loss of the network it returns, recomputed here through every layer on
/// the validation images. A head trained on features of ImageNet's statistics and returned
/// with the fitted ones would record the loss of the run without fitting (the control: far
/// from it).
#[test]
fn the_head_alone_trains_on_the_features_of_fitted_statistics_when_asked() {
    let case = AdaptCase::new();
    let mut config = TrainingConfig {
        epochs: 2,
        batch_size: 16,
        transfer: Transfer::Head,
        adapt_norm: true,
        ..Default::default()
    };
    config.callbacks.checkpoint = None;
    let head = case.run(&config);
    let fitted = case.fitted_by(&head.model);
    assert!(fitted.0 < 1e-3 && fitted.1 < 1e-3, "fitted: {fitted:?}");
    let (same, moved) = compare(&values(&case.published), &values(&head.model));
    assert!(
        same.len() > 100,
        "{} backbone tensors unchanged",
        same.len()
    );
    let not_statistics: Vec<_> = (moved.iter())
        .filter(|p| !p.ends_with("running_mean") && !p.ends_with("running_var"))
        .collect();
    assert!(not_statistics.is_empty(), "moved: {not_statistics:?}");
    assert!(moved.len() > 40, "{} statistics fitted", moved.len());

    let recorded = |outcome: &medclassify::training::TrainingOutcome| {
        outcome.record.history[outcome.weights_from_epoch - 1].val_loss
    };
    let recomputed = validation_loss(&head.model, &case.sample);
    config.adapt_norm = false;
    let imagenet = recorded(&case.run(&config));
    println!(
        "validation loss: recorded {}, recomputed {recomputed}, without fitting {imagenet}",
        recorded(&head)
    );
    assert!((recorded(&head) - recomputed).abs() < 1e-4 * recomputed.max(1.0));
    assert!(
        (imagenet - recomputed).abs() > 1e-2 * recomputed,
        "the control"
    );
}

/// The mean cross-entropy of `model` on `sample`'s validation images, from its logits.
fn validation_loss(model: &Classifier, sample: &Sample) -> f64 {
    let device = Device::flex();
    let (images, labels) =
        medclassify::data::make_batch(&sample.data, &sample.validation, None, &device);
    let logits = model
        .forward(images)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let labels = labels
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap();
    let classes = logits.len() / labels.len();
    let losses = logits.chunks(classes).zip(&labels).map(|(row, &label)| {
        let top = row.iter().fold(f32::MIN, |m, &v| m.max(v)) as f64;
        let sum: f64 = row.iter().map(|&v| (v as f64 - top).exp()).sum();
        top + sum.ln() - row[label as usize] as f64
    });
    losses.sum::<f64>() / labels.len() as f64
}

/// Per output channel, the mean and (population) variance over every position of every
/// image of the stem convolution's outputs: 3x3, stride 2, TensorFlow's "SAME" padding (none
/// before, the rest after), on a grayscale image as three equal channels scaled as
/// `(v - 127) / 128` (tests/fixtures/imagenet/README.md), no bias.
fn stem_statistics(weight: &[f32], images: &[Vec<u8>], side: usize) -> (Vec<f64>, Vec<f64>) {
    let channels = weight.len() / 27;
    let out = side.div_ceil(2);
    let (mut sum, mut squares, mut count) = (vec![0.0; channels], vec![0.0; channels], 0.0);
    for image in images {
        assert_eq!(image.len(), side * side);
        for (y, x) in (0..out).flat_map(|y| (0..out).map(move |x| (y, x))) {
            count += 1.0;
            for c in 0..channels {
                let mut v = 0.0f64;
                for (ky, kx) in (0..3).flat_map(|ky| (0..3).map(move |kx| (ky, kx))) {
                    let (iy, ix) = (2 * y + ky, 2 * x + kx);
                    if iy < side && ix < side {
                        let pixel = (image[iy * side + ix] as f64 - 127.0) / 128.0;
                        let w: f64 = (0..3)
                            .map(|i| weight[((c * 3 + i) * 3 + ky) * 3 + kx] as f64)
                            .sum();
                        v += w * pixel;
                    }
                }
                sum[c] += v;
                squares[c] += v * v;
            }
        }
    }
    common::moments(&sum, &squares, count)
}
