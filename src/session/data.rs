//! A loaded data set with its current split.

use crate::data::{Dataset, Inspection, LoadReport, Manifest, Split, SplitConfig, split_dataset};
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

    /// What a model file records of this data.
    pub fn summary(&self) -> DataSummary {
        let counts = self
            .split
            .as_ref()
            .map(|s| s.counts.clone())
            .unwrap_or_default();
        DataSummary::new(
            &self.report,
            &self.split_config,
            &counts,
            self.manifest_sha256.clone().unwrap_or_default(),
        )
    }
}
