//! The full report of a loaded folder and its split, as the page shows it and as
//! `medclassify inspect --json` prints it.

use serde::{Deserialize, Serialize};

use super::{
    ClassCount, Dataset, DuplicateGroup, LoadReport, Manifest, ManifestRow, SkippedFile, Split,
    SplitConfig, SplitCounts, split_dataset,
};

/// Folder report plus split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    /// Side of the stored images.
    pub image_size: u32,
    /// Files offered.
    pub files_seen: usize,
    /// Images used.
    pub images: usize,
    /// Classes with counts.
    pub classes: Vec<ClassCount>,
    /// Skipped files with reasons.
    pub skipped: Vec<SkippedFile>,
    /// Groups of byte-identical files.
    pub duplicate_groups: Vec<DuplicateGroup>,
    /// Files beyond the first of each group.
    pub redundant_files: usize,
    /// The split settings.
    pub split_config: SplitConfig,
    /// Images per class and subset (empty when the split failed).
    pub split: Vec<SplitCounts>,
    /// Why the split failed, if it did.
    pub split_error: Option<String>,
    /// SHA-256 of the manifest CSV.
    pub manifest_sha256: Option<String>,
    /// Every image with class, subset and hash.
    pub manifest: Vec<ManifestRow>,
}

impl Inspection {
    /// Splits `dataset` with `config` and gathers the report; also returns the split.
    pub fn new(
        dataset: &Dataset,
        report: &LoadReport,
        config: &SplitConfig,
    ) -> (Self, Option<Split>) {
        let (split, split_error) = match split_dataset(dataset, config) {
            Ok(split) => (Some(split), None),
            Err(error) => (None, Some(error.to_string())),
        };
        let manifest = split.as_ref().map(|s| Manifest::new(dataset, s));
        let inspection = Self {
            image_size: report.image_size,
            files_seen: report.files_seen,
            images: report.images,
            classes: report.classes.clone(),
            skipped: report.skipped.clone(),
            duplicate_groups: report.duplicate_groups.clone(),
            redundant_files: report.redundant_files,
            split_config: config.clone(),
            split: split.as_ref().map(|s| s.counts.clone()).unwrap_or_default(),
            split_error,
            manifest_sha256: manifest.as_ref().map(Manifest::digest),
            manifest: manifest.map(|m| m.rows).unwrap_or_default(),
        };
        (inspection, split)
    }
}
