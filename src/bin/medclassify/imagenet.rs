//! `medclassify imagenet`: the pretrained backbone's own ImageNet-1k answers for photographs.
//! Before trusting transfer learning on this machine, a user can see that the weights it reads
//! (`~/.cache/medclassify/weights`, checked by SHA-256) still recognise a cat as a cat, with
//! the network's original 1,000-class head, at 224 px in colour as it was trained.
//! Each class is given by its number (0-999, the standard ImageNet-1k order) and its name.

use std::path::PathBuf;

use burn::prelude::*;
use medclassify::data::{Colour, DecodeLimits, InputShape, Window};
use medclassify::model::pretrained::{BACKBONES, EfficientNetLite, EfficientNetLiteConfig};
use medclassify::native::{read_bounded, read_weights, terminal_safe};
use medclassify::session::{Prediction, decode_for_prediction};

use crate::output::print_json;

/// The side the ImageNet weights were trained at.
const SIDE: usize = 224;
/// Photographs run through the network together: a bound on memory for long lists.
const BATCH: usize = 8;
/// The ImageNet-1k class names, one a line in class order: written by
/// `scripts/imagenet_classes.py` from the pinned torchvision 0.20.1 wheel (BSD 3-Clause,
/// Copyright (c) Soumith Chintala 2016), checked by SHA-256.
const NAMES: &str = include_str!("imagenet_classes.txt");

/// The name of ImageNet class `class` ("" past the list, which cannot happen for 0-999).
fn class_name(class: usize) -> &'static str {
    NAMES.lines().nth(class).unwrap_or_default()
}

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

/// Decodes `paths` as `predict` does (the shared `prepare_file`: a decoder failure costs its
/// file only, a multi-frame DICOM file gives a row per frame; a file that cannot be read or
/// decoded keeps its reason) and scores the decoded images in one forward pass.
fn answer_batch(
    net: &EfficientNetLite,
    paths: &[PathBuf],
    top: usize,
    device: &Device,
) -> Vec<Answer> {
    let shape = InputShape::square(SIDE as u32).with_colour(Colour::Rgb);
    let limit = DecodeLimits::default().max_file_bytes;
    let rows: Vec<Prediction> = paths
        .iter()
        .flat_map(|path| {
            let bytes = read_bounded(path, limit).map_err(|e| e.to_string());
            decode_for_prediction(&path.display().to_string(), bytes, shape, Window::FromFile)
        })
        .collect();
    let decoded: Vec<&Prediction> = rows.iter().filter(|row| row.error.is_none()).collect();
    let mut logits = Vec::new();
    if !decoded.is_empty() {
        let pixels: Vec<f32> = decoded
            .iter()
            .flat_map(|row| row.pixels.iter().map(|&v| f32::from(v) / 255.0))
            .collect();
        let data = TensorData::new(pixels, [decoded.len(), 3, SIDE, SIDE]);
        logits = net
            .head(net.features(Tensor::<4>::from_data(data, device)))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
    }
    let mut scores = logits.chunks(1000);
    rows.into_iter()
        .map(|row| Answer {
            path: row.name,
            result: match row.error {
                Some(error) => Err(error),
                None => Ok(ranked(scores.next().unwrap_or_default(), top)),
            },
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
                    serde_json::json!({
                        "class": class, "name": class_name(*class), "logit": logit, "probability": p
                    })
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
                .map(|(class, _, p)| format!("{class} {} ({:.1}%)", class_name(*class), p * 100.0))
                .collect();
            println!("{path}: ImageNet classes {}", classes.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list is the standard order: its length and classes any ImageNet reader knows.
    #[test]
    fn the_names_are_imagenet_1k_in_order() {
        assert_eq!(NAMES.lines().count(), 1000);
        let known = [
            (0, "tench"),
            (1, "goldfish"),
            (281, "tabby"),
            (285, "Egyptian cat"),
            (504, "coffee mug"),
            (872, "tripod"),
            (967, "espresso"),
            (968, "cup"),
            (999, "toilet tissue"),
        ];
        for (class, name) in known {
            assert_eq!(class_name(class), name, "class {class}");
        }
    }
}
