//! `medclassify predict`: a model's classes for image files.

use std::path::{Path, PathBuf};

use medclassify::evaluation::argmax;
use medclassify::native::{read_bounded, terminal_safe};
use medclassify::session::{CurrentModel, Prediction, decode_for_prediction, predict as score};

use crate::output::print_json;
use crate::source::read_model;

/// The JSON row of one prediction: the top class and the three best, or the error.
fn prediction_json(row: &Prediction, classes: &[String]) -> serde_json::Value {
    if let Some(error) = &row.error {
        return serde_json::json!({ "path": row.name, "error": error });
    }
    let p = &row.probabilities;
    let mut ranked: Vec<(usize, f32)> = p.iter().cloned().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<_> = ranked
        .iter()
        .take(3)
        .map(|(c, p)| serde_json::json!({ "class": classes[*c], "probability": p }))
        .collect();
    let best = argmax(p);
    serde_json::json!({ "path": row.name, "class": classes[best], "probability": p[best], "top": top })
}

pub fn predict(model_path: &Path, images: &[PathBuf], json: bool) -> Result<(), String> {
    let current = CurrentModel::from_file(read_model(model_path)?, burn::prelude::Device::flex())?;
    let shape = current.file.meta.shape();
    let limit = medclassify::data::DecodeLimits::default().max_file_bytes;
    let mut rows: Vec<Prediction> = images
        .iter()
        .flat_map(|path| {
            let bytes = read_bounded(path, limit).map_err(|e| e.to_string());
            decode_for_prediction(
                &path.display().to_string(),
                bytes,
                shape,
                current.file.meta.window,
            )
        })
        .collect();
    pollster::block_on(score(&current, &mut rows, &mut Default::default()))?;
    // Unreadable files first, as before: the command lists what it could not classify first.
    rows.sort_by_key(|row| row.error.is_none());
    let results: Vec<_> = rows
        .iter()
        .map(|r| prediction_json(r, current.classes()))
        .collect();
    if json {
        print_json(&results);
        return Ok(());
    }
    for r in &results {
        let text = |key: &str| terminal_safe(r[key].as_str().unwrap_or_default());
        match r.get("error") {
            Some(_) => println!("{}: cannot classify: {}", text("path"), text("error")),
            None => println!(
                "{}: {} ({:.2}%)",
                text("path"),
                text("class"),
                r["probability"].as_f64().unwrap_or(0.0) * 100.0
            ),
        }
    }
    Ok(())
}
