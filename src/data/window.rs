//! The data set's DICOM choices, sent together from the page or the command to whatever
//! decodes: how values become 8-bit intensities ([`Window`]: the file's own window, min-max or
//! a named CT window) and which frames of a multi-frame file become images ([`Frames`]); and
//! what a decoded DICOM file was ([`DicomInfo`]). Apart from the decoder (`dicom.rs`) so that
//! the decoding limits and the report can name them without importing it.

use serde::{Deserialize, Serialize};

/// Named CT windows, in Hounsfield units: (name, center, width).
pub const WINDOW_PRESETS: [(&str, f64, f64); 5] = [
    ("brain", 40.0, 80.0),
    ("soft-tissue", 40.0, 400.0),
    ("mediastinum", 50.0, 350.0),
    ("lung", -600.0, 1500.0),
    ("bone", 400.0, 1800.0),
];

/// How a DICOM image's values (after the modality LUT) become 8-bit intensities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "window", rename_all = "snake_case")]
pub enum Window {
    /// The file's Window Center / Width (its first pair); min-max when it has none. For a
    /// 16-bit PNG or TIFF, what its samples mean: value / (2^bits - 1) of white.
    #[default]
    FromFile,
    /// The image's own lowest value to black, highest to white.
    MinMax,
    /// This center and width (a named preset or the user's numbers).
    Fixed {
        /// Window Center.
        center: f64,
        /// Window Width (at least 1).
        width: f64,
    },
}

impl Window {
    /// Parses `from-file`, `min-max`, a preset name (`lung`, ...) or `CENTER,WIDTH`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        match text {
            "from-file" => return Ok(Window::FromFile),
            "min-max" => return Ok(Window::MinMax),
            _ => {}
        }
        if let Some(&(_, center, width)) = WINDOW_PRESETS.iter().find(|p| p.0 == text) {
            return Ok(Window::Fixed { center, width });
        }
        let numbers: Vec<f64> = text
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect();
        match numbers[..] {
            [center, width] if center.is_finite() && width.is_finite() && width >= 1.0 => {
                Ok(Window::Fixed { center, width })
            }
            _ => Err(format!(
                "{text:?}: use from-file, min-max, one of {} or CENTER,WIDTH (width at least 1)",
                WINDOW_PRESETS.map(|p| p.0).join(", ")
            )),
        }
    }

    /// The form [`Window::parse`] reads (a preset by its name).
    pub fn name(&self) -> String {
        match *self {
            Window::FromFile => "from-file".into(),
            Window::MinMax => "min-max".into(),
            Window::Fixed { center, width } => WINDOW_PRESETS
                .iter()
                .find(|p| p.1 == center && p.2 == width)
                .map_or_else(|| format!("{center},{width}"), |p| p.0.to_string()),
        }
    }
}

/// Which frames of a multi-frame file become images: the data set's choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frames {
    /// The middle frame (of a cine loop or a volume, the one most likely to show the subject).
    #[default]
    Middle,
    /// One image per frame, named `file.dcm#frameN` (N from 1); the frames of one file are
    /// always kept in one subset, so a volume never straddles train and test.
    Every,
    /// Every frame of a file with at most [`MAX_FRAMES`], the middle one of a longer file:
    /// what Predict uses, where no one chooses and a long cine loop must still be classified.
    EveryOrMiddle,
}

/// The most frames one file gives with [`Frames::Every`] (a bound on the work and memory one
/// crafted file can ask for).
pub const MAX_FRAMES: u32 = 256;

impl Frames {
    /// `middle` or `every`.
    pub fn name(self) -> &'static str {
        match self {
            Frames::Middle => "middle",
            Frames::Every => "every",
            Frames::EveryOrMiddle => "every, or the middle of a longer file",
        }
    }

    /// Parses `middle` or `every`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "middle" => Ok(Frames::Middle),
            "every" => Ok(Frames::Every),
            other => Err(format!("{other:?}: use middle or every")),
        }
    }
}

/// How DICOM files become images: the window and the frames (the data set's choices, sent
/// together from the page or the command to whatever decodes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DicomOptions {
    /// How values become 8-bit.
    pub window: Window,
    /// Which frames of a multi-frame file are used.
    #[serde(default)]
    pub frames: Frames,
}

/// The linear window of DICOM PS3.3 C.11.2.1.2.1, to 0..=255.
pub fn apply_window(value: f64, center: f64, width: f64) -> u8 {
    let low = center - 0.5 - (width - 1.0) / 2.0;
    let high = center - 0.5 + (width - 1.0) / 2.0;
    if value <= low {
        0
    } else if value > high {
        255
    } else {
        (((value - (center - 0.5)) / (width - 1.0) + 0.5) * 255.0)
            .round()
            .clamp(0.0, 255.0) as u8
    }
}

/// What one DICOM file was, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DicomInfo {
    /// Modality (CT, MR, CR, ...), or `?`.
    pub modality: String,
    /// Bits stored per sample.
    pub bits_stored: u16,
    /// Photometric interpretation (MONOCHROME2, ...).
    pub photometric: String,
    /// The window used, e.g. `file 40/400`, `lung -600/1500`, `min-max -1024..1410`.
    pub window: String,
    /// Frames in the file.
    pub frames: u32,
    /// Frames that became images: 1 (the middle one), or all of them with [`Frames::Every`].
    #[serde(default = "one")]
    pub frames_used: u32,
    /// Patient ID, when the file has one.
    pub patient: Option<String>,
    /// Study Instance UID, when the file has one.
    #[serde(default)]
    pub study: Option<String>,
}

fn one() -> u32 {
    1
}
