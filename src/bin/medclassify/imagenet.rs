//! `medclassify imagenet`: the pretrained backbone's own ImageNet-1k answers for photographs.
//! Before trusting transfer learning on this machine, a user can see that the weights it reads
//! (`~/.cache/medclassify/weights`, checked by SHA-256) still recognise a cat as a cat, with
//! the network's original 1,000-class head, at 224 px in colour as it was trained.

use std::path::PathBuf;

use burn::prelude::*;
use medclassify::data::{Colour, DecodeLimits, InputShape, decode_pixels};
use medclassify::model::pretrained::{BACKBONES, EfficientNetLite, EfficientNetLiteConfig};
use medclassify::native::{read_bounded, read_weights, terminal_safe};

use crate::output::print_json;

/// The side the ImageNet weights were trained at.
const SIDE: usize = 224;
/// Photographs run through the network together: a bound on memory for long lists.
const BATCH: usize = 8;

/// One photograph's answer: the `top` classes by logit, or why it could not be read.
struct Answer {
    path: String,
    result: Result<Vec<(usize, f32, f32)>, String>,
}

pub fn imagenet(images: &[PathBuf], top: usize, json: bool) -> Result<(), String> {
    if !(1..=1000).contains(&top) {
        return Err(format!("--top {top}: give 1 to 1000 classes"));
    }
    let weights = read_weights(&BACKBONES[0])?;
    let device = Device::flex();
    let net = EfficientNetLiteConfig::new(1000, SIDE)
        .with_channels(3)
        .init(&device)
        .load_imagenet(&weights)?;
    let mut answers = Vec::new();
    for chunk in images.chunks(BATCH) {
        let batch = answer_batch(&net, chunk, top, &device);
        // As text, each batch's answers appear as soon as they are known.
        if json {
            answers.extend(batch);
        } else {
            batch.iter().for_each(print_answer);
        }
    }
    if json {
        print_json(&answers.iter().map(answer_json).collect::<Vec<_>>());
    }
    Ok(())
}

/// Decodes `paths` (a file that cannot be read or decoded gets its reason) and scores the
/// others in one forward pass.
fn answer_batch(
    net: &EfficientNetLite,
    paths: &[PathBuf],
    top: usize,
    device: &Device,
) -> Vec<Answer> {
    let shape = InputShape::square(SIDE as u32).with_colour(Colour::Rgb);
    let limits = DecodeLimits::default();
    let decoded: Vec<Result<Vec<u8>, String>> = paths
        .iter()
        .map(|path| {
            let bytes = read_bounded(path, limits.max_file_bytes).map_err(|e| e.to_string())?;
            decode_pixels(&bytes, shape, &limits).map_err(|e| e.to_string())
        })
        .collect();
    let pixels: Vec<f32> = decoded
        .iter()
        .flatten()
        .flat_map(|image| image.iter().map(|&v| f32::from(v) / 255.0))
        .collect();
    let count = decoded.iter().filter(|d| d.is_ok()).count();
    let mut logits = Vec::new();
    if count > 0 {
        let x = Tensor::<4>::from_data(TensorData::new(pixels, [count, 3, SIDE, SIDE]), device);
        logits = net
            .head(net.features(x))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
    }
    let mut rows = logits.chunks(1000);
    paths
        .iter()
        .zip(decoded)
        .map(|(path, image)| Answer {
            path: path.display().to_string(),
            result: image.map(|_| ranked(rows.next().unwrap_or_default(), top)),
        })
        .collect()
}

/// The `top` classes of `logits` as (class, logit, softmax probability), best first.
fn ranked(logits: &[f32], top: usize) -> Vec<(usize, f32, f32)> {
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let total: f32 = logits.iter().map(|&l| (l - max).exp()).sum();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    order
        .into_iter()
        .take(top)
        .map(|c| (c, logits[c], (logits[c] - max).exp() / total))
        .collect()
}

fn answer_json(answer: &Answer) -> serde_json::Value {
    match &answer.result {
        Err(error) => serde_json::json!({ "path": answer.path, "error": error }),
        Ok(top) => {
            let top: Vec<_> = top
                .iter()
                .map(|(class, logit, p)| {
                    serde_json::json!({ "class": class, "logit": logit, "probability": p })
                })
                .collect();
            serde_json::json!({ "path": answer.path, "top": top })
        }
    }
}

fn print_answer(answer: &Answer) {
    let path = terminal_safe(&answer.path);
    match &answer.result {
        Err(error) => println!("{path}: cannot read: {}", terminal_safe(error)),
        Ok(top) => {
            let classes: Vec<String> = top
                .iter()
                .map(|(class, _, p)| format!("{class} ({:.1}%)", p * 100.0))
                .collect();
            println!("{path}: ImageNet classes {}", classes.join(", "));
        }
    }
}
