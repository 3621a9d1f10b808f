//! `medclassify predict`: a model's classes for image files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use medclassify::evaluation::{ExplainMethod, Heatmap, argmax, overlay_rgba};
use medclassify::native::{check_writable, read_bounded, terminal_safe, write_atomic};
use medclassify::session::{
    CurrentModel, Prediction, decode_for_prediction, explain, predict as score,
};

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

/// `--explain`: which heatmap, and where its pictures go.
pub struct Explaining {
    /// Grad-CAM or saliency.
    pub method: ExplainMethod,
    /// The folder for the PNG files, if any.
    pub heatmaps: Option<PathBuf>,
}

/// `--explain`'s values, in the page's spelling of the two methods.
pub fn parse_method(text: &str) -> Result<ExplainMethod, String> {
    match text {
        "grad-cam" => Ok(ExplainMethod::GradCam),
        "saliency" => Ok(ExplainMethod::Saliency),
        other => Err(format!("{other:?}: expected grad-cam or saliency")),
    }
}

fn method_name(method: ExplainMethod) -> &'static str {
    match method {
        ExplainMethod::GradCam => "grad-cam",
        ExplainMethod::Saliency => "saliency",
    }
}

/// The heatmap drawn over its image, as the page draws it, scaled up without smoothing (by a
/// whole factor, to 256 px or more) so that a 32 px map can be seen; PNG bytes.
fn heatmap_png(pixels: &[u8], heatmap: &Heatmap) -> Result<Vec<u8>, String> {
    let size = heatmap.shape.size();
    let plane = (size * size) as usize;
    let rgba = overlay_rgba(pixels, plane, Some(&heatmap.values));
    let small = image::RgbaImage::from_raw(size, size, rgba).ok_or("heatmap of the wrong size")?;
    let scale = 256u32.div_ceil(size.max(1));
    let big = image::imageops::resize(
        &small,
        size * scale,
        size * scale,
        image::imageops::FilterType::Nearest,
    );
    let mut png = Vec::new();
    big.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(png)
}

/// Makes the heatmaps' folder and checks that it can be written, before any image is scored.
fn prepare_folder(explaining: &Option<Explaining>) -> Result<(), String> {
    let Some(folder) = explaining.as_ref().and_then(|e| e.heatmaps.as_ref()) else {
        return Ok(());
    };
    std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    check_writable(&folder.join("heatmap.png"))
}

/// A file name in `folder` for `name`'s heatmap that no earlier image of this run took (two
/// folders may hold files of one name; a frame's `#` becomes `-`). Names are compared without
/// case, as the file systems of macOS and Windows compare them.
fn heatmap_path(
    folder: &Path,
    name: &str,
    method: ExplainMethod,
    taken: &mut BTreeSet<String>,
) -> PathBuf {
    let file = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(name)
        .replace('#', "-");
    let method = method_name(method);
    (1..)
        .map(|n| match n {
            1 => folder.join(format!("{file}.{method}.png")),
            n => folder.join(format!("{file}-{n}.{method}.png")),
        })
        .find(|path| taken.insert(path.to_string_lossy().to_lowercase()))
        .expect("an unbounded range")
}

/// Each classified row's heatmap (of its top class) in its JSON row, and its picture in the
/// folder when one was named. A heatmap that cannot be made or written is said in the row and
/// the rest go on; the command then fails.
fn add_heatmaps(
    current: &CurrentModel,
    rows: &[Prediction],
    results: &mut [serde_json::Value],
    explaining: &Explaining,
) -> Result<(), String> {
    let (mut taken, mut failed) = (BTreeSet::new(), 0);
    for (row, result) in rows.iter().zip(results.iter_mut()) {
        if row.error.is_some() {
            continue;
        }
        // The row's own top class: scored again alone, a near-tie could fall the other way.
        let class = Some(argmax(&row.probabilities));
        let made = pollster::block_on(explain(current, &row.pixels, class, explaining.method))
            .map_err(|e| e.to_string())
            .and_then(|heatmap| {
                result["heatmap"] = serde_json::to_value(&heatmap).map_err(|e| e.to_string())?;
                let Some(folder) = &explaining.heatmaps else {
                    return Ok(());
                };
                let path = heatmap_path(folder, &row.name, explaining.method, &mut taken);
                write_atomic(&path, &heatmap_png(&row.pixels, &heatmap)?)?;
                result["heatmap_file"] = path.display().to_string().into();
                Ok(())
            });
        if let Err(error) = made {
            result["heatmap_error"] = error.into();
            failed += 1;
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} heatmap(s) could not be made or written")),
    }
}

pub fn predict(
    model_path: &Path,
    images: &[PathBuf],
    json: bool,
    explaining: Option<Explaining>,
) -> Result<(), String> {
    let current = CurrentModel::from_file(read_model(model_path)?, burn::prelude::Device::flex())?;
    prepare_folder(&explaining)?;
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
    let mut results: Vec<_> = rows
        .iter()
        .map(|r| prediction_json(r, current.classes()))
        .collect();
    let explained = match &explaining {
        Some(explaining) => add_heatmaps(&current, &rows, &mut results, explaining),
        None => Ok(()),
    };
    if json {
        print_json(&results);
        return explained;
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
        if let Some(file) = r.get("heatmap_file").and_then(|f| f.as_str()) {
            println!("  heatmap: {}", terminal_safe(file));
        }
        if let Some(error) = r.get("heatmap_error").and_then(|f| f.as_str()) {
            println!("  no heatmap: {}", terminal_safe(error));
        }
    }
    // Every map of a run has the same grid: one word for all of them.
    let coarse = results.iter().find_map(|r| {
        let heatmap: Heatmap = serde_json::from_value(r.get("heatmap")?.clone()).ok()?;
        heatmap.coarseness()
    });
    if let Some(coarse) = coarse {
        println!("{coarse}");
    }
    explained
}

#[cfg(test)]
mod tests {
    use super::*;
    use medclassify::data::InputShape;

    #[test]
    fn a_heatmap_picture_is_at_least_256_px_and_a_whole_multiple_of_the_map() {
        for (size, side) in [(32, 256), (100, 300), (224, 448), (300, 300)] {
            let heatmap = Heatmap {
                method: ExplainMethod::GradCam,
                class: 0,
                shape: InputShape::square(size),
                values: vec![0.5; (size * size) as usize],
                grid: Some(2),
            };
            let png = heatmap_png(&vec![7; (size * size) as usize], &heatmap).unwrap();
            let picture = image::load_from_memory(&png).unwrap();
            assert_eq!(
                (picture.width(), picture.height()),
                (side, side),
                "{size} px"
            );
        }
    }

    #[test]
    fn heatmap_names_never_collide_whatever_their_case() {
        let mut taken = BTreeSet::new();
        let folder = Path::new("out");
        let saliency = ExplainMethod::Saliency;
        let names: Vec<PathBuf> = ["a/x.png", "b/X.PNG", "c/x.png", "d/cine.dcm#frame002"]
            .iter()
            .map(|name| heatmap_path(folder, name, saliency, &mut taken))
            .collect();
        let expected = [
            "out/x.png.saliency.png",
            "out/X.PNG-2.saliency.png",
            "out/x.png-3.saliency.png",
            "out/cine.dcm-frame002.saliency.png",
        ];
        assert_eq!(names, expected.map(PathBuf::from));
    }
}
