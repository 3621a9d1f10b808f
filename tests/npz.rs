#![cfg(not(target_arch = "wasm32"))]
//! MedMNIST `.npz` files: the real PneumoniaMNIST variant from ../shared (counts against its
//! README and its arrays read by NumPy), and crafted files that must be refused with the
//! array and the reason named, never a panic or an unbounded allocation.

mod common;

use std::io::Write;

use medclassify::data::{
    Colour, InputShape, SplitConfig, Subset, read_npz, read_npz_as, split_dataset, walk_npz,
};

/// A `.npy` file of `descr` with `shape` and `data`.
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    common::npy(descr, shape, data)
}

/// A zip (deflated) of `entries`.
fn npz(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, data) in entries {
        zip.start_file(format!("{name}.npy"), options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A valid small MedMNIST-like file: `n` images of 28x28 per subset, labels alternating.
fn small(n: usize) -> Vec<(&'static str, Vec<u8>)> {
    let mut entries = Vec::new();
    for prefix in ["train", "val", "test"] {
        let images: Vec<u8> = (0..n * 28 * 28)
            .map(|i| (i * 7 % 251) as u8 ^ prefix.len() as u8)
            .collect();
        let labels: Vec<u8> = (0..n as i64).flat_map(|i| (i % 2).to_le_bytes()).collect();
        entries.push((
            leak(format!("{prefix}_images")),
            npy("|u1", &[n, 28, 28], &images),
        ));
        entries.push((
            leak(format!("{prefix}_labels")),
            npy("<i8", &[n, 1], &labels),
        ));
    }
    entries
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn refused(entries: &[(&str, Vec<u8>)], expected: &str) {
    let bytes = npz(entries);
    match read_npz(&bytes, Some(InputShape::square(28)), None) {
        Ok(_) => panic!("accepted; expected a refusal saying {expected:?}"),
        Err(error) => assert!(
            error.contains(expected),
            "{error:?} should say {expected:?}"
        ),
    }
}

#[test]
fn a_small_file_loads_with_its_own_split() {
    let data = read_npz(&npz(&small(6)), Some(InputShape::square(28)), None).unwrap();
    assert_eq!(data.dataset.len(), 18);
    assert_eq!(data.dataset.classes, ["class 0", "class 1"]);
    let split = split_dataset(&data.dataset, &SplitConfig::default()).unwrap();
    assert!(split.config.from_file);
    assert_eq!(
        (
            split.total(Subset::Train),
            split.total(Subset::Validation),
            split.total(Subset::Test)
        ),
        (6, 6, 6)
    );
    let names = ["normal".to_string(), "pneumonia".to_string()];
    let named = read_npz(&npz(&small(6)), None, Some(&names)).unwrap();
    assert_eq!(named.dataset.classes, names);
    // The flag does not stick: a folder split with the same settings is drawn, and says so.
    let mut folder = data.dataset.clone();
    folder.file_split = None;
    assert!(
        !split_dataset(&folder, &split.config)
            .unwrap()
            .config
            .from_file
    );
}

#[test]
fn crafted_files_are_refused_with_the_array_and_the_reason() {
    let mut missing = small(4);
    missing.retain(|(name, _)| *name != "test_labels");
    refused(&missing, "no test_labels array");

    let mut four = small(4);
    four[0].1 = npy("|u1", &[4, 28, 28, 4], &vec![0; 4 * 28 * 28 * 4]);
    refused(
        &four,
        "train_images: shape [4, 28, 28, 4], not (n, side, side) or (n, side, side, 3)",
    );

    let mut floats = small(4);
    floats[0].1 = npy("<f4", &[4, 28, 28], &vec![0; 4 * 28 * 28 * 4]);
    refused(&floats, "train_images: dtype <f4 is not supported");

    let mut short = small(4);
    let cut = short[0].1.len() - 10;
    short[0].1.truncate(cut);
    refused(&short, "train_images: holds");

    let mut mismatched = small(4);
    mismatched[1].1 = npy("<i8", &[3, 1], &[0; 24]);
    refused(
        &mismatched,
        "train_labels: shape [3, 1] does not match 4 images",
    );

    let mut multi = small(4);
    multi[1].1 = npy("<i8", &[4, 14], &vec![0; 4 * 14 * 8]);
    refused(&multi, "multi-label files are not supported");

    let mut negative = small(4);
    negative[1].1 = npy("<i8", &[4, 1], &(-1i64).to_le_bytes().repeat(4));
    refused(&negative, "train_labels: label out of range");

    let mut wrong_size = small(4);
    wrong_size[0].1 = npy("|u1", &[4, 32, 32], &vec![0; 4 * 32 * 32]);
    refused(
        &wrong_size,
        "val_images: 28x28 images where train_images holds 32x32",
    );

    // Not a zip at all, and a zip cut in the middle.
    let whole = npz(&small(4));
    for bytes in [
        b"PK\x03\x04 not really".to_vec(),
        whole[..whole.len() / 2].to_vec(),
    ] {
        let error = read_npz(&bytes, Some(InputShape::square(28)), None)
            .err()
            .expect("refused");
        assert!(!error.is_empty());
    }
}

#[test]
fn a_zip_bomb_is_refused_before_it_is_inflated() {
    // 64 MB of zeros deflate about a thousandfold: over the ratio any image array has.
    let mut bomb = small(2);
    bomb.push(("padding", vec![0u8; 64 << 20]));
    let bytes = npz(&bomb);
    assert!(
        bytes.len() < 1 << 20,
        "the bomb is small on disk: {}",
        bytes.len()
    );
    let error = read_npz(&bytes, Some(InputShape::square(28)), None)
        .err()
        .expect("refused");
    assert!(
        error.contains("padding") && error.contains("zip bomb"),
        "{error}"
    );
}

#[test]
fn the_pneumonia_file_loads_with_the_counts_of_its_arrays() {
    let Some(path) = common::pneumonia_npz() else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let data = read_npz(&bytes, Some(InputShape::square(28)), None).unwrap();
    let split = split_dataset(&data.dataset, &SplitConfig::default()).unwrap();
    // The counts of ../shared/data/README.md (an independent account of the arrays).
    let counts: Vec<(usize, usize, usize)> = split
        .counts
        .iter()
        .map(|c| (c.train, c.validation, c.test))
        .collect();
    assert_eq!(counts, [(388, 135, 234), (3494, 389, 390)]);
    assert_eq!(data.report.files_seen, 5030);
    // The first test image, pixel for pixel, as NumPy reads it.
    let Some(python) = common::python(&["numpy"]) else {
        return;
    };
    let script = "import numpy, sys; d = numpy.load(sys.argv[1]); sys.stdout.buffer.write(d['test_images'][0].tobytes() + bytes([int(d['test_labels'][0][0])]))";
    let out = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (pixels, label) = out.stdout.split_at(28 * 28);
    let first = split.indices(Subset::Test)[0];
    assert_eq!(data.dataset.samples[first].path, "test/000000");
    assert_eq!(data.dataset.image(first), pixels);
    assert_eq!(data.dataset.samples[first].label, label[0] as usize);
}

/// Pixel (image `i`, row `y`, column `x`, channel `c`) of the RGB file below.
fn rgb_value(i: usize, y: usize, x: usize, c: usize) -> u8 {
    ((i * 31 + y * 5 + x * 3 + c * 80) % 256) as u8
}

#[test]
fn an_rgb_file_keeps_its_channels_or_becomes_luma() {
    let n = 4;
    let mut entries = Vec::new();
    for prefix in ["train", "val", "test"] {
        let mut images = Vec::new();
        for i in 0..n {
            for y in 0..28 {
                for x in 0..28 {
                    images.extend((0..3).map(|c| rgb_value(i, y, x, c)));
                }
            }
        }
        let labels: Vec<u8> = (0..n as i64).flat_map(|i| (i % 2).to_le_bytes()).collect();
        entries.push((
            leak(format!("{prefix}_images")),
            npy("|u1", &[n, 28, 28, 3], &images),
        ));
        entries.push((leak(format!("{prefix}_labels")), npy("<i8", &[n], &labels)));
    }
    let bytes = npz(&entries);
    let index = |data: &medclassify::data::NpzData, path: &str| {
        data.dataset
            .samples
            .iter()
            .position(|s| s.path == path)
            .unwrap()
    };
    // As the file is: RGB, channels first.
    let rgb = read_npz(&bytes, None, None).unwrap();
    assert_eq!(
        rgb.dataset.shape,
        InputShape::square(28).with_colour(Colour::Rgb)
    );
    let image = rgb.dataset.image(index(&rgb, "val/000002"));
    for (y, x, c) in [(0, 0, 0), (3, 7, 1), (27, 27, 2), (12, 0, 2)] {
        assert_eq!(image[c * 784 + y * 28 + x], rgb_value(2, y, x, c));
    }
    // Grayscale: BT.709 luma of each pixel.
    let gray = read_npz_as(&bytes, Colour::Grayscale, None).unwrap();
    assert_eq!(gray.dataset.shape, InputShape::square(28));
    let image = gray.dataset.image(index(&gray, "test/000003"));
    for (y, x) in [(0, 0), (5, 9), (27, 1)] {
        let p = |c| f64::from(rgb_value(3, y, x, c));
        let luma = 0.2126 * p(0) + 0.7152 * p(1) + 0.0722 * p(2);
        assert!((f64::from(image[y * 28 + x]) - luma).abs() <= 0.5 + 1e-9);
    }
    // A gray file read as RGB repeats its value in the three planes.
    let repeated = read_npz_as(&npz(&small(2)), Colour::Rgb, None).unwrap();
    let plain = read_npz(&npz(&small(2)), None, None).unwrap();
    let (three, one) = (repeated.dataset.image(0), plain.dataset.image(0));
    assert_eq!(three.len(), 3 * one.len());
    assert!(three.chunks(784).all(|plane| *plane == *one));
}

#[test]
fn the_command_reads_a_file_at_its_own_size_unless_told_otherwise() {
    let dir = common::temp_dir("npz-own-size");
    let path = dir.join("small.npz");
    std::fs::write(&path, npz(&small(6))).unwrap();
    let file = path.to_str().unwrap();
    let (ok, stdout, stderr, _) = common::run_cli(&["inspect", file, "--json"]);
    assert!(ok, "without --size the file's 28 px: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["images"], 18, "{stdout}");
    assert_eq!(report["image_size"], 28, "{stdout}");
    // A size asked for is the size used: the images scaled up.
    let (ok, stdout, stderr, _) = common::run_cli(&["inspect", file, "--size", "64", "--json"]);
    assert!(ok, "64 px from a 28 px file: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["images"], 18, "{stdout}");
    assert_eq!(report["image_size"], 64, "{stdout}");
}

/// A file whose validation arrays hold only class 1 (its own split, so nothing stratifies
/// it): `--monitor val_auc` is refused by the missing class's name before training, as there
/// would be no AUC to watch, and the same file trains when the callbacks watch val_loss.
#[test]
fn val_auc_is_refused_when_validation_lacks_a_class() {
    let dir = common::temp_dir("npz-val-auc");
    let path = dir.join("one-class-validation.npz");
    let mut entries = small(6);
    let ones: Vec<u8> = (0..6i64).flat_map(|_| 1i64.to_le_bytes()).collect();
    let val_labels = entries
        .iter_mut()
        .find(|(name, _)| *name == "val_labels")
        .unwrap();
    val_labels.1 = npy("<i8", &[6, 1], &ones);
    std::fs::write(&path, npz(&entries)).unwrap();
    let model = dir.join("m.mcmodel");
    let train = |monitor: &str| {
        common::run_cli(&[
            "train",
            path.to_str().unwrap(),
            "--epochs",
            "1",
            "--monitor",
            monitor,
            "--backend",
            "cpu",
            "--out",
            model.to_str().unwrap(),
        ])
    };
    let (ok, _, stderr, _) = train("val_auc");
    assert!(
        !ok && stderr.contains("val_auc") && stderr.contains("no image of class \"class 0\""),
        "{stderr}"
    );
    assert!(!model.exists(), "nothing is written when refused");
    let (ok, _, stderr, _) = train("val_loss");
    assert!(ok && model.exists(), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `image` (`side` x `side`, one value a pixel) at `size` by bilinear interpolation between
/// pixel centres, the edges repeated: written here from the definition, to check the loader's
/// scaling against something it does not share.
fn bilinear(image: &[u8], side: usize, size: usize) -> Vec<f64> {
    let scale = side as f64 / size as f64;
    let at = |o: usize| {
        let s = ((o as f64 + 0.5) * scale - 0.5).clamp(0.0, (side - 1) as f64);
        let lo = s.floor() as usize;
        (lo, (lo + 1).min(side - 1), s - lo as f64)
    };
    let mut out = Vec::with_capacity(size * size);
    for oy in 0..size {
        let (y0, y1, fy) = at(oy);
        for ox in 0..size {
            let (x0, x1, fx) = at(ox);
            let p = |y: usize, x: usize| f64::from(image[y * side + x]);
            let top = p(y0, x0) * (1.0 - fx) + p(y0, x1) * fx;
            let bottom = p(y1, x0) * (1.0 - fx) + p(y1, x1) * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    out
}

#[test]
fn a_file_at_a_larger_size_is_scaled_up_and_kept_at_its_own() {
    let bytes = npz(&small(5));
    let own = read_npz(&bytes, None, None).unwrap().dataset;
    for colour in [Colour::Grayscale, Colour::Rgb] {
        let shape = InputShape::square(128).with_colour(colour);
        let data = read_npz(&bytes, Some(shape), None).unwrap().dataset;
        assert_eq!(data.shape, shape);
        assert_eq!(data.len(), 15);
        // Kept at 28 px: the store holds the file's pixels (times the channels), not 128 px.
        assert_eq!(data.pixels.len(), 15 * 28 * 28 * shape.channels());
        for i in [0, 7, 14] {
            let expected = bilinear(&own.image(i), 28, 128);
            let image = data.image(i);
            assert_eq!(image.len(), shape.values());
            for plane in image.chunks(128 * 128) {
                let worst = plane
                    .iter()
                    .zip(&expected)
                    .map(|(&a, &b)| (f64::from(a) - b).abs())
                    .fold(0.0, f64::max);
                assert!(worst <= 1.0, "{colour:?} image {i}: off by {worst}");
            }
        }
    }
    // A smaller size is made once, at load: a 16 px image whose mean stays the file's.
    let data = read_npz(&bytes, Some(InputShape::square(16)), None)
        .unwrap()
        .dataset;
    assert_eq!(data.pixels.len(), 15 * 16 * 16);
    let mean = |p: &[u8]| p.iter().map(|&v| f64::from(v)).sum::<f64>() / p.len() as f64;
    for i in 0..15 {
        let (small, big) = (data.image(i), own.image(i));
        assert!((mean(&small) - mean(&big)).abs() < 4.0, "image {i}");
    }
}

/// The walk a helper makes before the engine reads a `.npz` inflates what the reader would,
/// into nothing: the six entries of a valid file, and the reader's refusal of a file that is
/// not a zip or is cut in the middle.
#[test]
fn a_walk_inflates_every_entry_and_refuses_what_the_reader_refuses() {
    let whole = npz(&small(4));
    assert_eq!(walk_npz(&whole), Ok(6));
    assert!(walk_npz(b"PK\x03\x04 not really").is_err());
    assert!(read_npz(&whole[..whole.len() / 2], None, None).is_err());
    assert!(walk_npz(&whole[..whole.len() / 2]).is_err());
}
