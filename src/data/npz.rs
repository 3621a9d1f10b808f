//! MedMNIST `.npz` files: a zip of NumPy arrays `train_images`, `train_labels`, `val_*`,
//! `test_*` (uint8 images, `(n, side, side)`; single-label integer labels, `(n, 1)` or `(n,)`),
//! loaded with the file's own train / validation / test split.
//!
//! The file is untrusted input: the zip's entry count, every entry's real (not declared)
//! uncompressed size and the compression ratio are bounded before anything large is
//! allocated, and every array's header is checked against its bytes; each refusal names the
//! array and the reason.

use std::io::Read;

use super::{
    Colour, Dataset, DatasetBuilder, InputShape, LoadReport, PreparedImage, StoredPixels, Subset,
    sha256,
};

/// Entries a MedMNIST file may hold (it has six).
const MAX_ENTRIES: usize = 64;
/// The largest array read, uncompressed (RetinaMNIST at 224 px is about 1 GB in all).
pub const MAX_ARRAY_BYTES: u64 = 2 << 30;
/// The largest compression ratio accepted (real image arrays deflate 2-10 to 1).
const MAX_RATIO: u64 = 1000;

/// The subsets of a MedMNIST file, in the names its arrays use.
const SUBSETS: [(&str, Subset); 3] = [
    ("train", Subset::Train),
    ("val", Subset::Validation),
    ("test", Subset::Test),
];

/// The smallest image size chosen in the page at which a MedMNIST file is loaded at that size
/// (scaled) rather than at its own: the smallest size a pretrained network takes, so that a
/// 28 px file can train one, while the sizes of the networks trained from scratch keep the
/// file's own.
pub const NPZ_SCALE_FROM: u32 = 128;

/// Whether the page loads a MedMNIST file at the chosen `size` (else at its own size).
pub fn npz_scales_to(size: u32) -> bool {
    size >= NPZ_SCALE_FROM
}

/// Whether `bytes` start like a zip archive (an `.npz` is one).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// One NumPy array: its shape and raw little-endian bytes.
struct Array {
    descr: String,
    shape: Vec<usize>,
    data: Vec<u8>,
}

/// The value of `key` in a `.npy` header (a Python dict literal), up to the next key.
fn header_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = match rest.chars().next()? {
        '(' => rest.find(')')? + 1,
        '\'' => rest[1..].find('\'')? + 2,
        _ => rest.find([',', '}'])?,
    };
    Some(&rest[..end])
}

/// Parses a `.npy` file (format versions 1 to 3).
fn parse_npy(name: &str, bytes: Vec<u8>) -> Result<Array, String> {
    let bad = |why: &str| format!("{name}: {why}");
    if !bytes.starts_with(b"\x93NUMPY") || bytes.len() < 10 {
        return Err(bad("not a NumPy array (.npy)"));
    }
    let (length, at) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        ),
        v => return Err(bad(&format!("NumPy format version {v} is not supported"))),
    };
    let header = bytes
        .get(at..at + length)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad("its header is cut short"))?;
    let descr = header_field(header, "descr").ok_or_else(|| bad("its header has no dtype"))?;
    if header_field(header, "fortran_order") != Some("True")
        && header_field(header, "fortran_order") != Some("False")
    {
        return Err(bad("its header has no fortran_order"));
    }
    if header_field(header, "fortran_order") == Some("True") {
        return Err(bad("Fortran-ordered arrays are not supported"));
    }
    let shape = header_field(header, "shape").ok_or_else(|| bad("its header has no shape"))?;
    let shape: Vec<usize> = shape
        .trim_matches(['(', ')'])
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(&format!("bad shape {shape}")))
        })
        .collect::<Result<_, _>>()?;
    let data = bytes[at + length..].to_vec();
    let descr = descr.trim_matches('\'').to_string();
    let item = item_size(&descr).ok_or_else(|| bad(&format!("dtype {descr} is not supported")))?;
    let expected = shape
        .iter()
        .try_fold(item, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad("its shape is too large"))?;
    if data.len() != expected {
        return Err(bad(&format!(
            "holds {} bytes of data, its shape {shape:?} needs {expected}",
            data.len()
        )));
    }
    Ok(Array { descr, shape, data })
}

/// Bytes per element of the integer dtypes accepted (`|u1` for images; labels any integer).
fn item_size(descr: &str) -> Option<usize> {
    match descr {
        "|u1" | "|i1" | "<u1" | "<i1" => Some(1),
        "<u2" | "<i2" => Some(2),
        "<u4" | "<i4" => Some(4),
        "<u8" | "<i8" => Some(8),
        _ => None,
    }
}

impl Array {
    /// Its values as non-negative integers (labels).
    fn labels(&self, name: &str) -> Result<Vec<usize>, String> {
        let size = item_size(&self.descr).unwrap_or(1);
        let signed = self.descr.contains('i');
        self.data
            .chunks_exact(size)
            .map(|c| {
                let mut wide = [0u8; 8];
                wide[..size].copy_from_slice(c);
                let negative = signed && c[size - 1] & 0x80 != 0;
                let value = u64::from_le_bytes(wide);
                match negative || value > 1_000_000 {
                    true => Err(format!("{name}: label out of range")),
                    false => Ok(value as usize),
                }
            })
            .collect()
    }
}

/// Inflates every entry of the `.npz` `bytes` into nothing, as [`read_npz`] would read them
/// (the same zip reader and bounds): how many entries it has, or why it is refused. The page
/// runs this on a helper before the engine reads the file, so that a file that makes the zip
/// reader panic stops the helper and not the engine; nothing the size of an array is held.
pub fn walk_npz(bytes: &[u8]) -> Result<usize, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a readable .npz (zip) file: {e}"))?;
    let entries = archive.len().min(MAX_ENTRIES);
    for index in 0..entries {
        let entry = archive
            .by_index(index)
            .map_err(|e| format!("entry {index}: {e}"))?;
        let limit = MAX_ARRAY_BYTES.min(entry.compressed_size().max(1).saturating_mul(MAX_RATIO));
        std::io::copy(&mut entry.take(limit + 1), &mut std::io::sink())
            .map_err(|e| format!("entry {index}: {e}"))?;
    }
    Ok(entries)
}

/// Reads every `.npy` entry of the archive, bounded.
fn read_arrays(bytes: &[u8]) -> Result<Vec<(String, Array)>, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a readable .npz (zip) file: {e}"))?;
    if archive.len() > MAX_ENTRIES {
        return Err(format!(
            "{} entries; a MedMNIST file has six",
            archive.len()
        ));
    }
    let mut arrays = Vec::new();
    for index in 0..archive.len() {
        let entry = archive
            .by_index(index)
            .map_err(|e| format!("entry {index}: {e}"))?;
        let name = entry
            .name()
            .map_err(|e| format!("entry {index} has a bad name: {e}"))?
            .trim_end_matches(".npy")
            .to_string();
        let limit = MAX_ARRAY_BYTES.min(entry.compressed_size().max(1).saturating_mul(MAX_RATIO));
        if entry.size() > limit {
            return Err(format!(
                "{name}: {} bytes uncompressed from {} (the limit is {limit}: a zip bomb?)",
                entry.size(),
                entry.compressed_size()
            ));
        }
        let mut data = Vec::with_capacity(entry.size() as usize);
        // The declared size may lie: never read past the limit whatever it says.
        entry
            .take(limit + 1)
            .read_to_end(&mut data)
            .map_err(|e| format!("{name}: {e} (a damaged or truncated file?)"))?;
        if data.len() as u64 > limit {
            return Err(format!(
                "{name}: more than {limit} bytes uncompressed (a zip bomb?)"
            ));
        }
        arrays.push((name.clone(), parse_npy(&name, data)?));
    }
    Ok(arrays)
}

/// A MedMNIST file decoded: the images (at the file's size), their report, and each image's
/// subset as the file gives it.
pub struct NpzData {
    /// The images.
    pub dataset: Dataset,
    /// What the load found.
    pub report: LoadReport,
}

/// Loads a MedMNIST `.npz` at `shape` (`None`: the file's own size and colour); `class_names`
/// name the labels 0, 1, ... in order (else `class 0`, `class 1`, ...). At a size larger than
/// the file's, its images are kept at their own size and scaled up when used, as a small image
/// file is (so a 28 px file at 224 px takes the memory of 28 px); at a smaller size they are
/// scaled down once, with the decoder's filter.
pub fn read_npz(
    bytes: &[u8],
    shape: Option<InputShape>,
    class_names: Option<&[String]>,
) -> Result<NpzData, String> {
    read(
        bytes,
        |arrays| match shape {
            Some(shape) => Ok(shape),
            None => file_shape(arrays),
        },
        class_names,
    )
}

/// Loads a MedMNIST `.npz` at the file's image size in `colour` (the page's setting: an RGB
/// file becomes luma for grayscale, a gray file repeats its value for RGB).
pub fn read_npz_as(
    bytes: &[u8],
    colour: Colour,
    class_names: Option<&[String]>,
) -> Result<NpzData, String> {
    read(
        bytes,
        |arrays| Ok(file_shape(arrays)?.with_colour(colour)),
        class_names,
    )
}

fn read(
    bytes: &[u8],
    shape: impl FnOnce(&[(String, Array)]) -> Result<InputShape, String>,
    class_names: Option<&[String]>,
) -> Result<NpzData, String> {
    let mut arrays = read_arrays(bytes)?;
    let shape = shape(&arrays)?;
    let mut take = |name: &str| {
        arrays
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| arrays.swap_remove(i).1)
            .ok_or_else(|| format!("it has no {name} array (a MedMNIST file has train_, val_ and test_ images and labels)"))
    };
    let mut parts = Vec::new();
    for (prefix, subset) in SUBSETS {
        let images = take(&format!("{prefix}_images"))?;
        let labels = take(&format!("{prefix}_labels"))?;
        parts.push((prefix, subset, images, labels));
    }
    let mut builder = DatasetBuilder::new(shape);
    let mut classes = 0;
    let mut decoded = Vec::new();
    let side = parts[0].2.shape.get(1).copied().unwrap_or(0);
    for (prefix, subset, images, labels) in &parts {
        let labels = check_pair(prefix, images, labels, side)?;
        classes = classes.max(labels.iter().map(|l| l + 1).max().unwrap_or(0));
        decoded.push((*prefix, *subset, labels));
    }
    let names = class_names_for(classes, class_names)?;
    for ((prefix, _, labels), (_, _, images, _)) in decoded.iter().zip(&parts) {
        let channels = channels_of(images);
        for (i, (label, pixels)) in labels
            .iter()
            .zip(images.data.chunks_exact(side * side * channels))
            .enumerate()
        {
            let image = PreparedImage {
                class: names[*label].clone(),
                sha256: sha256(pixels),
                pixels: to_stored(pixels, side, channels, shape),
                dicom: None,
            };
            builder.add_prepared(&format!("{prefix}/{i:06}"), Ok(image));
        }
    }
    let (mut dataset, report) = builder.finish();
    let subset_of = |path: &str| {
        SUBSETS
            .iter()
            .find(|(prefix, _)| path.starts_with(&format!("{prefix}/")))
            .map_or(Subset::Train, |(_, subset)| *subset)
    };
    dataset.file_split = Some(dataset.samples.iter().map(|s| subset_of(&s.path)).collect());
    Ok(NpzData { dataset, report })
}

/// 3 for an RGB image array, else 1.
fn channels_of(images: &Array) -> usize {
    match images.shape[..] {
        [_, _, _, 3] => 3,
        _ => 1,
    }
}

/// One image of the file (`side * side * channels`, channels last, as NumPy stores it) as
/// stored for `shape`: at `shape` when the sides agree; kept at its own size (gray, or RGB
/// interleaved, as the decoder keeps a small image file) when it is smaller; scaled down once
/// when it is larger.
fn to_stored(pixels: &[u8], side: usize, channels: usize, shape: InputShape) -> StoredPixels {
    if side == shape.side() {
        return StoredPixels::full(to_shape(pixels, channels, shape));
    }
    let own = match (channels, shape.colour()) {
        (1, Colour::Grayscale) => pixels.to_vec(),
        (1, Colour::Rgb) => pixels.iter().flat_map(|&p| [p, p, p]).collect(),
        (_, Colour::Grayscale) => luma(pixels, channels),
        (_, Colour::Rgb) => pixels
            .chunks_exact(channels)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
    };
    let stored = StoredPixels {
        pixels: own,
        native: Some((side as u32, side as u32)),
    };
    match side < shape.side() {
        true => stored,
        false => StoredPixels::full(stored.into_shape(shape)),
    }
}

/// Luma (BT.709, as for image files) of interleaved pixels of `channels` values.
fn luma(pixels: &[u8], channels: usize) -> Vec<u8> {
    pixels
        .chunks_exact(channels)
        .map(|p| {
            let luma =
                0.2126 * f32::from(p[0]) + 0.7152 * f32::from(p[1]) + 0.0722 * f32::from(p[2]);
            luma.round().clamp(0.0, 255.0) as u8
        })
        .collect()
}

/// One image of the file (`side * side * channels`, channels last, as NumPy stores it) as
/// one image of `shape` (channels first): luma for grayscale from RGB, the value repeated for
/// RGB from grayscale.
fn to_shape(pixels: &[u8], channels: usize, shape: InputShape) -> Vec<u8> {
    let plane = shape.plane();
    match (channels, shape.colour()) {
        (1, Colour::Grayscale) => pixels.to_vec(),
        (1, Colour::Rgb) => pixels.repeat(3),
        (_, Colour::Grayscale) => luma(pixels, channels),
        (_, Colour::Rgb) => {
            let mut out = vec![0u8; plane * 3];
            for (i, p) in pixels.chunks_exact(channels).enumerate() {
                for c in 0..3 {
                    out[c * plane + i] = p[c];
                }
            }
            out
        }
    }
}

/// The image size (and colour) of the file's training array, when the networks can take it.
fn file_shape(arrays: &[(String, Array)]) -> Result<InputShape, String> {
    let (_, images) = arrays
        .iter()
        .find(|(name, _)| name == "train_images")
        .ok_or("it has no train_images array (a MedMNIST file has train_, val_ and test_ images and labels)")?;
    let side = images.shape.get(1).copied().unwrap_or(0);
    let range = super::MIN_IMAGE_SIZE..=super::MAX_IMAGE_SIZE;
    let colour = match channels_of(images) {
        3 => Colour::Rgb,
        _ => Colour::Grayscale,
    };
    match range.contains(&side) {
        true => Ok(InputShape::square(side as u32).with_colour(colour)),
        false => Err(format!(
            "train_images: {side}-pixel images; supported are {} to {} pixels",
            super::MIN_IMAGE_SIZE,
            super::MAX_IMAGE_SIZE
        )),
    }
}

/// Checks that `images` (uint8, `(n, side, side)`, `(n, side, side, 1)` or RGB
/// `(n, side, side, 3)`, the training array's `side`) and `labels` (`(n,)` or `(n, 1)`) go
/// together; the labels.
fn check_pair(
    prefix: &str,
    images: &Array,
    labels: &Array,
    train_side: usize,
) -> Result<Vec<usize>, String> {
    let name = format!("{prefix}_images");
    if images.descr != "|u1" && images.descr != "<u1" {
        return Err(format!(
            "{name}: dtype {} (8-bit images expected)",
            images.descr
        ));
    }
    let (n, side) = match images.shape[..] {
        [n, h, w] | [n, h, w, 1] | [n, h, w, 3] if h == w => (n, h),
        _ => {
            return Err(format!(
                "{name}: shape {:?}, not (n, side, side) or (n, side, side, 3)",
                images.shape
            ));
        }
    };
    if side != train_side || side == 0 {
        return Err(format!(
            "{name}: {side}x{side} images where train_images holds {train_side}x{train_side}"
        ));
    }
    let label_name = format!("{prefix}_labels");
    match labels.shape[..] {
        [m] | [m, 1] if m == n => {}
        [m, k] if m == n => {
            return Err(format!(
                "{label_name}: {k} labels per image (multi-label files are not supported)"
            ));
        }
        _ => {
            return Err(format!(
                "{label_name}: shape {:?} does not match {n} images",
                labels.shape
            ));
        }
    }
    labels.labels(&label_name)
}

/// `count` class names: the given ones, else `class 0`, `class 1`, ... (zero-padded, so
/// that their alphabetical order is the labels' order).
fn class_names_for(count: usize, given: Option<&[String]>) -> Result<Vec<String>, String> {
    match given {
        Some(names) if names.len() == count => Ok(names.to_vec()),
        Some(names) => Err(format!(
            "{} class names for labels 0 to {}",
            names.len(),
            count.saturating_sub(1)
        )),
        None => {
            let width = count.saturating_sub(1).to_string().len();
            Ok((0..count).map(|l| format!("class {l:0width$}")).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_are_read_from_the_dict_literal() {
        let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (3882, 28, 28), }";
        assert_eq!(header_field(header, "descr"), Some("'|u1'"));
        assert_eq!(header_field(header, "fortran_order"), Some("False"));
        assert_eq!(header_field(header, "shape"), Some("(3882, 28, 28)"));
        let one = "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }";
        assert_eq!(header_field(one, "shape"), Some("(5,)"));
    }

    #[test]
    fn numeric_class_names_sort_in_label_order() {
        let names = class_names_for(11, None).unwrap();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names[10], "class 10");
        assert_eq!(class_names_for(2, None).unwrap(), ["class 0", "class 1"]);
    }
}
