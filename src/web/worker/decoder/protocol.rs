//! The engine <-> decoding helper protocol and the codec of a chunk: its decoding (the same in
//! a helper and in the engine) and its packing for `postMessage`. The files of a load
//! ([`FileBytes`]: the page reads and streams them to the engine, and the engine hands them on
//! to its helpers unchanged) are the page's protocol's, `crate::web::protocol`.

use serde::{Deserialize, Serialize};

use crate::data::{
    DecodeLimits, DicomInfo, DicomOptions, InputShape, PreparedImage, SkipReason, StoredPixels,
    prepare_file,
};
use crate::web::protocol::{FileBytes, FileContent};

/// A job for a decoding helper worker (the engine starts one per core for large loads).
#[derive(Debug, Serialize, Deserialize)]
pub enum DecoderRequest {
    /// Hash and decode these files at `shape`; answer with [`DecoderReply::Decoded`].
    Decode {
        /// Position of this chunk in the load, echoed in the answer.
        chunk: usize,
        /// The images' shape (sent as `size`, the bare side).
        #[serde(rename = "size")]
        shape: InputShape,
        /// How DICOM files are decoded (dicom, frames).
        #[serde(default)]
        dicom: DicomOptions,
        /// The files.
        files: Vec<FileBytes>,
    },
}

/// What a decoding helper worker sends to the engine.
#[derive(Debug, Serialize, Deserialize)]
pub enum DecoderReply {
    /// The helper has loaded its module and takes jobs.
    Ready,
    /// One chunk done.
    Decoded(DecodedChunk),
}

/// The outcome of one chunk of files, packed for `postMessage`: per file a class or a skip
/// reason, and the decoded images' pixels and hashes as two byte buffers.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DecodedChunk {
    /// Position of the chunk in the load.
    pub chunk: usize,
    /// Per file, in order: what was decoded, or why the file was skipped.
    pub outcomes: Vec<Result<PackedImage, SkipReason>>,
    /// The decoded pixels of every file, in order (each file's length in its outcome).
    #[serde(with = "serde_bytes")]
    pub pixels: Vec<u8>,
    /// The SHA-256 (32 bytes) of each decoded image's file, in order.
    #[serde(with = "serde_bytes")]
    pub hashes: Vec<u8>,
    /// Milliseconds the helper spent decoding the chunk.
    pub decode_ms: f64,
}

/// One decoded file of a chunk, its pixels left in the chunk's buffer.
#[derive(Debug, Serialize, Deserialize)]
pub struct PackedImage {
    /// The class from its path.
    pub class: String,
    /// What it was, for a DICOM file.
    pub dicom: Option<DicomInfo>,
    /// Its bytes in [`DecodedChunk::pixels`] (one image, or every frame).
    pub len: usize,
    /// Its own size, when kept smaller than the shape.
    pub native: Option<(u32, u32)>,
}

/// Classifies, hashes and decodes a chunk of files: the work a decoding helper does per job,
/// and the engine itself when it has no helpers.
pub fn prepare_chunk(
    files: &[FileBytes],
    shape: InputShape,
    limits: &DecodeLimits,
) -> Vec<Result<PreparedImage, SkipReason>> {
    files
        .iter()
        .map(|file| match &file.content {
            FileContent::Bytes(bytes) => prepare_file(&file.path, bytes, shape, limits),
            FileContent::Skipped(reason) => Err(reason.clone()),
        })
        .collect()
}

/// Packs a chunk's outcomes for `postMessage`.
pub fn pack(chunk: usize, outcomes: Vec<Result<PreparedImage, SkipReason>>) -> DecodedChunk {
    let mut packed = DecodedChunk {
        chunk,
        ..DecodedChunk::default()
    };
    for outcome in outcomes {
        packed.outcomes.push(outcome.map(|image| {
            packed.pixels.extend_from_slice(&image.pixels.pixels);
            packed.hashes.extend_from_slice(&image.sha256);
            PackedImage {
                class: image.class,
                dicom: image.dicom,
                len: image.pixels.pixels.len(),
                native: image.pixels.native,
            }
        }));
    }
    packed
}

/// Unpacks what [`pack`] made; `None` if the buffers do not hold what the outcomes announce
/// (each image's own length is checked again when it is added to the data set).
pub fn unpack(packed: DecodedChunk) -> Option<Vec<Result<PreparedImage, SkipReason>>> {
    let images: Vec<&PackedImage> = packed.outcomes.iter().flatten().collect();
    let bytes = images
        .iter()
        .try_fold(0usize, |sum, image| sum.checked_add(image.len))?;
    if packed.pixels.len() != bytes || packed.hashes.len() != images.len() * 32 {
        return None;
    }
    let mut start = 0;
    let mut hashes = packed.hashes.chunks_exact(32);
    let outcomes = packed
        .outcomes
        .into_iter()
        .map(|outcome| {
            outcome.map(|image| {
                let pixels = packed.pixels[start..start + image.len].to_vec();
                start += image.len;
                PreparedImage {
                    class: image.class,
                    dicom: image.dicom,
                    pixels: StoredPixels {
                        pixels,
                        native: image.native,
                    },
                    sha256: hashes
                        .next()
                        .and_then(|h| h.try_into().ok())
                        .unwrap_or_default(),
                }
            })
        })
        .collect();
    Some(outcomes)
}
