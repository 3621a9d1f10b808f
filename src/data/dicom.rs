//! DICOM files (`.dcm`, or any file with the `DICM` marker at byte 128): the pixel data
//! through the dicom-rs crates (pure Rust, so the page's helpers decode the same files as the
//! command), the modality LUT (rescale slope and intercept) applied, then a window to 8 bits,
//! MONOCHROME1 inverted, and the image resized like any other.
//!
//! The window is the data set's choice ([`Window`]): the file's own VOI LUT table or Window
//! Center / Width (or min-max when it has neither), min-max, or a named CT window in
//! Hounsfield units (`voi`). The linear window is DICOM's (PS3.3 C.11.2.1.2.1). Of a
//! multi-frame file the middle frame is used, or every frame ([`Frames`], also the data set's
//! choice). Transfer syntaxes decoded: uncompressed (implicit and explicit VR,
//! little and big endian), deflated, JPEG baseline, extended and lossless, and RLE; JPEG-LS
//! and JPEG 2000 need C libraries (CharLS, OpenJPEG) that cannot run in the page, so such
//! files are refused with their transfer syntax named.

use std::fmt;

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, Tag};
use dicom_pixeldata::PixelDecoder;

use super::stored::{StoredPixels, planar, resized};
use super::{
    Colour, DecodeLimits, DicomInfo, Frames, InputShape, MAX_FRAMES, SkipReason, Window,
    apply_window,
};
use voi::Voi;

mod voi;

/// Whether `bytes` are a DICOM file: `DICM` after the 128-byte preamble (or at the start).
pub fn is_dicom(bytes: &[u8]) -> bool {
    bytes.get(128..132) == Some(b"DICM") || bytes.starts_with(b"DICM")
}

struct Refusal(SkipReason);

/// Transfer syntaxes that need a C library (OpenJPEG, CharLS) no pure-Rust decoder replaces,
/// by UID prefix, with a name a user knows.
const NEEDS_C: [(&str, &str); 4] = [
    ("1.2.840.10008.1.2.4.8", "JPEG-LS"),
    ("1.2.840.10008.1.2.4.9", "JPEG 2000"),
    ("1.2.840.10008.1.2.4.20", "High-Throughput JPEG 2000"),
    ("1.2.840.10008.1.2.4.10", "MPEG video"),
];

impl<E: fmt::Display> From<E> for Refusal {
    fn from(error: E) -> Self {
        let detail = error.to_string();
        let lower = detail.to_ascii_lowercase();
        if let Some((_, name)) = NEEDS_C.iter().find(|(uid, _)| detail.contains(uid)) {
            return Refusal(SkipReason::UnsupportedDicom {
                detail: format!(
                    "{name} ({detail}); its decoders are C libraries that cannot run in the page (convert to uncompressed, JPEG or RLE)"
                ),
            });
        }
        Refusal(
            if lower.contains("unsupported") || lower.contains("invalid bitsallocated") {
                SkipReason::UnsupportedDicom { detail }
            } else if lower.contains("eof") || lower.contains("end of") || lower.contains("truncat")
            {
                SkipReason::Truncated {
                    detail: format!("DICOM: {detail}"),
                }
            } else {
                SkipReason::Corrupt {
                    detail: format!("DICOM: {detail}"),
                }
            },
        )
    }
}

fn text(object: &DefaultDicomObject, tag: Tag) -> Option<String> {
    let value = object
        .element_opt(tag)
        .ok()??
        .to_str()
        .ok()?
        .trim()
        .to_string();
    (!value.is_empty()).then_some(value)
}

fn number(object: &DefaultDicomObject, tag: Tag) -> Option<f64> {
    object
        .element_opt(tag)
        .ok()??
        .to_multi_float64()
        .ok()?
        .first()
        .copied()
}

/// Decodes a DICOM file into `size * size` 8-bit grayscale pixels windowed as
/// `limits.window` says, and what the file was.
pub fn decode_dicom(
    bytes: &[u8],
    size: u32,
    limits: &DecodeLimits,
) -> Result<(Vec<u8>, DicomInfo), SkipReason> {
    decode_dicom_pixels(bytes, InputShape::square(size), limits)
}

/// Decodes a DICOM file into one image of `shape` (channel after channel), and what the file
/// was. Monochrome files are windowed (and repeated in three channels for RGB); colour files
/// (RGB after the decoder) become luma for grayscale and keep their channels for RGB, scaled
/// from their bits stored to 8 bits without a window (DICOM's VOI transforms are for
/// monochrome images only, PS3.3 C.11.2).
pub fn decode_dicom_pixels(
    bytes: &[u8],
    shape: InputShape,
    limits: &DecodeLimits,
) -> Result<(Vec<u8>, DicomInfo), SkipReason> {
    decode_dicom_stored(bytes, shape, limits).map(|(pixels, info)| (pixels.into_shape(shape), info))
}

/// [`decode_dicom_pixels`] as the data set stores it: one image no larger than `shape` on
/// either side (a single frame) is kept at its own size and resized when used, bit for bit
/// what decoding straight to `shape` gives, as for other image files (`stored.rs`); several
/// frames are whole images of `shape`.
pub fn decode_dicom_stored(
    bytes: &[u8],
    shape: InputShape,
    limits: &DecodeLimits,
) -> Result<(StoredPixels, DicomInfo), SkipReason> {
    decode(bytes, shape, limits).map_err(|Refusal(reason)| reason)
}

fn decode(
    bytes: &[u8],
    shape: InputShape,
    limits: &DecodeLimits,
) -> Result<(StoredPixels, DicomInfo), Refusal> {
    let object = dicom_object::from_reader(bytes)?;
    if object.element_opt(tags::PIXEL_DATA)?.is_none() {
        return Err(Refusal(SkipReason::NotAnImage {
            detail: "a DICOM file without pixel data (a report, a structured document?)".into(),
        }));
    }
    let rows = number(&object, tags::ROWS).unwrap_or(0.0) as u64;
    let columns = number(&object, tags::COLUMNS).unwrap_or(0.0) as u64;
    let frames = number(&object, tags::NUMBER_OF_FRAMES)
        .unwrap_or(1.0)
        .max(1.0) as u32;
    if rows == 0 || columns == 0 {
        return Err(Refusal(SkipReason::Corrupt {
            detail: "DICOM pixel data without Rows and Columns".into(),
        }));
    }
    if rows * columns > limits.max_pixels {
        return Err(Refusal(SkipReason::TooLarge {
            detail: format!(
                "DICOM image of {columns} x {rows} pixels (the limit is {} megapixels)",
                limits.max_pixels / 1_000_000
            ),
        }));
    }
    let chosen: Vec<u32> = match limits.frames {
        Frames::Middle => vec![frames / 2],
        Frames::Every if frames > MAX_FRAMES => {
            return Err(Refusal(SkipReason::TooLarge {
                detail: format!(
                    "{frames} frames; at most {MAX_FRAMES} a file with \"every frame\" (the middle frame is always possible)"
                ),
            }));
        }
        Frames::EveryOrMiddle if frames > MAX_FRAMES => vec![frames / 2],
        Frames::Every | Frames::EveryOrMiddle => (0..frames).collect(),
    };
    let voi = Voi::from_file(&object, limits.window);
    let mut stored = Vec::with_capacity(chosen.len());
    let mut facts = None;
    for frame in chosen.iter().copied() {
        let (pixels, frame_facts) = frame_image(&object, frame, (rows, columns), &voi, shape)?;
        stored.push(pixels);
        // The report describes the middle frame (or the only one).
        if frame == frames / 2 || facts.is_none() {
            facts = Some(frame_facts);
        }
    }
    let (bits_stored, photometric, window) = facts.unwrap_or_default();
    let info = DicomInfo {
        modality: text(&object, tags::MODALITY).unwrap_or_else(|| "?".into()),
        bits_stored,
        photometric,
        window,
        frames,
        frames_used: chosen.len() as u32,
        patient: text(&object, tags::PATIENT_ID),
        study: text(&object, tags::STUDY_INSTANCE_UID),
    };
    let pixels = match stored.len() {
        1 => stored.pop().expect("one frame"),
        _ => StoredPixels::full(
            stored
                .into_iter()
                .flat_map(|p| p.into_shape(shape))
                .collect(),
        ),
    };
    Ok((pixels, info))
}

/// One frame of `object` as stored for `shape` (at its own size when it is no larger, else
/// resized), and what it was: bits stored, photometric interpretation and the window used.
fn frame_image(
    object: &DefaultDicomObject,
    frame: u32,
    (rows, columns): (u64, u64),
    voi: &Voi,
    shape: InputShape,
) -> Result<(StoredPixels, (u16, String, String)), Refusal> {
    let pixels = object.decode_pixel_data_frame(frame)?;
    let samples = usize::from(pixels.samples_per_pixel().max(1));
    let values: Vec<f64> = pixels.to_vec_frame::<f64>(0)?;
    let count = (rows * columns) as usize;
    if values.len() < count * samples {
        return Err(Refusal(SkipReason::Truncated {
            detail: format!(
                "DICOM pixel data holds {} of {} values",
                values.len(),
                count * samples
            ),
        }));
    }
    let photometric = pixels.photometric_interpretation().as_str().to_string();
    let colour_kept = samples >= 3 && shape.colour() == Colour::Rgb;
    let full_scale = 2f64.powi(i32::from(pixels.bits_stored().clamp(1, 16))) - 1.0;
    let rgb = colour_kept.then(|| {
        values
            .chunks_exact(samples)
            .take(count)
            .flat_map(|p| &p[..3])
            .map(|v| (v / full_scale * 255.0).round().clamp(0.0, 255.0) as u8)
            .collect::<Vec<u8>>()
    });
    // Colour becomes luma (BT.709, as for other images).
    let values: Vec<f64> = match samples {
        1 => values[..count].to_vec(),
        _ => values
            .chunks_exact(samples)
            .take(count)
            .map(|p| 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2])
            .collect(),
    };
    let (mut gray, window) = match colour_kept {
        true => (Vec::new(), "none (colour)".to_string()),
        false => voi.apply(&values),
    };
    if photometric == "MONOCHROME1" {
        gray.iter_mut().for_each(|v| *v = 255 - *v);
    }
    let mismatch = || {
        Refusal(SkipReason::Corrupt {
            detail: "DICOM image size does not match its pixel data".into(),
        })
    };
    let (width, height) = (columns as u32, rows as u32);
    let size = shape.size();
    let small = width <= size && height <= size && (width, height) != (size, size);
    // Gray, or RGB interleaved, at the file's own size.
    let own = match (shape.colour(), rgb) {
        (Colour::Grayscale, _) => gray,
        (Colour::Rgb, Some(rgb)) => rgb,
        (Colour::Rgb, None) => gray.iter().flat_map(|&v| [v, v, v]).collect(),
    };
    if own.len() != (width * height) as usize * shape.channels() {
        return Err(mismatch());
    }
    let image = match (small, shape.colour()) {
        (true, _) => StoredPixels {
            pixels: own,
            native: Some((width, height)),
        },
        (false, Colour::Grayscale) => {
            let gray = image::GrayImage::from_raw(width, height, own).ok_or_else(mismatch)?;
            StoredPixels::full(resized(gray, size).into_raw())
        }
        (false, Colour::Rgb) => {
            let rgb = image::RgbImage::from_raw(width, height, own).ok_or_else(mismatch)?;
            StoredPixels::full(planar(&resized(rgb, size)))
        }
    };
    Ok((image, (pixels.bits_stored(), photometric, window)))
}

#[cfg(test)]
mod tests;
