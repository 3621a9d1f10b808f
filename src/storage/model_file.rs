//! The `.mcmodel` file: a JSON header (what the model is, how it was trained, how it scored)
//! followed by burnpack weights. The page and the native command read and write the same
//! format.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use crate::data::{
    DicomOptions, Frames, InputShape, LoadReport, SplitConfig, SplitCounts, Window,
    validate_class_names,
};
use crate::evaluation::{CalibrationSummary, ConfidenceIntervals, CrossValidation, Evaluation};
use crate::model::ModelConfig;
use crate::training::{CallbackEvent, EpochMetrics, ResumeState, TrainingConfig};

/// First bytes of every model file.
pub const MAGIC: &[u8; 8] = b"MEDCLS\x00\x01";
/// Version of the header layout.
pub const FORMAT_VERSION: u32 = 1;
/// File name extension.
pub const EXTENSION: &str = "mcmodel";

/// What the data looked like (for the model card and for checking a reload).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    /// Files offered.
    pub files_seen: usize,
    /// Images used.
    pub images: usize,
    /// Image counts per class.
    pub class_counts: Vec<(String, usize)>,
    /// Skipped files per reason code.
    pub skipped_by_reason: BTreeMap<String, usize>,
    /// Duplicate groups found.
    pub duplicate_groups: usize,
    /// Redundant duplicate files.
    pub redundant_files: usize,
    /// The split settings.
    pub split: SplitConfig,
    /// Images per class and subset.
    pub split_counts: Vec<SplitCounts>,
    /// SHA-256 of the split manifest CSV.
    pub manifest_sha256: String,
}

impl DataSummary {
    /// Summary of a load report and split.
    pub fn new(
        report: &LoadReport,
        split: &SplitConfig,
        counts: &[SplitCounts],
        manifest_sha256: String,
    ) -> Self {
        let mut skipped_by_reason = BTreeMap::new();
        for file in &report.skipped {
            *skipped_by_reason
                .entry(file.reason.code().to_string())
                .or_default() += 1;
        }
        Self {
            files_seen: report.files_seen,
            images: report.images,
            class_counts: report
                .classes
                .iter()
                .map(|c| (c.name.clone(), c.count))
                .collect(),
            skipped_by_reason,
            duplicate_groups: report.duplicate_groups.len(),
            redundant_files: report.redundant_files,
            split: split.clone(),
            split_counts: counts.to_vec(),
            manifest_sha256,
        }
    }
}

/// Everything a model file says besides its weights.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Header layout version.
    pub format_version: u32,
    /// MedClassify version that wrote the file.
    pub app_version: String,
    /// Burn version.
    pub burn_version: String,
    /// The network.
    pub model: ModelConfig,
    /// Class names, in output order.
    pub classes: Vec<String>,
    /// The input the network takes (the file's `image_size`; it must agree with the network's,
    /// which [`ModelMeta::validate`] checks).
    #[serde(rename = "image_size")]
    pub input: InputShape,
    /// The training settings.
    pub training: Option<TrainingConfig>,
    /// The data it was trained on.
    pub data: Option<DataSummary>,
    /// Per-epoch history.
    pub history: Vec<EpochMetrics>,
    /// What the callbacks did.
    pub callback_events: Vec<CallbackEvent>,
    /// The backend it was trained on.
    pub backend: Option<String>,
    /// Resume point (present in checkpoints).
    pub resume: Option<ResumeState>,
    /// Test-set scores.
    pub test: Option<Evaluation>,
    /// Test-set calibration.
    pub calibration: Option<CalibrationSummary>,
    /// 95 % intervals of the test-set numbers (files written before they existed: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intervals: Option<ConfidenceIntervals>,
    /// The cross-validation of these settings on this data, when the model is one of its
    /// fold models (`medclassify cv`, the page's Cross-validate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_validation: Option<CrossValidation>,
    /// How DICOM files were windowed for training; prediction and evaluation use the same.
    #[serde(default)]
    pub window: Window,
    /// Which frames of multi-frame DICOM files were used for training; evaluation uses the
    /// same (a prediction classifies every frame of a file, each as its own row).
    #[serde(default)]
    pub frames: Frames,
}

impl ModelMeta {
    /// The input the model takes (its network's: [`ModelMeta::validate`] checks they agree).
    pub fn shape(&self) -> InputShape {
        self.input
    }

    /// Checks everything a reader builds from or shows: the network's numbers, the class
    /// names (2 or more, unique, not empty), the input size against the network's, the test
    /// scores' dimensions against the classes. Runs before any network is built or drawn.
    pub fn validate(&self) -> Result<(), String> {
        validate_class_names(&self.classes)?;
        self.model.validate()?;
        let k = self.model.num_classes();
        if self.classes.len() != k {
            return Err(format!(
                "{} class names for a {k}-class network",
                self.classes.len()
            ));
        }
        let network = self.model.input_shape();
        if self.input != network {
            return Err(format!(
                "image_size is {} but the network takes {network}",
                self.input
            ));
        }
        if let Some(intervals) = &self.intervals
            && (intervals.per_class.len() != k
                || intervals
                    .per_class
                    .iter()
                    .enumerate()
                    .any(|(i, c)| c.class != i))
        {
            return Err(format!(
                "the confidence intervals are for {} classes, not {k}",
                intervals.per_class.len()
            ));
        }
        if let Some(test) = &self.test
            && (test.classes.len() != k
                || test.confusion.len() != k
                || test.confusion.iter().any(|row| row.len() != k)
                || test.per_class.len() != k)
        {
            return Err(format!(
                "the test scores are not for {k} classes (a {}x{} confusion matrix)",
                test.confusion.len(),
                test.confusion.first().map_or(0, Vec::len)
            ));
        }
        if let Some(training) = &self.training {
            training.validate()?;
        }
        Ok(())
    }

    /// A header for an untrained `model` over `classes`.
    pub fn new(model: ModelConfig, classes: Vec<String>) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            app_version: env!("CARGO_PKG_VERSION").to_string(),
            burn_version: BURN_VERSION.to_string(),
            input: model.input_shape(),
            model,
            classes,
            training: None,
            data: None,
            history: Vec::new(),
            callback_events: Vec::new(),
            backend: None,
            resume: None,
            test: None,
            calibration: None,
            intervals: None,
            cross_validation: None,
            window: Window::default(),
            frames: Frames::default(),
        }
    }

    /// How the model's data decoded DICOM files.
    pub fn dicom(&self) -> DicomOptions {
        DicomOptions {
            window: self.window,
            frames: self.frames,
        }
    }
}

/// The Burn version compiled in.
pub const BURN_VERSION: &str = "0.22.1";

/// A model file in memory.
#[derive(Clone, Debug)]
pub struct ModelFile {
    /// The header.
    pub meta: ModelMeta,
    /// burnpack weights.
    pub weights: Vec<u8>,
}

/// Why a file is not a usable model.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelFileError {
    /// Wrong first bytes.
    NotAModel,
    /// Header unreadable.
    BadHeader(String),
    /// Written by a newer version.
    UnsupportedVersion(u32),
    /// The file ends early.
    Truncated,
    /// The header disagrees with itself.
    Inconsistent(String),
}

impl fmt::Display for ModelFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelFileError::NotAModel => {
                write!(f, "this is not a MedClassify model file (.{EXTENSION})")
            }
            ModelFileError::BadHeader(e) => write!(f, "the model file's header is damaged: {e}"),
            ModelFileError::UnsupportedVersion(v) => {
                write!(
                    f,
                    "the model file has format version {v}; this app reads version {FORMAT_VERSION}"
                )
            }
            ModelFileError::Truncated => write!(f, "the model file is truncated"),
            ModelFileError::Inconsistent(e) => write!(f, "the model file is inconsistent: {e}"),
        }
    }
}

impl std::error::Error for ModelFileError {}

impl ModelFile {
    /// Serialises header and weights.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.meta).expect("the header is plain data");
        let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + self.weights.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.weights);
        out
    }

    /// Parses a file; checks its magic, version and that the header is self-consistent.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelFileError> {
        if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelFileError::NotAModel);
        }
        let len_at = MAGIC.len();
        let header_len =
            u32::from_le_bytes(bytes[len_at..len_at + 4].try_into().expect("4 bytes")) as usize;
        let header_at = len_at + 4;
        let Some(header) = bytes.get(header_at..header_at + header_len) else {
            return Err(ModelFileError::Truncated);
        };
        let value: serde_json::Value =
            serde_json::from_slice(header).map_err(|e| ModelFileError::BadHeader(e.to_string()))?;
        let version = value
            .get("format_version")
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as u32;
        if version != FORMAT_VERSION {
            return Err(ModelFileError::UnsupportedVersion(version));
        }
        let meta: ModelMeta = serde_json::from_value(with_grayscale_default(value))
            .map_err(|e| ModelFileError::BadHeader(e.to_string()))?;
        meta.validate().map_err(ModelFileError::Inconsistent)?;
        let weights = bytes[header_at + header_len..].to_vec();
        if weights.is_empty() {
            return Err(ModelFileError::Truncated);
        }
        Ok(Self { meta, weights })
    }
}

/// Files written before colour have no `channels` in their network: they are grayscale. (Burn's
/// `Config` derive reads its defaults only through `Config::load`, not through serde, so the
/// field is filled here, in the one reader of model files.)
fn with_grayscale_default(mut header: serde_json::Value) -> serde_json::Value {
    if let Some(model) = header.get_mut("model").and_then(|m| m.as_object_mut()) {
        model
            .entry("channels")
            .or_insert(serde_json::Value::from(1));
    }
    header
}
