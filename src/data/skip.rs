//! Why a file was not used ([`SkipReason`], a sentence a user understands) and the file with
//! its reason: what every decoder returns, so a leaf the decoders and the report both use.

use serde::{Deserialize, Serialize};
use std::fmt;

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
