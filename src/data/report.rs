//! What a load found: classes, skipped files and why, duplicates.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::{DuplicateGroup, InputShape};

/// Why a file was not used. Every variant reads as a sentence a user understands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipReason {
    /// A hidden or system file (`.DS_Store`, `._*`, `Thumbs.db`) or one in a hidden folder.
    Hidden,
    /// A file directly in the chosen folder, so it has no class.
    OutsideClassFolder,
    /// A file of zero bytes.
    Empty,
    /// The content is not an image of a known format (e.g. a text file named `.jpg`).
    NotAnImage {
        /// What was found instead.
        detail: String,
    },
    /// An image format the app does not decode (e.g. OpenEXR, ICO).
    UnsupportedFormat {
        /// The format's name.
        format: String,
    },
    /// The image data ends early (a file cut short in a copy or download).
    Truncated {
        /// What was missing.
        detail: String,
    },
    /// The image data is damaged.
    Corrupt {
        /// The decoder's message.
        detail: String,
    },
    /// The image is too large to decode safely (file size or pixel count over the limits).
    TooLarge {
        /// The size found and the limit.
        detail: String,
    },
    /// The label table (`labels.csv`) does not name this file.
    NotInTable,
    /// A DICOM file whose encoding cannot be decoded here (a transfer syntax that needs a C
    /// library, 32-bit samples, planar colour, ...).
    UnsupportedDicom {
        /// What it is and why.
        detail: String,
    },
    /// The file could not be read from disk or from the browser.
    Unreadable {
        /// The reader's message.
        detail: String,
    },
}

impl SkipReason {
    /// A short stable code for tables and tests (`hidden`, `corrupt`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::Hidden => "hidden",
            SkipReason::OutsideClassFolder => "outside_class_folder",
            SkipReason::Empty => "empty",
            SkipReason::NotAnImage { .. } => "not_an_image",
            SkipReason::UnsupportedFormat { .. } => "unsupported_format",
            SkipReason::Truncated { .. } => "truncated",
            SkipReason::Corrupt { .. } => "corrupt",
            SkipReason::TooLarge { .. } => "too_large",
            SkipReason::Unreadable { .. } => "unreadable",
            SkipReason::UnsupportedDicom { .. } => "unsupported_dicom",
            SkipReason::NotInTable => "not_in_table",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Hidden => write!(f, "hidden or system file"),
            SkipReason::OutsideClassFolder => {
                write!(
                    f,
                    "outside a class folder (files must sit in a subfolder named after their class)"
                )
            }
            SkipReason::Empty => write!(f, "empty file (0 bytes)"),
            SkipReason::NotAnImage { detail } => write!(f, "not an image: {detail}"),
            SkipReason::UnsupportedFormat { format } => {
                write!(
                    f,
                    "unsupported image format {format} (use JPEG, PNG, BMP, GIF or WebP)"
                )
            }
            SkipReason::Truncated { detail } => write!(f, "truncated: {detail}"),
            SkipReason::Corrupt { detail } => write!(f, "corrupt image: {detail}"),
            SkipReason::TooLarge { detail } => write!(f, "too large: {detail}"),
            SkipReason::Unreadable { detail } => write!(f, "unreadable: {detail}"),
            SkipReason::NotInTable => write!(f, "not listed in labels.csv (so it has no label)"),
            SkipReason::UnsupportedDicom { detail } => {
                write!(f, "a DICOM encoding this app cannot decode: {detail}")
            }
        }
    }
}

/// A file that was not used, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFile {
    /// Path relative to the chosen folder.
    pub path: String,
    /// Why it was skipped.
    pub reason: SkipReason,
    /// The reason as a sentence (what the page and the JSON show).
    pub message: String,
}

impl SkippedFile {
    /// A skipped file with its message filled in.
    pub fn new(path: impl Into<String>, reason: SkipReason) -> Self {
        let message = reason.to_string();
        Self {
            path: path.into(),
            reason,
            message,
        }
    }
}

/// Number of usable images in one class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCount {
    /// Class name (the first-level folder).
    pub name: String,
    /// Usable images.
    pub count: usize,
}

/// The result of loading a folder, as the user sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadReport {
    /// The shape of the stored images (serialised under its old name, as the bare side).
    #[serde(rename = "image_size")]
    pub shape: InputShape,
    /// Files offered to the loader (used and skipped).
    pub files_seen: usize,
    /// Images decoded and kept.
    pub images: usize,
    /// Classes in alphabetical order with their image counts.
    pub classes: Vec<ClassCount>,
    /// Every file that was not used, sorted by path.
    pub skipped: Vec<SkippedFile>,
    /// Groups of byte-identical images (two or more files each), largest first.
    pub duplicate_groups: Vec<DuplicateGroup>,
    /// Files beyond the first of each duplicate group.
    pub redundant_files: usize,
    /// The label table's account, when labels came from a `labels.csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<super::LabelsReport>,
    /// Per class with DICOM files: what they were and how they were windowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dicom: Vec<DicomClassReport>,
}

/// The DICOM files of one class, as the report shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DicomClassReport {
    /// The class.
    pub class: String,
    /// DICOM files in it.
    pub files: usize,
    /// Files per modality.
    pub modalities: BTreeMap<String, usize>,
    /// Bits stored, as found.
    pub bits_stored: BTreeSet<u16>,
    /// Photometric interpretations, as found.
    pub photometric: BTreeSet<String>,
    /// Files per window used (at most [`WINDOWS_LISTED`] kinds, then `other`).
    pub windows: BTreeMap<String, usize>,
    /// Multi-frame files.
    pub multi_frame: usize,
    /// Images their frames gave (the multi-frame count with the middle frame; more with every
    /// frame).
    #[serde(default)]
    pub frame_images: usize,
    /// Distinct Patient IDs.
    pub patients: usize,
}

/// Different windows listed per class before the rest count as `other`.
pub const WINDOWS_LISTED: usize = 6;

impl DicomClassReport {
    /// Counts one file of the class.
    pub fn add(&mut self, info: &super::DicomInfo) {
        self.files += 1;
        *self.modalities.entry(info.modality.clone()).or_default() += 1;
        self.bits_stored.insert(info.bits_stored);
        self.photometric.insert(info.photometric.clone());
        let window =
            if self.windows.len() < WINDOWS_LISTED || self.windows.contains_key(&info.window) {
                info.window.clone()
            } else {
                "other".into()
            };
        *self.windows.entry(window).or_default() += 1;
        if info.frames > 1 {
            self.multi_frame += 1;
            self.frame_images += info.frames_used as usize;
        }
    }

    /// One line: `12 DICOM files: CT (12); 12 bits stored; MONOCHROME2; window file 40/400 (12)`.
    pub fn describe(&self) -> String {
        let counts = |m: &BTreeMap<String, usize>| {
            m.iter()
                .map(|(k, n)| format!("{k} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut line = format!(
            "{} DICOM files: {}; {} bits stored; {}; window {}",
            self.files,
            counts(&self.modalities),
            self.bits_stored
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join("/"),
            self.photometric
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            counts(&self.windows)
        );
        if self.multi_frame > 0 && self.frame_images > self.multi_frame {
            line += &format!(
                "; {} multi-frame (every frame used: {} images, each file's kept in one subset)",
                self.multi_frame, self.frame_images
            );
        } else if self.multi_frame > 0 {
            line += &format!("; {} multi-frame (the middle frame used)", self.multi_frame);
        }
        if self.patients > 0 {
            line += &format!("; {} patients", self.patients);
        }
        line
    }
}

/// A class imbalance worth a warning: the largest class has more than this many times the
/// images of the smallest.
pub const IMBALANCE_RATIO: f64 = 3.0;

impl LoadReport {
    /// A warning when the largest class has more than [`IMBALANCE_RATIO`] times the images of
    /// the smallest, proposing balanced class weighting.
    pub fn imbalance_warning(&self) -> Option<String> {
        let smallest = self
            .classes
            .iter()
            .filter(|c| c.count > 0)
            .min_by_key(|c| c.count)?;
        let largest = self.classes.iter().max_by_key(|c| c.count)?;
        let ratio = largest.count as f64 / smallest.count as f64;
        (ratio > IMBALANCE_RATIO).then(|| {
            format!(
                "the classes are imbalanced: {} has {} images, {} only {} ({ratio:.1} to 1); consider class weighting \"balanced\" in the training settings",
                largest.name, largest.count, smallest.name, smallest.count
            )
        })
    }
}
