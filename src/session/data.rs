//! A loaded data set with its current split.

use crate::data::{
    Dataset, DicomOptions, Inspection, LoadReport, Manifest, Split, SplitConfig, split_dataset,
};
use crate::storage::DataSummary;

/// The decoded images, what the load found, and the split the user chose.
pub struct LoadedData {
    /// The images.
    pub dataset: Dataset,
    /// What the load found.
    pub report: LoadReport,
    /// The split settings.
    pub split_config: SplitConfig,
    /// The split, or why it failed.
    pub split: Result<Split, String>,
    /// SHA-256 of the manifest CSV of the split.
    pub manifest_sha256: Option<String>,
    /// How its DICOM files were decoded: window and frames (a model trained on it records
    /// them, so that it evaluates and predicts the same way).
    pub dicom: DicomOptions,
}

impl LoadedData {
    /// Splits `dataset` with `config`.
    pub fn new(dataset: Dataset, report: LoadReport, config: SplitConfig) -> Self {
        let mut data = Self {
            dataset,
            report,
            split_config: config.clone(),
            split: Err(String::new()),
            manifest_sha256: None,
            dicom: DicomOptions::default(),
        };
        data.resplit(config);
        data
    }

    /// Splits again with `config`.
    pub fn resplit(&mut self, config: SplitConfig) {
        self.split = split_dataset(&self.dataset, &config).map_err(|e| e.to_string());
        self.manifest_sha256 = self
            .split
            .as_ref()
            .ok()
            .map(|split| Manifest::new(&self.dataset, split).digest());
        self.split_config = config;
    }

    /// The split, or why there is none.
    pub fn split(&self) -> Result<&Split, &str> {
        self.split.as_ref().map_err(String::as_str)
    }

    /// The manifest of the split, if it succeeded.
    pub fn manifest(&self) -> Option<Manifest> {
        self.split
            .as_ref()
            .ok()
            .map(|s| Manifest::new(&self.dataset, s))
    }

    /// The full report (`inspect --json`).
    pub fn inspection(&self) -> Inspection {
        Inspection::of(
            &self.dataset,
            &self.report,
            &self.split_config,
            self.split.as_ref(),
        )
    }

    /// What a model file records of this data and its split.
    pub fn summary(&self) -> DataSummary {
        match &self.split {
            Ok(split) => self.summary_of(split),
            Err(_) => DataSummary::new(&self.report, &self.split_config, &[], String::new()),
        }
    }

    /// What a model file records of this data under `split` (the current one, or a
    /// cross-validation fold's).
    pub fn summary_of(&self, split: &Split) -> DataSummary {
        // The current split's manifest digest is kept from the last re-split; a fold's is
        // computed (hashing the manifest of a large set takes a while).
        let digest = match (&self.split, &self.manifest_sha256) {
            (Ok(own), Some(digest)) if std::ptr::eq(own, split) => digest.clone(),
            _ => Manifest::new(&self.dataset, split).digest(),
        };
        DataSummary::new(&self.report, &split.config, &split.counts, digest)
    }
}
