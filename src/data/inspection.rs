//! The full report of a loaded folder and its split, as the page shows it and as
//! `medclassify inspect --json` prints it.

use serde::{Deserialize, Serialize};

use super::{
    Dataset, LoadReport, Manifest, ManifestRow, Split, SplitConfig, SplitCounts, split_dataset,
};

/// Folder report plus split: the one [`LoadReport`] (flattened, so the JSON keeps its
/// shape) with the split and the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    /// What the load found.
    #[serde(flatten)]
    pub report: LoadReport,
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
        let split = split_dataset(dataset, config).map_err(|error| error.to_string());
        let inspection = Self::of(dataset, report, config, split.as_ref());
        (inspection, split.ok())
    }

    /// The report of `dataset` split (or not) by `config` as `split` says.
    pub fn of(
        dataset: &Dataset,
        report: &LoadReport,
        config: &SplitConfig,
        split: Result<&Split, &String>,
    ) -> Self {
        let manifest = split.ok().map(|s| Manifest::new(dataset, s));
        Self {
            report: report.clone(),
            split_config: config.clone(),
            split: split.map(|s| s.counts.clone()).unwrap_or_default(),
            split_error: split.err().cloned(),
            manifest_sha256: manifest.as_ref().map(Manifest::digest),
            manifest: manifest.map(|m| m.rows).unwrap_or_default(),
        }
    }
}
