//! What a load found: classes, skipped files and why, duplicates.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::{InputShape, SkippedFile};

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
    pub labels: Option<LabelsReport>,
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

/// Files with byte-identical content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateGroup {
    /// SHA-256 of the shared content, hex.
    pub sha256: String,
    /// The files, sorted by path.
    pub paths: Vec<String>,
    /// Classes the files are in (more than one means conflicting labels).
    pub classes: Vec<String>,
}

/// What the report says of a label table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelsReport {
    /// Rows in the table.
    pub rows: usize,
    /// Rows whose file was not among the files (sorted; at most 1,000 listed).
    pub missing: Vec<String>,
    /// How many rows' files were missing in all.
    pub missing_count: usize,
}
