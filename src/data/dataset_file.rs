//! A decoded data set in one file (`.mcdata`): the same images, labels, hashes and split as a
//! folder gives, already decoded. Used to move a data set to a GPU machine and to feed the
//! benchmark harness exactly the pixels the app trains on.
//!
//! Layout: `MCDATA\0\x01`, a little-endian `u32` header length, a JSON [`DatasetHeader`],
//! then `images * size * size` pixel bytes in sample order.

use serde::{Deserialize, Serialize};

use super::{
    Dataset, InputShape, MAX_IMAGE_SIZE, MIN_IMAGE_SIZE, Sample, Split, hex, validate_class_names,
};

/// First bytes of a data set file.
pub const DATASET_MAGIC: &[u8; 8] = b"MCDATA\x00\x01";

/// One image's identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleRecord {
    /// Path relative to the original folder.
    pub path: String,
    /// Label (index into the class list).
    pub label: usize,
    /// SHA-256 of the original file, hex.
    pub sha256: String,
    /// `train`, `validation`, `test` or `dropped` (the split the file was written with).
    pub split: String,
}

/// The JSON header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetHeader {
    /// The shape of every image (serialised as `image_size`, the bare side).
    #[serde(rename = "image_size")]
    pub shape: InputShape,
    /// Class names.
    pub classes: Vec<String>,
    /// The samples, in pixel order.
    pub samples: Vec<SampleRecord>,
}

/// Writes `dataset` (and the subsets of `split`) as a data set file.
pub fn write_dataset(dataset: &Dataset, split: &Split) -> Vec<u8> {
    let header = DatasetHeader {
        shape: dataset.shape,
        classes: dataset.classes.clone(),
        samples: dataset
            .samples
            .iter()
            .zip(&split.assignment)
            .map(|(s, subset)| SampleRecord {
                path: s.path.clone(),
                label: s.label,
                sha256: hex(&s.sha256),
                split: subset.name().to_string(),
            })
            .collect(),
    };
    let header = serde_json::to_vec(&header).expect("plain data");
    let mut out = Vec::with_capacity(12 + header.len() + dataset.len() * dataset.image_len());
    out.extend_from_slice(DATASET_MAGIC);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    for index in 0..dataset.len() {
        out.extend_from_slice(&dataset.image(index));
    }
    out
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    // ASCII hex digits only: slicing a string with multi-byte characters by byte offsets panics.
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Reads a data set file back into a [`Dataset`] (and the split names it was written with).
pub fn read_dataset(bytes: &[u8]) -> Result<(Dataset, Vec<String>), String> {
    if bytes.len() < 12 || &bytes[..8] != DATASET_MAGIC {
        return Err("not a MedClassify data set file (.mcdata)".into());
    }
    let length = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let header: DatasetHeader = serde_json::from_slice(
        bytes
            .get(12..12 + length)
            .ok_or("the data set file is truncated")?,
    )
    .map_err(|e| format!("the data set file's header is damaged: {e}"))?;
    let size = header.shape.side();
    if !(MIN_IMAGE_SIZE..=MAX_IMAGE_SIZE).contains(&size) {
        return Err(format!(
            "the data set file's image_size is {size}; supported are {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE}"
        ));
    }
    validate_class_names(&header.classes)
        .map_err(|e| format!("the data set file's classes: {e}"))?;
    let image_len = header.shape.values();
    let pixels = &bytes[12 + length..];
    if Some(pixels.len()) != header.samples.len().checked_mul(image_len) {
        return Err(format!(
            "the data set file holds {} pixel bytes for {} images of {} bytes",
            pixels.len(),
            header.samples.len(),
            image_len
        ));
    }
    let mut samples = Vec::with_capacity(header.samples.len());
    let mut splits = Vec::with_capacity(header.samples.len());
    for (slot, record) in header.samples.into_iter().enumerate() {
        if record.label >= header.classes.len() {
            return Err(format!(
                "{}: label {} out of range",
                record.path, record.label
            ));
        }
        if !["train", "validation", "test", "dropped"].contains(&record.split.as_str()) {
            return Err(format!("{}: unknown split {:?}", record.path, record.split));
        }
        samples.push(Sample {
            sha256: unhex(&record.sha256).ok_or_else(|| format!("{}: bad sha256", record.path))?,
            path: record.path,
            label: record.label,
            slot,
        });
        splits.push(record.split);
    }
    Ok((
        Dataset {
            shape: header.shape,
            classes: header.classes,
            samples,
            pixels: pixels.to_vec(),
            stored: Vec::new(),
            file_split: None,
            dicom_ids: Vec::new(),
            table_groups: Vec::new(),
        },
        splits,
    ))
}
