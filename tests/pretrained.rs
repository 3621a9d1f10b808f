//! The pretrained backbone (EfficientNet-Lite0, ImageNet-1k) is imported right: checked on
//! photographs whose content is known (scikit-image ships them) and against an independent
//! reference (tests/efficientnet_reference.py: the published .pth read with Python's own
//! pickle module, the network built as an ONNX graph, run by onnxruntime).

mod common;

use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use medclassify::data::{Colour, DecodeLimits, InputShape, decode_pixels};
use medclassify::model::pretrained::{
    BACKBONES, EfficientNetLite, EfficientNetLiteConfig, WeightsFile,
};
use medclassify::native::read_weights;

const SIDE: usize = 224;

fn weights() -> WeightsFile {
    read_weights(&BACKBONES[0]).unwrap_or_else(|e| panic!("{e}"))
}

fn imagenet_net(channels: usize) -> EfficientNetLite {
    let device = Device::flex();
    EfficientNetLiteConfig::new(1000, SIDE)
        .with_channels(channels)
        .init(&device)
        .load_imagenet(&weights())
        .unwrap()
}

/// The folder of scikit-image's bundled photographs in the tests' Python (`None` where the
/// Python cross-checks knowingly do not run; see `common::python`).
fn photographs() -> Option<PathBuf> {
    let python = common::python(&["skimage"])?;
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import skimage.data, os; print(os.path.dirname(skimage.data.__file__))",
        ])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()))
}

/// `path` decoded by the product's own decoder at 224 px RGB, as intensities 0..1.
fn photograph(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let shape = InputShape::square(SIDE as u32).with_colour(Colour::Rgb);
    decode_pixels(&bytes, shape, &DecodeLimits::default())
        .unwrap()
        .into_iter()
        .map(|v| f32::from(v) / 255.0)
        .collect()
}

fn logits(net: &EfficientNetLite, pixels: Vec<f32>, channels: usize) -> Vec<f32> {
    let device = Device::flex();
    let batch = pixels.len() / (channels * SIDE * SIDE);
    let x = Tensor::<4>::from_data(
        TensorData::new(pixels, [batch, channels, SIDE, SIDE]),
        &device,
    );
    net.head(net.features(x))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

/// The pretrained backbone for grayscale images with a new head of 2 classes, on `device`,
/// prepared to train `part`.
fn grayscale_backbone(device: &Device, part: medclassify::model::Transfer) -> EfficientNetLite {
    EfficientNetLiteConfig::new(2, SIDE)
        .with_channels(1)
        .init(device)
        .load_backbone(&weights())
        .unwrap()
        .prepare(part)
}

/// The CPU inference path (the batch in parts, MedClassify's own depthwise kernel) gives the
/// features of Burn's own operations on the whole batch: the same network on the autodiff
/// device with an input that needs gradients, which takes neither path. A page's inference
/// batch of 17 images at 224 px, the photographs and noise.
#[test]
fn the_cpu_inference_path_gives_the_features_of_burns_operations() {
    let device = Device::flex();
    let net = grayscale_backbone(&device, medclassify::model::Transfer::Head);
    let x = Tensor::<4>::random(
        [17, 1, SIDE, SIDE],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let ours = net
        .features(x.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let autodiff = device.clone().autodiff();
    let input = Tensor::<4>::from_data(x.into_data(), &autodiff).require_grad();
    let reference = net.fork(&autodiff).features(input);
    let reference = reference.into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(ours.len(), reference.len());
    let scale = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(scale > 1.0, "features near zero: {scale}");
    let worst = ours
        .iter()
        .zip(&reference)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    println!("largest feature difference {worst:e} (largest feature {scale})");
    assert!(worst <= 1e-5 * scale, "features differ by up to {worst}");
}

/// Every float parameter's gradient in `gradients`, in visiting order (`None`: it has none).
fn gradients_of(net: &EfficientNetLite, gradients: &GradientsParams) -> Vec<Option<Vec<f32>>> {
    struct Gather<'a>(&'a GradientsParams, Vec<Option<Vec<f32>>>);
    impl ModuleVisitor for Gather<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = self.0.get::<D>(param.id);
            (self.1).push(values.map(|g| g.into_data().try_to_vec::<f32>().unwrap()));
        }
    }
    let mut gather = Gather(gradients, Vec::new());
    net.visit(&mut gather);
    gather.1
}

/// The largest difference between `a` and `b` over the largest magnitude of `b`.
fn relative_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = a
        .iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    worst / scale.max(f32::MIN_POSITIVE)
}

/// The norm of `a - b` over the norm of `b`. (A ReLU6 input within float rounding of 0 or 6
/// may fall on the other side in one pass and pass a gradient there that the other does not:
/// one value among thousands, which this measure weighs by its share of the whole.)
fn relative_norm_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let norm = |values: &mut dyn Iterator<Item = f32>| values.map(|v| v * v).sum::<f32>().sqrt();
    let difference = norm(&mut a.iter().zip(b).map(|(x, y)| x - y));
    difference / norm(&mut b.iter().copied()).max(f32::MIN_POSITIVE)
}

/// A training pass of the "top" mode on the CPU: no gradient passes through its frozen stem
/// and first 11 blocks, so their depthwise convolutions are MedClassify's own kernel
/// (`cpu_kernels.rs`), and the trained blocks' are Burn's. Its features and the gradients of
/// every trained parameter are those of Burn's own operations alone: the same pass with an
/// input that needs gradients, which takes no kernel. Five grayscale images at 224 px.
#[test]
fn a_partly_frozen_training_pass_gives_the_features_and_gradients_of_burns_operations() {
    let autodiff = Device::flex().autodiff();
    let net = grayscale_backbone(&autodiff, medclassify::model::Transfer::Top);
    let uniform = burn::tensor::Distribution::Uniform(0.0, 1.0);
    // Seeded: some random inputs put a ReLU6 input of the trained blocks within rounding of
    // 0 or 6, which then passes a gradient in one pass only (up to 6e-4 of a gradient's norm
    // seen over 13 unseeded runs; 2.8e-7 to 3.8e-7 otherwise, and with this seed).
    Device::flex().seed(25);
    let x = Tensor::<4>::random([5, 1, SIDE, SIDE], uniform, &Device::flex()).into_data();
    // The loss: the features weighed by fixed random numbers, so that every feature counts.
    let weighing = Tensor::<4>::random([5, 1280, 7, 7], uniform, &Device::flex()).into_data();
    let pass = |input: Tensor<4>| {
        let features = net.features(input);
        let loss = (features.clone() * Tensor::from_data(weighing.clone(), &autodiff)).sum();
        let gradients = GradientsParams::from_grads(loss.backward(), &net);
        let features = features.into_data().try_to_vec::<f32>().unwrap();
        (features, gradients_of(&net, &gradients))
    };
    let (ours, our_gradients) = pass(Tensor::from_data(x.clone(), &autodiff));
    let (reference, reference_gradients) = pass(Tensor::from_data(x, &autodiff).require_grad());
    let features = relative_difference(&ours, &reference);
    println!("features differ by {features:e} of their largest");
    assert!(
        features <= 1e-5,
        "features differ by {features:e} of their largest"
    );
    let mut trained = 0;
    for (i, (a, b)) in our_gradients.iter().zip(&reference_gradients).enumerate() {
        match (a, b) {
            (Some(a), Some(b)) => {
                let difference = relative_norm_difference(a, b);
                assert!(
                    difference <= 1e-3,
                    "parameter {i}: gradients differ by {difference:e}"
                );
                trained += 1;
            }
            (None, None) => {}
            _ => panic!("parameter {i} has a gradient in one pass only"),
        }
    }
    // Blocks 11-15 (expand, depthwise, project: weight each) and the last convolution.
    assert_eq!(trained, 5 * 3 + 1, "trained parameters with a gradient");
}

fn top5(logits: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    order.truncate(5);
    order
}

#[test]
fn the_imported_network_has_the_published_size() {
    // EfficientNet-Lite0 with its 1,000-class ImageNet head has 4,652,008 weights (the
    // published 4.65 M; the sum of the PyTorch file's parameter tensors) and 21,008 BatchNorm
    // channels, each with a running mean and variance, which Burn counts as well.
    assert_eq!(imagenet_net(3).num_params(), 4_652_008 + 2 * 21_008);
    assert_eq!(
        EfficientNetLiteConfig::new(1000, SIDE).parameter_estimate(),
        4_652_008
    );
}

/// (photograph, the ImageNet classes that are right for it). Their content is known: a
/// cameraman with a tripod, a cat, a cup of espresso (scikit-image's CC0 photographs).
const KNOWN: [(&str, &[usize]); 3] = [
    ("camera.png", &[872]),
    ("chelsea.png", &[281, 282, 283, 284, 285]),
    ("coffee.png", &[967, 968, 504]),
];

#[test]
fn known_photographs_get_their_imagenet_classes() {
    let Some(dir) = photographs() else { return };
    let net = imagenet_net(3);
    for (file, right) in KNOWN {
        let scores = logits(&net, photograph(&dir.join(file)), 3);
        let best = top5(&scores);
        println!("{file}: top-5 {best:?}");
        assert!(
            right.contains(&best[0]),
            "{file}: top-1 is class {}, expected one of {right:?} (top-5 {best:?})",
            best[0]
        );
    }
}

#[test]
fn a_grayscale_image_is_three_equal_channels() {
    let Some(dir) = photographs() else { return };
    let bytes = std::fs::read(dir.join("camera.png")).unwrap();
    let gray = InputShape::square(SIDE as u32);
    let pixels: Vec<f32> = decode_pixels(&bytes, gray, &DecodeLimits::default())
        .unwrap()
        .into_iter()
        .map(|v| f32::from(v) / 255.0)
        .collect();
    let three: Vec<f32> = pixels.repeat(3);
    let from_gray = logits(&imagenet_net(1), pixels, 1);
    let from_rgb = logits(&imagenet_net(3), three, 3);
    let worst = from_gray
        .iter()
        .zip(&from_rgb)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(worst < 1e-4, "grayscale and its RGB twin differ by {worst}");
    assert_eq!(top5(&from_gray)[0], 872);
}

#[test]
fn logits_match_an_independent_reference() {
    let Some(dir) = photographs() else { return };
    let Some(python) = common::python(&["onnxruntime", "onnx", "numpy"]) else {
        return;
    };
    let files = ["camera.png", "chelsea.png", "coffee.png", "astronaut.png"];
    let pixels: Vec<f32> = files
        .iter()
        .flat_map(|f| photograph(&dir.join(f)))
        .collect();
    let work = common::temp_dir("pretrained-reference");
    let reference = reference_logits(&python, &work, &pixels);
    let ours = logits(&imagenet_net(3), pixels, 3);
    assert_eq!(reference.len(), ours.len());
    let worst = reference
        .iter()
        .zip(&ours)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    let scale = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    println!("largest logit difference {worst:e} (largest logit {scale})");
    assert!(
        worst < 1e-3,
        "logits differ from the reference by up to {worst}"
    );
    // A positive control: the same comparison catches a wrong network (the reference's
    // first image against our second).
    let shifted = ours[1000..2000]
        .iter()
        .zip(&reference[..1000])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(shifted > 1.0);
}

/// `medclassify imagenet` as a user runs it on photographs (one PNG in grey, PNGs and a JPEG
/// in colour) and a damaged file: each photograph's top 5 are the independent reference's top
/// 5 on the same decoded pixels, in order, with logits within 1e-3; the known photographs get
/// their classes; the damaged file is named with its reason and the others are still answered.
#[test]
fn the_command_gives_the_reference_answers() {
    let Some(dir) = photographs() else { return };
    let Some(python) = common::python(&["onnxruntime", "onnx", "numpy"]) else {
        return;
    };
    let files = [
        "camera.png",
        "chelsea.png",
        "coffee.png",
        "rocket.jpg",
        "astronaut.png",
    ];
    let work = common::temp_dir("pretrained-command");
    let damaged = work.join("damaged.png");
    let mut bytes = std::fs::read(dir.join("coffee.png")).unwrap();
    bytes.truncate(bytes.len() / 3);
    std::fs::write(&damaged, bytes).unwrap();
    let mut paths: Vec<String> = files
        .iter()
        .map(|f| dir.join(f).display().to_string())
        .collect();
    paths.insert(2, damaged.display().to_string());
    let args = [
        &["imagenet", "--json"][..],
        &paths.iter().map(String::as_str).collect::<Vec<_>>(),
    ]
    .concat();
    let (ok, stdout, stderr, _) = common::run_cli(&args);
    assert!(ok, "{stderr}");
    let answers: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answers.len(), paths.len(), "{stdout}");
    let refused = &answers[2];
    assert_eq!(refused["path"], paths[2]);
    assert!(
        refused["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{refused}"
    );

    let pixels: Vec<f32> = files
        .iter()
        .flat_map(|f| photograph(&dir.join(f)))
        .collect();
    let reference = reference_logits(&python, &work, &pixels);
    let answered: Vec<&serde_json::Value> =
        answers.iter().filter(|a| a.get("top").is_some()).collect();
    for ((file, answer), expected) in files.iter().zip(answered).zip(reference.chunks(1000)) {
        let top: Vec<(usize, f32)> = answer["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["class"].as_u64().unwrap() as usize,
                    t["logit"].as_f64().unwrap() as f32,
                )
            })
            .collect();
        let classes: Vec<usize> = top.iter().map(|(c, _)| *c).collect();
        assert_eq!(classes, top5(expected), "{file}: {answer}");
        for (class, logit) in top {
            assert!(
                (logit - expected[class]).abs() < 1e-3,
                "{file}: class {class} {logit} against {}",
                expected[class]
            );
        }
        if let Some((_, right)) = KNOWN.iter().find(|(known, _)| known == file) {
            assert!(right.contains(&classes[0]), "{file}: {classes:?}");
        }
        // The names of the fixture README's acceptable classes (there from the standard list).
        let name = answer["top"][0]["name"].as_str().unwrap_or_default();
        let right_names: &[&str] = match *file {
            "camera.png" => &["tripod"],
            "chelsea.png" => &[
                "tabby",
                "tiger cat",
                "Persian cat",
                "Siamese cat",
                "Egyptian cat",
            ],
            "coffee.png" => &["espresso", "cup", "coffee mug"],
            _ => &[],
        };
        assert!(
            right_names.is_empty() || right_names.contains(&name),
            "{file}: {answer}"
        );
    }
    let (ok, text, stderr, _) = common::run_cli(&["imagenet", &paths[1]]);
    assert!(ok, "{stderr}");
    assert!(text.contains("285 Egyptian cat ("), "{text}");
    let _ = std::fs::remove_dir_all(&work);
}

/// The independent reference's ImageNet logits (`tests/efficientnet_reference.py`, run by
/// `python` in `work`) for `pixels`: 224 px RGB images, intensities 0..1, normalised here as
/// the weights expect.
fn reference_logits(python: &Path, work: &Path, pixels: &[f32]) -> Vec<f32> {
    let normalised: Vec<f32> = pixels.iter().map(|v| (v * 255.0 - 127.0) / 128.0).collect();
    let images = pixels.len() / (3 * SIDE * SIDE);
    write_npy(
        &work.join("input.npy"),
        &[images, 3, SIDE, SIDE],
        &normalised,
    );
    let original = medclassify::native::weights_path(&BACKBONES[0])
        .with_file_name("efficientnet-lite0-57934424.pth");
    let output = std::process::Command::new(python)
        .arg(common::repo().join("tests/efficientnet_reference.py"))
        .arg(&original)
        .args(["--npy", work.join("input.npy").to_str().unwrap()])
        .args(["--out", work.join("logits.npy").to_str().unwrap()])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    read_npy(&work.join("logits.npy"))
}

/// A float32 `.npy` file.
fn write_npy(path: &Path, shape: &[usize], values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, common::npy("<f4", shape, &bytes)).unwrap();
}

/// The values of a little-endian float32 `.npy` file.
fn read_npy(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        ),
    };
    let header = String::from_utf8_lossy(&bytes[start..start + len]);
    assert!(
        header.contains("'<f4'") && header.contains("False"),
        "{header}"
    );
    bytes[start + len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn a_damaged_weights_file_is_refused_with_a_reason() {
    let path = medclassify::native::weights_path(&BACKBONES[0]);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    let error = BACKBONES[0].read_weights(bytes).err().expect("refused");
    assert!(
        error.contains("damaged") && error.contains("SHA-256"),
        "{error}"
    );
    let cut = std::fs::read(&path).unwrap()[..1000].to_vec();
    assert!(BACKBONES[0].read_weights(cut).is_err());
}
