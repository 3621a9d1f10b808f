//! The VOI transform of a DICOM image (PS3.3 C.11.2): how values after the modality LUT become
//! 8-bit intensities. A VOI LUT table, a linear window, or the image's own min-max.

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject};

use super::{Window, apply_window, number};

/// The transform chosen for a file, before any frame's values are seen.
pub(super) enum Voi {
    /// A linear window; `name` says where it came from (`file`, a preset, the user).
    Linear {
        center: f64,
        width: f64,
        name: String,
    },
    /// The file's VOI LUT table.
    Table(VoiLut),
    /// Each frame's own lowest to highest value; `note` is added to the report's words.
    MinMax { note: &'static str },
}

impl Voi {
    /// `choice` for `object`: "from the file" takes its VOI LUT table when it has one (as
    /// pydicom and most viewers prefer), else its first Window Center / Width, else min-max.
    pub(super) fn from_file(object: &DefaultDicomObject, choice: Window) -> Self {
        match choice {
            Window::Fixed { center, width } => Voi::Linear {
                center,
                width,
                name: Window::Fixed { center, width }.name(),
            },
            Window::MinMax => Voi::MinMax { note: "" },
            Window::FromFile => {
                if let Some(table) = VoiLut::from_object(object) {
                    return Voi::Table(table);
                }
                match (
                    number(object, tags::WINDOW_CENTER),
                    number(object, tags::WINDOW_WIDTH),
                ) {
                    (Some(center), Some(width)) if width >= 1.0 => Voi::Linear {
                        center,
                        width,
                        name: "file".into(),
                    },
                    _ => Voi::MinMax {
                        note: " (no window in the file)",
                    },
                }
            }
        }
    }

    /// `values` (one frame, after the modality LUT) as 8-bit intensities, and how to say it
    /// (`file 40/400`, `lung -600/1500`, `min-max -1024..1410`, `file VOI LUT (4096 entries)`).
    pub(super) fn apply(&self, values: &[f64]) -> (Vec<u8>, String) {
        match self {
            Voi::Linear {
                center,
                width,
                name,
            } => (
                values
                    .iter()
                    .map(|&v| apply_window(v, *center, *width))
                    .collect(),
                format!("{name} {center}/{width}"),
            ),
            Voi::Table(table) => (
                values.iter().map(|&v| table.map(v)).collect(),
                format!("file VOI LUT ({} entries)", table.data.len()),
            ),
            Voi::MinMax { note } => {
                let (low, high) = values
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                        (l.min(v), h.max(v))
                    });
                let width = (high - low + 1.0).max(1.0);
                let center = low + 0.5 + (width - 1.0) / 2.0;
                (
                    values
                        .iter()
                        .map(|&v| apply_window(v, center, width))
                        .collect(),
                    format!("min-max {low}..{high}{note}"),
                )
            }
        }
    }
}

/// A VOI LUT table (PS3.3 C.11.2.1.1): the input `first` maps to `data[0]`, `first + 1` to
/// `data[1]` and so on; inputs below or above the table take its first or last entry. The
/// entries are `bits`-bit numbers, scaled to 8 bits.
pub(super) struct VoiLut {
    first: f64,
    data: Vec<u16>,
    bits: u32,
}

impl VoiLut {
    /// The first table of the file's VOI LUT Sequence, when it is well-formed (else `None`,
    /// and the file's window or min-max is used instead).
    fn from_object(object: &DefaultDicomObject) -> Option<Self> {
        let sequence = object.element_opt(tags::VOILUT_SEQUENCE).ok()??;
        let item: &InMemDicomObject = sequence.items()?.first()?;
        let descriptor = item.element(tags::LUT_DESCRIPTOR).ok()?;
        let numbers: Vec<i64> = descriptor.to_multi_int::<i64>().ok()?;
        let [entries, first, bits] = numbers[..] else {
            return None;
        };
        // 0 entries means 65536; a first value written as US is signed when the pixels are.
        let entries = if entries == 0 {
            65536
        } else {
            entries as usize
        };
        let signed = number(object, tags::PIXEL_REPRESENTATION) == Some(1.0);
        let first = if signed && first > 32767 && descriptor.vr().to_string() == "US" {
            first - 65536
        } else {
            first
        };
        let data: Vec<u16> = item
            .element(tags::LUT_DATA)
            .ok()?
            .to_multi_int::<u16>()
            .ok()?;
        if !(1..=16).contains(&bits) || data.len() < entries {
            return None;
        }
        Some(Self {
            first: first as f64,
            data: data[..entries].to_vec(),
            bits: bits as u32,
        })
    }

    fn map(&self, value: f64) -> u8 {
        let index = (value - self.first)
            .floor()
            .clamp(0.0, (self.data.len() - 1) as f64) as usize;
        let full = f64::from((1u32 << self.bits) - 1);
        (f64::from(self.data[index]) * 255.0 / full)
            .round()
            .clamp(0.0, 255.0) as u8
    }
}
