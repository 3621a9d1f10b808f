//! In-browser tests (wasm-bindgen-test in headless Chromium): the CNN trains on WebGPU and
//! matches the same step on the Flex CPU backend; the platform helpers that need a browser
//! event loop behave. Run by scripts/test.sh (layer "wasm").
#![cfg(target_arch = "wasm32")]

use burn::prelude::*;
use medclassify::data::make_batch;
use medclassify::data::{Dataset, DatasetBuilder, InputShape};
use medclassify::model::{ModelConfig, Preset, SeedConfig, StrongConfig, Transfer};
use medclassify::storage::{decode_weights, encode_weights, parameter_values};
use wasm_bindgen_test::*;

// In a dedicated worker, as the app trains; the page stays free for the test runner.
wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Four real MedNIST images per class from the shipped subset.
const IMAGES: &[(&str, &[u8])] = &[
    (
        "AbdomenCT/000000.jpeg",
        include_bytes!("../www/sample/MedNIST/AbdomenCT/000000.jpeg"),
    ),
    (
        "AbdomenCT/000223.jpeg",
        include_bytes!("../www/sample/MedNIST/AbdomenCT/000223.jpeg"),
    ),
    (
        "AbdomenCT/000446.jpeg",
        include_bytes!("../www/sample/MedNIST/AbdomenCT/000446.jpeg"),
    ),
    (
        "AbdomenCT/000669.jpeg",
        include_bytes!("../www/sample/MedNIST/AbdomenCT/000669.jpeg"),
    ),
    (
        "BreastMRI/000000.jpeg",
        include_bytes!("../www/sample/MedNIST/BreastMRI/000000.jpeg"),
    ),
    (
        "BreastMRI/000223.jpeg",
        include_bytes!("../www/sample/MedNIST/BreastMRI/000223.jpeg"),
    ),
    (
        "BreastMRI/000446.jpeg",
        include_bytes!("../www/sample/MedNIST/BreastMRI/000446.jpeg"),
    ),
    (
        "BreastMRI/000669.jpeg",
        include_bytes!("../www/sample/MedNIST/BreastMRI/000669.jpeg"),
    ),
    (
        "CXR/000000.jpeg",
        include_bytes!("../www/sample/MedNIST/CXR/000000.jpeg"),
    ),
    (
        "CXR/000223.jpeg",
        include_bytes!("../www/sample/MedNIST/CXR/000223.jpeg"),
    ),
    (
        "CXR/000229.jpeg",
        include_bytes!("../www/sample/MedNIST/CXR/000229.jpeg"),
    ),
    (
        "CXR/000446.jpeg",
        include_bytes!("../www/sample/MedNIST/CXR/000446.jpeg"),
    ),
    (
        "ChestCT/000000.jpeg",
        include_bytes!("../www/sample/MedNIST/ChestCT/000000.jpeg"),
    ),
    (
        "ChestCT/000223.jpeg",
        include_bytes!("../www/sample/MedNIST/ChestCT/000223.jpeg"),
    ),
    (
        "ChestCT/000446.jpeg",
        include_bytes!("../www/sample/MedNIST/ChestCT/000446.jpeg"),
    ),
    (
        "ChestCT/000669.jpeg",
        include_bytes!("../www/sample/MedNIST/ChestCT/000669.jpeg"),
    ),
    (
        "Hand/000000.jpeg",
        include_bytes!("../www/sample/MedNIST/Hand/000000.jpeg"),
    ),
    (
        "Hand/000223.jpeg",
        include_bytes!("../www/sample/MedNIST/Hand/000223.jpeg"),
    ),
    (
        "Hand/000446.jpeg",
        include_bytes!("../www/sample/MedNIST/Hand/000446.jpeg"),
    ),
    (
        "Hand/000669.jpeg",
        include_bytes!("../www/sample/MedNIST/Hand/000669.jpeg"),
    ),
    (
        "HeadCT/000000.jpeg",
        include_bytes!("../www/sample/MedNIST/HeadCT/000000.jpeg"),
    ),
    (
        "HeadCT/000044.jpeg",
        include_bytes!("../www/sample/MedNIST/HeadCT/000044.jpeg"),
    ),
    (
        "HeadCT/000046.jpeg",
        include_bytes!("../www/sample/MedNIST/HeadCT/000046.jpeg"),
    ),
    (
        "HeadCT/000050.jpeg",
        include_bytes!("../www/sample/MedNIST/HeadCT/000050.jpeg"),
    ),
];

fn fixture() -> Dataset {
    fixture_of(32, 1)
}

/// Every `every`-th of [`IMAGES`] at `side` px.
fn fixture_of(side: u32, every: usize) -> Dataset {
    medclassify::run_constructors_once();
    let mut builder = DatasetBuilder::new(InputShape::square(side));
    for (path, bytes) in IMAGES.iter().step_by(every) {
        assert!(
            builder.add_file(path, bytes).is_none(),
            "{path} must decode"
        );
    }
    builder.finish().0
}

thread_local! {
    static GPU: std::cell::RefCell<Option<Device>> = const { std::cell::RefCell::new(None) };
    static ERRORS: std::cell::RefCell<Option<std::sync::Arc<medclassify::compute::GpuErrors>>> = const { std::cell::RefCell::new(None) };
}

fn gpu_error_count() -> u32 {
    ERRORS.with(|e| e.borrow().as_ref().map(|e| e.count()).unwrap_or(0))
}

fn gpu_errors() -> String {
    ERRORS.with(|e| {
        e.borrow()
            .as_ref()
            .map(|e| format!("{} WebGPU errors, first: {:?}", e.count(), e.first()))
            .unwrap_or_default()
    })
}

/// The page's WebGPU device (initialised once; a second init of the same device fails).
async fn webgpu() -> Device {
    medclassify::run_constructors_once();
    if let Some(device) = GPU.with(|g| g.borrow().clone()) {
        return device;
    }
    // As the worker does: the build has autotuning compiled in, off until a test turns it on,
    // and then with the least effort, as the worker tunes a software adapter.
    medclassify::web::worker::tuning::switch_off();
    medclassify::web::worker::tuning::least_effort();
    let (device, setup) = Device::wgpu_options()
        .init_with_setup_async()
        .await
        .expect("no WebGPU adapter: run Chromium with --enable-unsafe-webgpu --enable-features=Vulkan --use-webgpu-adapter=swiftshader");
    // As the app does: a validation error is recorded instead of panicking the worker; the
    // tests then assert there was none.
    let errors = medclassify::compute::watch_gpu_errors(&setup.device);
    ERRORS.with(|e| *e.borrow_mut() = Some(errors));
    GPU.with(|g| *g.borrow_mut() = Some(device.clone()));
    device
}

/// One step (forward, cross-entropy, backward) from the same weights on the same batch;
/// returns the loss, the logits and every parameter's gradient. The gradient is read as the
/// displacement of one plain gradient-descent step of rate 1 (w - 1 * g), so it is compared
/// with its magnitude: after one Adam step every weight moves by about the learning rate
/// times the gradient's sign, and a comparison of weights would only compare signs.
async fn one_step(
    config: &ModelConfig,
    weights: &[u8],
    dataset: &Dataset,
    device: &Device,
) -> (f32, Vec<f32>, Vec<Vec<f32>>) {
    one_step_of(config, weights, None, dataset, device).await
}

/// [`one_step`] of the network prepared as a run that trains `transfer` of it prepares it
/// (a pretrained network: its BatchNorm layers frozen in inference mode).
async fn one_step_of(
    config: &ModelConfig,
    weights: &[u8],
    transfer: Option<Transfer>,
    dataset: &Dataset,
    device: &Device,
) -> (f32, Vec<f32>, Vec<Vec<f32>>) {
    use burn::nn::loss::CrossEntropyLossConfig;
    use burn::optim::{GradientsParams, SgdConfig};
    let train = device.clone().autodiff();
    let model = decode_weights(config, weights, &train).expect("weights load");
    let model = match transfer {
        Some(part) => model.prepare_transfer(part),
        None => model,
    };
    let before = parameter_values(&model).await.expect("parameter readback");
    let indices: Vec<usize> = (0..dataset.len()).collect();
    let (images, labels) = make_batch(dataset, &indices, None, &train);
    let logits = model.forward(images);
    let logit_values = logits
        .clone()
        .inner()
        .into_data_async()
        .await
        .expect("logits readback")
        .try_into_vec_as::<f32>()
        .unwrap();
    let loss = CrossEntropyLossConfig::new()
        .init(&train)
        .forward(logits, labels);
    let gradients = GradientsParams::from_grads(loss.backward(), &model);
    let mut optimizer = SgdConfig::new().init();
    let model = optimizer.step(1.0, model, gradients);
    let loss = loss
        .inner()
        .into_data_async()
        .await
        .expect("loss readback")
        .try_into_vec_as::<f32>()
        .unwrap()[0];
    let after = parameter_values(&model).await.expect("parameter readback");
    let gradients = before
        .iter()
        .zip(&after)
        .map(|(b, a)| b.iter().zip(a).map(|(b, a)| b - a).collect())
        .collect();
    (loss, logit_values, gradients)
}

/// The largest difference between `a` and `b` relative to the largest magnitude in `a`.
fn relative_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    worst / scale.max(f32::MIN_POSITIVE)
}

#[wasm_bindgen_test]
async fn a_training_step_on_webgpu_has_the_cpus_loss_logits_and_gradients() {
    let gpu = webgpu().await;
    let cpu = Device::flex();
    let dataset = fixture();
    assert_eq!(dataset.len(), 24);
    // No dropout: the two backends draw different random masks.
    let config = ModelConfig::Seed(SeedConfig::new(6, 32).with_dropout(0.0));
    cpu.seed(11);
    let initial = encode_weights(&config.init(&cpu), &config).await.unwrap();

    let (cpu_loss, cpu_logits, cpu_grads) = one_step(&config, &initial, &dataset, &cpu).await;
    let (gpu_loss, gpu_logits, gpu_grads) = one_step(&config, &initial, &dataset, &gpu).await;

    assert!(
        cpu_loss.is_finite() && (cpu_loss - 1.79).abs() < 0.5,
        "an untrained 6-class net starts near ln 6: {cpu_loss}"
    );
    // f32 reductions run in another order on the GPU: 1e-4 on the loss (about 1.8), and on
    // each tensor 1e-3 of its largest value. A gradient that agreed in sign only, or a
    // kernel off by a factor, fails by orders of magnitude.
    assert!(
        (cpu_loss - gpu_loss).abs() < 1e-4,
        "loss: CPU {cpu_loss}, WebGPU {gpu_loss}"
    );
    assert_eq!(cpu_logits.len(), 24 * 6);
    let logits = relative_difference(&cpu_logits, &gpu_logits);
    assert!(logits < 1e-4, "logits differ by {logits} of their scale");
    assert_eq!(cpu_grads.len(), gpu_grads.len());
    assert_eq!(
        cpu_grads.len(),
        6,
        "two convolutions and a dense layer, weights and biases"
    );
    for (tensor, (c, g)) in cpu_grads.iter().zip(&gpu_grads).enumerate() {
        assert!(
            c.iter().any(|v| v.abs() > 1e-7),
            "tensor {tensor} has a gradient"
        );
        let difference = relative_difference(c, g);
        assert!(
            difference < 1e-3,
            "tensor {tensor}: gradients differ by {difference} of their scale"
        );
    }
    // The oracle can fail: a gradient with the right signs and halved magnitudes does.
    let halved: Vec<f32> = cpu_grads[0].iter().map(|v| v * 0.5).collect();
    assert!(relative_difference(&cpu_grads[0], &halved) > 0.1);
}

/// The page explains on WebGPU and the command on the CPU: the same heatmaps, value for value.
/// Saliency runs the first convolution's backward pass down to the image, which training never
/// needs (the journey e2e test found the page's saliency maps unlike the command's).
#[wasm_bindgen_test]
async fn heatmaps_on_webgpu_are_the_cpus() {
    use medclassify::evaluation::{grad_cam, saliency};
    let gpu = webgpu().await;
    let cpu = Device::flex();
    let dataset = fixture();
    for config in [
        ModelConfig::Seed(SeedConfig::new(6, 32).with_dropout(0.0)),
        ModelConfig::Strong(StrongConfig::new(6, 32)),
    ] {
        cpu.seed(11);
        let weights = encode_weights(&config.init(&cpu), &config).await.unwrap();
        for index in [0, 9] {
            let image = dataset.image(index);
            let mut maps = Vec::new();
            for device in [&cpu, &gpu] {
                let model = decode_weights(&config, &weights, device).expect("weights load");
                let shape = dataset.shape;
                let cam = grad_cam(&model, &image, shape, 2, device).await.unwrap();
                let grad = saliency(&model, &image, shape, 2, device).await.unwrap();
                maps.push([cam.values, grad.values]);
            }
            for (method, name) in ["Grad-CAM", "saliency"].iter().enumerate() {
                let (c, g) = (&maps[0][method], &maps[1][method]);
                assert!(c.iter().any(|v| *v > 0.5), "{name}: an empty map");
                let difference = relative_difference(c, g);
                assert!(
                    difference < 1e-3,
                    "{config:?}, image {index}, {name}: WebGPU's map differs from the CPU's by {difference}"
                );
            }
        }
    }
}

/// The converted ImageNet weights (`scripts/weights.sh`; `scripts/env.sh` names the file).
const WEIGHTS: &[u8] = include_bytes!(env!("MEDCLASSIFY_WEIGHTS_FILE"));

/// EfficientNet-Lite0 with its ImageNet weights, as fine-tuning prepares it (every layer
/// trains; the backbone's BatchNorm layers stay in inference mode), on 12 shipped images at
/// 64 px: the logits and every weight's gradient on WebGPU agree with the CPU's, relative to
/// their scale. This runs the kernels the pretrained network adds (depthwise convolutions,
/// ReLU6, residual adds, 16 blocks deep) forward and backward on the GPU.
#[wasm_bindgen_test]
async fn the_pretrained_backbone_on_webgpu_has_the_cpus_logits_and_gradients() {
    use medclassify::model::pretrained::WeightsFile;
    let gpu = webgpu().await;
    let cpu = Device::flex();
    let dataset = fixture_of(64, 2);
    assert_eq!(dataset.len(), 12);
    let mut config = ModelConfig::new(Preset::EfficientNetLite0, 6, InputShape::square(64));
    if let ModelConfig::EfficientNetLite0(c) = &mut config {
        // No dropout: the two backends draw different random masks.
        c.dropout = 0.0;
    }
    let weights = WeightsFile::parse(WEIGHTS.to_vec()).expect("the converted weights parse");
    cpu.seed(3);
    let start = config.init_for_training(&cpu, Some(&weights)).unwrap();
    let initial = encode_weights(&start, &config).await.unwrap();
    let all_layers = Some(Transfer::All);
    let (cpu_loss, cpu_logits, cpu_grads) =
        one_step_of(&config, &initial, all_layers, &dataset, &cpu).await;
    let (gpu_loss, gpu_logits, gpu_grads) =
        one_step_of(&config, &initial, all_layers, &dataset, &gpu).await;
    console_log!(
        "EfficientNet-Lite0 loss: CPU {cpu_loss}, WebGPU {gpu_loss}; {}",
        gpu_errors()
    );
    assert!(cpu_loss.is_finite() && gpu_loss.is_finite());
    assert!(
        (cpu_loss - gpu_loss).abs() < 1e-3 * cpu_loss.abs().max(1.0),
        "loss: CPU {cpu_loss}, WebGPU {gpu_loss}"
    );
    assert_eq!(cpu_logits.len(), 12 * 6);
    let logits = relative_difference(&cpu_logits, &gpu_logits);
    assert!(logits < 1e-3, "logits differ by {logits} of their scale");
    assert_eq!(cpu_grads.len(), gpu_grads.len());
    let mut worst = (0f32, 0);
    let mut with_gradient = 0;
    for (tensor, (c, g)) in cpu_grads.iter().zip(&gpu_grads).enumerate() {
        if !c.iter().any(|v| v.abs() > 1e-9) {
            // Frozen (the BatchNorm layers): no step on either device.
            assert!(
                g.iter().all(|v| *v == 0.0),
                "tensor {tensor} moved on WebGPU only"
            );
            continue;
        }
        with_gradient += 1;
        let difference = relative_difference(c, g);
        if difference > worst.0 {
            worst = (difference, tensor);
        }
    }
    console_log!(
        "{with_gradient} tensors with a gradient; largest difference {:.2e} of its scale (tensor {})",
        worst.0,
        worst.1
    );
    // Every convolution (the stem; 16 blocks' depthwise convolutions and projections, and
    // the expansions of the 15 that expand; the last convolution) and the head's weight and
    // bias: 51 tensors. The BatchNorm layers stay frozen.
    assert_eq!(with_gradient, 51, "tensors with a gradient");
    // Measured 3.1e-6 here (SwiftShader); 1e-3 of each tensor's scale, as for the networks
    // from scratch above.
    assert!(
        worst.0 < 1e-3,
        "tensor {}: gradients differ by {} of their scale",
        worst.1,
        worst.0
    );
    // The oracle can fail: the right signs at 90 % of the magnitude do.
    let scaled: Vec<f32> = cpu_grads[0].iter().map(|v| v * 0.9).collect();
    assert!(relative_difference(&cpu_grads[0], &scaled) > 0.05);
}

#[wasm_bindgen_test]
async fn a_model_on_webgpu_is_saved_without_blocking_and_reloads_on_the_cpu() {
    let gpu = webgpu().await;
    let config = ModelConfig::Seed(SeedConfig::new(6, 32));
    let model = config.init(&gpu);
    let bytes = encode_weights(&model, &config)
        .await
        .expect("saving from WebGPU must not block");
    let on_cpu = decode_weights(&config, &bytes, &Device::flex()).unwrap();
    let a = parameter_values(&model).await.unwrap();
    let b = parameter_values(&on_cpu).await.unwrap();
    assert_eq!(a, b);
    // Same predictions on both backends.
    let dataset = fixture();
    let indices: Vec<usize> = (0..dataset.len()).collect();
    let (images, _) = make_batch(&dataset, &indices, None, &gpu);
    let p_gpu = model
        .valid()
        .probabilities(images)
        .into_data_async()
        .await
        .unwrap()
        .try_into_vec_as::<f32>()
        .unwrap();
    let (images, _) = make_batch(&dataset, &indices, None, &Device::flex());
    let p_cpu = on_cpu
        .probabilities(images)
        .into_data_async()
        .await
        .unwrap()
        .try_into_vec_as::<f32>()
        .unwrap();
    for (x, y) in p_gpu.iter().zip(&p_cpu) {
        assert!((x - y).abs() < 1e-4);
    }
}

/// Several steps: WebGPU's kernels must compute what the CPU computes, step after step.
async fn losses(
    config: &ModelConfig,
    weights: &[u8],
    dataset: &Dataset,
    device: &Device,
    steps: usize,
) -> Vec<f32> {
    use burn::nn::loss::CrossEntropyLossConfig;
    use burn::optim::{AdamConfig, GradientsParams};
    let train = device.clone().autodiff();
    let mut model = decode_weights(config, weights, &train).expect("weights load");
    let mut optimizer = AdamConfig::new().init();
    let indices: Vec<usize> = (0..dataset.len()).collect();
    let mut out = Vec::new();
    for _ in 0..steps {
        let (images, labels) = make_batch(dataset, &indices, None, &train);
        let loss = CrossEntropyLossConfig::new()
            .init(&train)
            .forward(model.forward(images), labels);
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-3, model, gradients);
        out.push(
            loss.inner()
                .into_data_async()
                .await
                .unwrap()
                .try_into_vec_as::<f32>()
                .unwrap()[0],
        );
    }
    out
}

/// Trains `config` from the same starting weights on the CPU and on WebGPU for `steps` steps
/// and checks that the loss falls and that every step agrees within 1e-3 (differences grow a
/// little with each step; 1e-3 still tells a wrong kernel apart). Returns both loss series.
async fn webgpu_follows_the_cpu(
    config: ModelConfig,
    seed: u64,
    steps: usize,
) -> (Vec<f32>, Vec<f32>) {
    let gpu = webgpu().await;
    let cpu = Device::flex();
    let dataset = fixture();
    cpu.seed(seed);
    let initial = encode_weights(&config.init(&cpu), &config).await.unwrap();
    let on_cpu = losses(&config, &initial, &dataset, &cpu, steps).await;
    let on_gpu = losses(&config, &initial, &dataset, &gpu, steps).await;
    console_log!("CPU {on_cpu:?}, WebGPU {on_gpu:?}; {}", gpu_errors());
    assert!(on_cpu[steps - 1] < on_cpu[0], "the loss falls: {on_cpu:?}");
    for (step, (c, g)) in on_cpu.iter().zip(&on_gpu).enumerate() {
        assert!(
            g.is_finite() && (c - g).abs() < 1e-3,
            "step {step}: CPU {c}, WebGPU {g} ({on_cpu:?} vs {on_gpu:?}; {})",
            gpu_errors()
        );
    }
    (on_cpu, on_gpu)
}

#[wasm_bindgen_test]
async fn eight_training_steps_on_webgpu_follow_the_cpu() {
    let config = ModelConfig::Seed(SeedConfig::new(6, 32).with_dropout(0.0));
    webgpu_follows_the_cpu(config, 5, 8).await;
}

#[wasm_bindgen_test]
async fn the_strong_network_trains_on_webgpu_as_on_the_cpu_and_no_kernel_is_refused() {
    // Batch norm in training mode uses the batch's statistics on both backends alike.
    let config = ModelConfig::Strong(StrongConfig::new(6, 32).with_dropout(0.0));
    webgpu_follows_the_cpu(config, 9, 6).await;
    // A kernel the adapter refuses invalidates the command buffer it sits in, real work
    // included (the loss then turns NaN): the browser build must launch none.
    assert_eq!(gpu_error_count(), 0, "{}", gpu_errors());
}

/// Kernel tuning with SwiftShader treated as a GPU (the test hook), where it refuses candidates
/// of its own and the hook has it refuse every candidate at an odd index besides (a shader made
/// invalid on purpose, refused by the real device): each refusal is caught in its candidate's
/// error scopes and skipped, none reaches real work (no uncaptured WebGPU error), no refused
/// candidate wins, and training follows the CPU while tuning runs and after, with the winners.
#[wasm_bindgen_test]
async fn tuning_skips_candidates_the_device_refuses_and_training_stays_the_cpus() {
    use medclassify::page::protocol::GpuReport;
    use medclassify::tuning::{TuningLedger, TuningTestHook, policy_for};
    use medclassify::web::worker::tuning;
    webgpu().await;
    let errors_before = gpu_error_count();
    let adapter = GpuReport {
        available: true,
        vendor: "google".into(),
        architecture: "swiftshader".into(),
        software: true,
        timestamp_query: true,
        ..GpuReport::default()
    };
    let policy = policy_for(&adapter, TuningTestHook::TreatAsHardwareAndRefuse);
    assert!(policy.enabled && policy.refuse_odd_candidates);
    let ledger = std::sync::Arc::new(TuningLedger::new(policy, None));
    tuning::install(ledger.clone());

    let config = ModelConfig::Strong(StrongConfig::new(6, 32).with_dropout(0.0));
    // While the candidates are measured (the defaults run real work meanwhile) ...
    webgpu_follows_the_cpu(config.clone(), 9, 3).await;
    // ... until every tune in flight has settled (they resolve on the event loop) ...
    // (The ledger counts the tunes CubeCL reports begun and not yet ended, settled or not;
    // not settled within 120 s fails.)
    let mut waited_ms = 0;
    while ledger.in_flight() > 0 && waited_ms < 120_000 {
        gloo::timers::future::TimeoutFuture::new(50).await;
        waited_ms += 50;
    }
    assert_eq!(
        ledger.in_flight(),
        0,
        "tuning did not settle within 120 s: {:?}",
        ledger.summary()
    );
    // ... and with the winners.
    webgpu_follows_the_cpu(config, 9, 3).await;
    let summary = ledger.summary();
    tuning::switch_off();
    console_log!("{summary:?}");

    assert!(summary.tuned > 0, "shapes were tuned: {summary:?}");
    // Every tune CubeCL reported begun was reported ended, with a winner or without.
    assert_eq!(
        ledger.begun(),
        summary.tuned + summary.unsettled,
        "{summary:?}"
    );
    assert!(
        summary.refused > 0,
        "the device refused candidates: {summary:?}"
    );
    assert_eq!(
        gpu_error_count(),
        errors_before,
        "a refusal reached real work: {}",
        gpu_errors()
    );
    let stored: serde_json::Value =
        serde_json::from_slice(&ledger.take_unsaved().expect("winners to keep")).unwrap();
    let winners = stored["winners"].as_object().expect("winners");
    assert_eq!(winners.len(), summary.tuned);
    for (entry, winner) in winners {
        let index = winner["fastest"].as_u64().unwrap();
        assert_eq!(index % 2, 0, "{entry}: a refused candidate won ({winner})");
    }
}

/// A `yield_now` dropped mid-wait (a cancelled load drops the reads it had started) leaves no
/// handler behind: its message still arrives, to nothing, and nothing throws. Before the fix,
/// the freed closure threw "closure invoked recursively or after being dropped" (CI, stop 35).
/// Oracle: the worker's own `error` events. Positive control: a handler freed with its message
/// in flight, the bug by hand, is seen there.
#[wasm_bindgen_test]
async fn a_yield_dropped_mid_wait_throws_nothing_when_its_message_arrives() {
    use futures::FutureExt;
    use medclassify::web::platform::time;
    use std::{cell::RefCell, rc::Rc};
    use wasm_bindgen::{JsCast, JsValue, closure::Closure};

    let errors = Rc::new(RefCell::new(Vec::<String>::new()));
    let on_error = {
        let errors = errors.clone();
        Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |event: web_sys::ErrorEvent| {
            event.prevent_default();
            errors.borrow_mut().push(event.message());
        })
    };
    let scope: web_sys::EventTarget = js_sys::global().unchecked_into();
    scope
        .add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref())
        .unwrap();
    let settle = || time::sleep(std::time::Duration::from_millis(100));

    let channel = web_sys::MessageChannel::new().unwrap();
    let freed = Closure::<dyn FnMut()>::new(|| {});
    channel
        .port1()
        .set_onmessage(Some(freed.as_ref().unchecked_ref()));
    channel.port2().post_message(&JsValue::NULL).unwrap();
    drop(freed);
    settle().await;
    assert_eq!(
        errors.borrow().len(),
        1,
        "the control is not seen: {:?}",
        errors.borrow()
    );
    assert!(
        errors.borrow()[0].contains("after being dropped"),
        "{:?}",
        errors.borrow()
    );

    for _ in 0..8 {
        assert!(
            time::yield_now().now_or_never().is_none(),
            "a yield waits for a turn"
        );
    }
    settle().await;
    assert_eq!(errors.borrow().len(), 1, "{:?}", errors.borrow());
    // A yield that is not dropped still returns.
    time::yield_now().await;
    scope
        .remove_event_listener_with_callback("error", on_error.as_ref().unchecked_ref())
        .unwrap();
}
