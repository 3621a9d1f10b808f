#![cfg(not(target_arch = "wasm32"))]
//! DICOM against answers made independently of the reader: files written by pydicom
//! (`scripts/make_dicom_fixtures.py`, committed under `tests/fixtures/dicom`), a CT with known
//! Hounsfield units windowed to 8-bit values computed by hand from DICOM's window formula,
//! two encodings of one image (uncompressed and RLE) that must agree, JPEG data decoded by the
//! DICOM path against the `image` crate's decoder, and the folder through `medclassify
//! inspect` with its report per class and the refused files named.

mod common;

use medclassify::data::{
    Colour, DecodeLimits, Frames, InputShape, Window, apply_window, decode_dicom,
    decode_dicom_pixels, decode_image, is_dicom,
};

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(common::repo().join("tests/fixtures").join(path)).unwrap()
}

fn decode(path: &str, size: u32, window: Window) -> Vec<u8> {
    let limits = DecodeLimits {
        window,
        ..DecodeLimits::default()
    };
    decode_dicom(&fixture(path), size, &limits).unwrap().0
}

#[test]
fn a_ct_with_known_hounsfield_units_windows_to_known_values() {
    // Columns: -1000, -160, -100, 0, 40, 100, 239, 1000 HU. Window 40/400 (the file's):
    // <= -160 is 0, > 239 is 255, else round(((hu - 39.5) / 399 + 0.5) * 255).
    let pixels = decode("dicom-known/ct-hu.dcm", 8, Window::FromFile);
    assert_eq!(&pixels[..8], &[0, 0, 38, 102, 128, 166, 255, 255]);
    assert!(pixels.chunks(8).all(|row| row == &pixels[..8]));
    // Min-max: -1000 is 0, 1000 is 255, 0 half-way (127.5 rounds up), -100 at 0.45.
    let pixels = decode("dicom-known/ct-hu.dcm", 8, Window::MinMax);
    assert_eq!(
        (pixels[0], pixels[2], pixels[3], pixels[7]),
        (0, 115, 128, 255)
    );
    // A preset: lung, -600/1500.
    let lung = Window::parse("lung").unwrap();
    let pixels = decode("dicom-known/ct-hu.dcm", 8, lung);
    let expected = [-1000.0, -160.0, -100.0, 0.0, 40.0, 100.0, 239.0, 1000.0]
        .map(|hu| apply_window(hu, -600.0, 1500.0));
    assert_eq!(&pixels[..8], &expected);
    assert_eq!(
        expected[0],
        ((((-1000.0 + 600.5) / 1499.0) + 0.5) * 255.0f64).round() as u8
    );
}

#[test]
fn encodings_of_one_image_agree_and_monochrome1_is_inverted() {
    let plain = decode("dicom/CT/ct-0.dcm", 64, Window::FromFile);
    let rle = decode("dicom/CT/ct-rle.dcm", 64, Window::FromFile);
    assert_eq!(plain, rle, "uncompressed and RLE of the same CT");

    // The CT's Hounsfield units are 2 * p - 200 for the JPEG's pixel p: window 40/400.
    // (pydicom's writer read the JPEG with Pillow's libjpeg, this test with the image crate's
    // decoder: a pixel may differ by a level, which the window scales by 2 * 255 / 399.)
    let heads = heads_with_contrast();
    let p = decode_image(
        &std::fs::read(&heads[0]).unwrap(),
        64,
        &DecodeLimits::default(),
    )
    .unwrap();
    let expected: Vec<u8> = p
        .iter()
        .map(|&p| apply_window(2.0 * f64::from(p) - 200.0, 40.0, 400.0))
        .collect();
    close(&plain, &expected, "ct-0 against its JPEG");
    // The multi-frame file holds a blank frame, the image, and a grey frame: the middle is used.
    let p7 = decode_image(
        &std::fs::read(&heads[7]).unwrap(),
        64,
        &DecodeLimits::default(),
    )
    .unwrap();
    let expected: Vec<u8> = p7
        .iter()
        .map(|&p| apply_window(2.0 * f64::from(p) - 200.0, 40.0, 400.0))
        .collect();
    close(
        &decode("dicom/CT/ct-multiframe.dcm", 64, Window::FromFile),
        &expected,
        "the middle frame",
    );
    // Every frame: the blank one (0 stored, -200 HU, below the window), the image, and the
    // grey one (400 stored, 200 HU), in order.
    let every = DecodeLimits {
        frames: Frames::Every,
        ..DecodeLimits::default()
    };
    let (frames, info) = decode_dicom(&fixture("dicom/CT/ct-multiframe.dcm"), 64, &every).unwrap();
    assert_eq!(
        (frames.len(), info.frames, info.frames_used),
        (3 * 4096, 3, 3)
    );
    assert!(frames[..4096].iter().all(|&v| v == 0));
    close(&frames[4096..8192], &expected, "frame 2 of 3");
    let grey = apply_window(200.0, 40.0, 400.0);
    assert!(grey > 200 && frames[8192..].iter().all(|&v| v == grey));

    // MONOCHROME1 stores 255 - p, displayed inverted: min-max of the stored values, inverted.
    let chests: Vec<_> = sorted(&common::fixture().join("CXR"));
    let p = decode_image(
        &std::fs::read(&chests[0]).unwrap(),
        64,
        &DecodeLimits::default(),
    )
    .unwrap();
    let stored: Vec<f64> = p.iter().map(|&p| 255.0 - f64::from(p)).collect();
    let (low, high) = stored
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    let width = high - low + 1.0;
    let center = low + 0.5 + (width - 1.0) / 2.0;
    let expected: Vec<u8> = stored
        .iter()
        .map(|&s| 255 - apply_window(s, center, width))
        .collect();
    close(
        &decode("dicom/XR/xr-0.dcm", 64, Window::FromFile),
        &expected,
        "MONOCHROME1",
    );

    // JPEG baseline inside DICOM (decoded by jpeg-decoder) against the image crate's decoder
    // of the same JPEG bytes (zune-jpeg): IDCTs differ by a level or two at most.
    let through_dicom = decode("dicom/XR/xr-jpeg.dcm", 64, Window::MinMax);
    let direct = decode_image(
        &std::fs::read(&chests[6]).unwrap(),
        64,
        &DecodeLimits::default(),
    )
    .unwrap();
    let (low, high) = (*direct.iter().min().unwrap(), *direct.iter().max().unwrap());
    assert_eq!(
        (low, high),
        (0, 255),
        "the sample JPEG spans the full range, so min-max is the identity"
    );
    let worst = through_dicom
        .iter()
        .zip(&direct)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 3, "JPEG through DICOM differs by {worst}");
    assert!(is_dicom(&fixture("dicom/XR/xr-no-extension")));
}

/// Equal but for JPEG decoders' rounding: at most 8 levels apart anywhere, under one on average.
fn close(got: &[u8], expected: &[u8], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}");
    let diffs: Vec<u32> = got
        .iter()
        .zip(expected)
        .map(|(a, b)| u32::from(a.abs_diff(*b)))
        .collect();
    let worst = *diffs.iter().max().unwrap();
    let mean = diffs.iter().sum::<u32>() as f64 / diffs.len() as f64;
    assert!(
        worst <= 8 && mean < 1.0,
        "{what}: worst {worst}, mean {mean}"
    );
}

/// The HeadCT images the CT fixtures were made from: scripts/make_dicom_fixtures.py skips
/// MedNIST's flat ones (a standard deviation of 10 grey levels or less).
fn heads_with_contrast() -> Vec<std::path::PathBuf> {
    let spread = |pixels: &[u8]| {
        let n = pixels.len() as f64;
        let mean = pixels.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        (pixels
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt()
    };
    sorted(&common::fixture().join("HeadCT"))
        .into_iter()
        .filter(|path| {
            let pixels = decode_image(&std::fs::read(path).unwrap(), 64, &DecodeLimits::default());
            spread(&pixels.unwrap()) > 10.0
        })
        .collect()
}

fn sorted(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "jpeg"));
    files.sort();
    files
}

#[test]
fn a_folder_of_dicoms_loads_with_a_report_per_class_and_the_bad_files_named() {
    let dir = common::repo().join("tests/fixtures/dicom");
    let (ok, stdout, stderr, _) = common::run_cli(&["inspect", dir.to_str().unwrap(), "--json"]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["images"], 17, "{stdout}");
    let skipped = json["skipped"].as_array().unwrap();
    let reason = |path: &str| {
        let row = skipped
            .iter()
            .find(|s| s["path"] == path)
            .unwrap_or_else(|| panic!("{path} not skipped"));
        row["message"].as_str().unwrap().to_string()
    };
    assert!(
        reason("bad/no-pixels.dcm").contains("without pixel data"),
        "{}",
        reason("bad/no-pixels.dcm")
    );
    let j2k = reason("bad/jpeg2000.dcm");
    assert!(
        j2k.contains("1.2.840.10008.1.2.4.90") || j2k.to_lowercase().contains("jpeg 2000"),
        "{j2k}"
    );
    let dicom = json["dicom"].as_array().unwrap();
    let ct = dicom.iter().find(|d| d["class"] == "CT").unwrap();
    assert_eq!(ct["files"], 9);
    assert_eq!(ct["modalities"]["CT"], 9);
    assert_eq!(ct["bits_stored"], serde_json::json!([12]));
    assert_eq!(ct["windows"]["file 40/400"], 8, "{ct}");
    assert_eq!(ct["multi_frame"], 1);
    assert_eq!(ct["patients"], 5);
    let xr = dicom.iter().find(|d| d["class"] == "XR").unwrap();
    assert_eq!(
        xr["photometric"],
        serde_json::json!(["MONOCHROME1", "MONOCHROME2"]),
        "{xr}"
    );

    // Grouped by the DICOM Patient ID: the manifest names each file's patient as the fixture
    // generator wrote it (ct-0 and ct-1 are CT-P1, ...), and no patient is in two subsets.
    let (ok, stdout, stderr, _) = common::run_cli(&[
        "inspect",
        dir.to_str().unwrap(),
        "--group-by",
        "dicom:patient",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let grouped: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let mut subsets =
        std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    for row in grouped["manifest"].as_array().unwrap() {
        let (path, group) = (
            row["path"].as_str().unwrap(),
            row["group"].as_str().unwrap(),
        );
        if let Some(i) = path
            .strip_prefix("CT/ct-")
            .and_then(|r| r.strip_suffix(".dcm"))
            .and_then(|i| i.parse::<usize>().ok())
        {
            assert_eq!(group, format!("CT-P{}", i / 2 + 1), "{path}");
        }
        subsets
            .entry(group.to_string())
            .or_default()
            .insert(row["split"].as_str().unwrap().to_string());
    }
    assert_eq!(subsets.len(), 9, "{subsets:?}");
    assert!(subsets.values().all(|s| s.len() == 1), "{subsets:?}");

    // Every frame: the multi-frame file gives three images, named by frame, in one subset;
    // the report says so.
    let (ok, stdout, stderr, _) = common::run_cli(&[
        "inspect",
        dir.to_str().unwrap(),
        "--frames",
        "every",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let every: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(every["images"], 19, "two more images than files");
    let ct = every["dicom"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["class"] == "CT")
        .unwrap();
    assert_eq!(
        (&ct["multi_frame"], &ct["frame_images"]),
        (&serde_json::json!(1), &serde_json::json!(3))
    );
    let frames: Vec<(&str, &str)> = every["manifest"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| {
            row["path"]
                .as_str()
                .unwrap()
                .starts_with("CT/ct-multiframe.dcm")
        })
        .map(|row| {
            (
                row["path"].as_str().unwrap(),
                row["split"].as_str().unwrap(),
            )
        })
        .collect();
    let names: Vec<&str> = frames.iter().map(|f| f.0).collect();
    assert_eq!(
        names,
        [1, 2, 3].map(|i| format!("CT/ct-multiframe.dcm#frame00{i}")),
    );
    assert!(frames.iter().all(|f| f.1 == frames[0].1), "{frames:?}");
    let (ok, stdout, _, _) =
        common::run_cli(&["inspect", dir.to_str().unwrap(), "--frames", "every"]);
    assert!(
        ok && stdout.contains("1 multi-frame (every frame used: 3 images"),
        "{stdout}"
    );
    let (ok, _, stderr, _) =
        common::run_cli(&["inspect", dir.to_str().unwrap(), "--frames", "all"]);
    assert!(
        !ok && stderr.contains("--frames \"all\": use middle or every"),
        "{stderr}"
    );

    // A window for the whole set: lung, named in the report; a bad one is refused by name.
    let (ok, stdout, _, _) =
        common::run_cli(&["inspect", dir.to_str().unwrap(), "--window", "lung"]);
    assert!(ok && stdout.contains("lung -600/1500"), "{stdout}");
    let (ok, _, stderr, _) =
        common::run_cli(&["inspect", dir.to_str().unwrap(), "--window", "liver"]);
    assert!(!ok && stderr.contains("--window \"liver\""), "{stderr}");
}

/// The largest difference between our pixels and pydicom's (a JSON array of numbers).
fn worst_difference(pixels: &[u8], expected: &[serde_json::Value]) -> i64 {
    pixels
        .iter()
        .zip(expected)
        .map(|(a, b)| (i64::from(*a) - b.as_i64().unwrap()).abs())
        .max()
        .unwrap_or(0)
}

/// pydicom's own sample files (a second, independent source: real files from many writers).
/// Every one is decoded or refused with a reason, never a panic; where pydicom decodes the
/// pixels itself (`tests/dicom_pydicom.py`: its modality LUT, the standard's window written
/// in Python), ours agree within one level at the file's own size.
#[test]
fn pydicoms_sample_files_decode_as_pydicom_reads_them_or_are_refused_with_a_reason() {
    let Some(python) = common::python(&["pydicom", "numpy"]) else {
        return;
    };
    let dir = common::temp_dir("pydicom-samples");
    let out = dir.join("expected.json");
    let status = std::process::Command::new(&python)
        .arg(common::repo().join("tests/dicom_pydicom.py"))
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let (mut compared, mut decoded, mut refused, mut differ) = (0, 0, Vec::new(), Vec::new());
    let mut compared_rgb = 0;
    let mut compared_names = Vec::new();
    for case in json["cases"].as_array().unwrap() {
        let path = case["path"].as_str().unwrap();
        let bytes = std::fs::read(path).unwrap();
        let name = path.rsplit('/').next().unwrap();
        let (rows, columns) = (case["rows"].as_u64(), case["columns"].as_u64());
        // At the file's own size when square (no resampling), else any size: no panic.
        let size = match (rows, columns) {
            (Some(r), Some(c)) if r == c && (16..=512).contains(&r) => r as u32,
            _ => 32,
        };
        let gray = decode_dicom(&bytes, size, &DecodeLimits::default());
        match &gray {
            Ok((pixels, _)) => {
                decoded += 1;
                if let Some(expected) = case["pixels"].as_array()
                    && rows.is_some_and(|r| r as u32 == size && columns == rows)
                {
                    let worst = worst_difference(pixels, expected);
                    if worst > 1 {
                        differ.push(format!("{name}: differs from pydicom by {worst}"));
                    }
                    compared += 1;
                    compared_names.push(name.to_string());
                }
            }
            Err(reason) => refused.push(format!("{name}: {reason}")),
        }
        // Colour (RGB) of the files read in grayscale (the same pixel data, kept in channels).
        if let Some(expected) = case["rgb"].as_array()
            && gray.is_ok()
            && rows.is_some_and(|r| r as u32 == size && columns == rows)
        {
            let rgb = InputShape::square(size).with_colour(Colour::Rgb);
            let (pixels, info) =
                decode_dicom_pixels(&bytes, rgb, &DecodeLimits::default()).unwrap();
            assert_eq!(
                (pixels.len(), info.window.as_str()),
                (expected.len(), "none (colour)")
            );
            let worst = worst_difference(&pixels, expected);
            if worst > 1 {
                differ.push(format!("{name} in RGB: differs from pydicom by {worst}"));
            }
            compared_rgb += 1;
        }
    }
    eprintln!(
        "{compared} compared with pydicom ({compared_rgb} also in RGB), {decoded} decoded, refused:\n{}",
        refused.join("\n")
    );
    assert!(differ.is_empty(), "{differ:?}");
    assert!(compared >= 8, "only {compared} files compared");
    assert!(compared_rgb >= 2, "only {compared_rgb} RGB files compared");
    // The VOI LUT table (and its precedence over the file's window) against pydicom's.
    assert!(
        compared_names.iter().any(|n| n == "voi-lut.dcm"),
        "{compared_names:?}"
    );
    // Every refusal says why in words (no panic, no bare error code, no Rust debug text
    // such as `Err(...)` or a type path leaking from a library).
    for refusal in &refused {
        let (_, reason) = refusal.split_once(": ").unwrap();
        let words = reason
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphabetic));
        assert!(words.count() >= 4, "too terse: {refusal}");
        for leak in ["Err(", "Some(", "Error {", "::", "panicked", "unwrap"] {
            assert!(!reason.contains(leak), "{leak:?} in {refusal}");
        }
    }
    let j2k = refused
        .iter()
        .find(|r| r.starts_with("JPEG2000.dcm:"))
        .unwrap();
    assert!(
        j2k.contains("JPEG 2000") && j2k.contains("C libraries"),
        "{j2k}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `medclassify predict --model MODEL PATHS... --json`: its rows.
fn predict_json(model: &std::path::Path, paths: &[&std::path::Path]) -> Vec<serde_json::Value> {
    let mut args = vec!["predict", "--model", model.to_str().unwrap(), "--json"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let (ok, stdout, stderr, _) = common::run_cli(&args);
    assert!(ok, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// `medclassify predict` classifies every frame of a multi-frame file, each as its own row
/// named like a data set's frame, and each frame exactly as the same image alone: the oracle is
/// the command's answer for each frame written as a separate PNG at the model's size (decoded
/// here by the library with the middle frame and every frame chosen).
#[test]
fn predict_classifies_every_frame_of_a_multi_frame_file_as_the_same_image_alone() {
    let model = common::repo().join("www/models/seed-mednist.mcmodel");
    let file = common::repo().join("tests/fixtures/dicom/CT/ct-multiframe.dcm");
    let every = DecodeLimits {
        frames: Frames::Every,
        ..DecodeLimits::default()
    };
    // The bundled model takes 32 x 32 grayscale images.
    let (frames, _) = decode_dicom(&std::fs::read(&file).unwrap(), 32, &every).unwrap();
    assert_eq!(frames.len(), 3 * 1024);
    let dir = common::temp_dir("predict-frames");
    let mut alone = Vec::new();
    for (i, frame) in frames.chunks(1024).enumerate() {
        let png = dir.join(format!("frame-{i}.png"));
        image::GrayImage::from_raw(32, 32, frame.to_vec())
            .unwrap()
            .save(&png)
            .unwrap();
        alone.push(png);
    }
    let predict = |paths: &[&std::path::Path]| predict_json(&model, paths);
    let rows = predict(&[&file]);
    let names: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
    let stem = file.display().to_string();
    assert_eq!(
        names,
        [1, 2, 3].map(|n| format!("{stem}#frame00{n}")),
        "one row per frame"
    );
    let pngs: Vec<&std::path::Path> = alone.iter().map(|p| p.as_path()).collect();
    let single = predict(&pngs);
    for (frame, (row, png)) in rows.iter().zip(&single).enumerate() {
        assert_eq!(
            row["top"],
            png["top"],
            "frame {} against its PNG",
            frame + 1
        );
    }
    // The control: the frames are different images (blank, a head CT, grey), and the answers
    // differ between them.
    assert_ne!(rows[0]["top"], rows[1]["top"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The fixture's multi-frame file made `frames` frames long, explicit VR little endian edited
/// byte by byte (the library that reads DICOM here has no writer): the real image (the
/// fixture's frame 2) at the middle, `frames / 2`, the fixture's blank first frame elsewhere.
fn long_multi_frame_file(frames: usize) -> Vec<u8> {
    let bytes = fixture("dicom/CT/ct-multiframe.dcm");
    let find = |needle: &[u8]| {
        bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap()
    };
    // (0028,0008) Number of Frames, IS, "3 ": the value becomes `frames`, padded to even.
    let count_at = find(&[0x28, 0x00, 0x08, 0x00, b'I', b'S']);
    let count_len = u16::from_le_bytes([bytes[count_at + 6], bytes[count_at + 7]]) as usize;
    let mut count = frames.to_string();
    if count.len() % 2 == 1 {
        count.push(' ');
    }
    // (7FE0,0010) Pixel Data, OW, then a 4-byte length and the frames, to the end of the file.
    let pixels_at = find(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0]);
    let frame = 64 * 64 * 2;
    let data = &bytes[pixels_at + 12..];
    assert_eq!(
        data.len(),
        3 * frame,
        "the fixture ends with its three frames"
    );
    let mut out = bytes[..count_at + 6].to_vec();
    out.extend_from_slice(&(count.len() as u16).to_le_bytes());
    out.extend_from_slice(count.as_bytes());
    out.extend_from_slice(&bytes[count_at + 8 + count_len..pixels_at + 8]);
    out.extend_from_slice(&((frames * frame) as u32).to_le_bytes());
    for k in 0..frames {
        let source = if k == frames / 2 { 1 } else { 0 };
        out.extend_from_slice(&data[source * frame..(source + 1) * frame]);
    }
    out
}

/// A file longer than a data set's "every frame" allows (256) is still classified by
/// `predict`: its middle frame, one row that says so, with the answer the command gives that
/// frame alone (written as a PNG at the model's size). The control: the same file is refused
/// where every frame is asked for, and the row is not the blank frame's answer.
#[test]
fn predict_classifies_the_middle_frame_of_a_file_too_long_for_every_frame() {
    let model = common::repo().join("www/models/seed-mednist.mcmodel");
    let dir = common::temp_dir("predict-long");
    let long = dir.join("cine.dcm");
    std::fs::write(&long, long_multi_frame_file(300)).unwrap();
    let every = DecodeLimits {
        frames: Frames::Every,
        ..DecodeLimits::default()
    };
    let bytes = std::fs::read(&long).unwrap();
    let refused = decode_dicom(&bytes, 32, &every).unwrap_err().to_string();
    assert!(refused.contains("300 frames; at most 256"), "{refused}");
    // The fixture's own three frames at 32 px: the blank one and the image, as PNGs.
    let (frames, _) = decode_dicom(&fixture("dicom/CT/ct-multiframe.dcm"), 32, &every).unwrap();
    let pngs: Vec<std::path::PathBuf> = [0, 1]
        .map(|k| {
            let png = dir.join(format!("frame-{k}.png"));
            image::GrayImage::from_raw(32, 32, frames[k * 1024..(k + 1) * 1024].to_vec())
                .unwrap()
                .save(&png)
                .unwrap();
            png
        })
        .to_vec();
    let predict = |paths: &[&std::path::Path]| predict_json(&model, paths);
    let rows = predict(&[&long]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        rows[0]["path"].as_str().unwrap(),
        format!("{} (middle frame of 300)", long.display())
    );
    assert!(rows[0].get("error").is_none_or(|e| e.is_null()), "{rows:?}");
    // Alone in its batch, as the row was (a batch of two sums in another order).
    let alone = [predict(&[&pngs[0]]), predict(&[&pngs[1]])];
    // The top classes in order and their probabilities within 1e-5.
    let same = |a: &serde_json::Value, b: &serde_json::Value| {
        let (a, b) = (a.as_array().unwrap(), b.as_array().unwrap());
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                x["class"] == y["class"]
                    && (x["probability"].as_f64().unwrap() - y["probability"].as_f64().unwrap())
                        .abs()
                        < 1e-5
            })
    };
    let top = &rows[0]["top"];
    assert!(
        same(top, &alone[1][0]["top"]),
        "middle frame: {top} against {}",
        alone[1][0]["top"]
    );
    assert!(
        !same(top, &alone[0][0]["top"]),
        "the blank frame's answer: {}",
        alone[0][0]["top"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A DICOM image smaller than the input (the fixtures are 64 x 64) is kept at its own size and
/// resized when used, as other small image files are: at 224 px every single-frame fixture is
/// stored at 64 x 64 (4,096 values a channel, not 50,176), and used it is, value for value,
/// the image decoded at its own size and resized by the `image` crate's triangle filter here,
/// in grayscale and in RGB. A multi-frame file read frame by frame stays whole images.
#[test]
fn a_small_dicom_is_stored_at_its_own_size_and_used_as_decoded_at_the_input() {
    use image::imageops::{FilterType, resize};
    use medclassify::data::decode_dicom_stored;
    let limits = DecodeLimits::default();
    let mut files: Vec<_> = ["CT", "XR"]
        .iter()
        .flat_map(|class| {
            let dir = common::repo().join("tests/fixtures/dicom").join(class);
            std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path())
        })
        .collect();
    files.retain(|path| !path.to_string_lossy().contains("multiframe"));
    assert_eq!(files.len(), 16);
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let own = decode_dicom(&bytes, 64, &limits).unwrap().0;
        let own = image::GrayImage::from_raw(64, 64, own).unwrap();
        let expected = resize(&own, 224, 224, FilterType::Triangle).into_raw();
        for colour in [Colour::Grayscale, Colour::Rgb] {
            let shape = InputShape::square(224).with_colour(colour);
            let (stored, _) = decode_dicom_stored(&bytes, shape, &limits).unwrap();
            assert_eq!(stored.native, Some((64, 64)), "{path:?}");
            assert_eq!(stored.pixels.len(), 4096 * shape.channels(), "{path:?}");
            let used = stored.into_shape(shape);
            for plane in used.chunks(224 * 224) {
                assert_eq!(plane, &expected[..], "{path:?} {colour:?}");
            }
        }
    }
    let every = DecodeLimits {
        frames: Frames::Every,
        ..DecodeLimits::default()
    };
    let multi = fixture("dicom/CT/ct-multiframe.dcm");
    let (stored, _) = decode_dicom_stored(&multi, InputShape::square(224), &every).unwrap();
    assert_eq!((stored.native, stored.pixels.len()), (None, 3 * 224 * 224));
}
