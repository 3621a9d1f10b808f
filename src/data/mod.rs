//! Data: from a folder of image files to a leakage-safe train / validation / test split.
//!
//! The flow is the same in the page and in the native command:
//! 1. every file is offered to a [`DatasetBuilder`] with its path relative to the chosen
//!    folder ([`classify_path`] decides its class or why it is skipped),
//! 2. [`decode_pixels`] turns the bytes into an 8-bit square (grayscale or RGB) of the chosen size,
//! 3. [`DatasetBuilder::finish`] sorts everything by path (so the browser's listing order
//!    does not matter) and returns the [`Dataset`] and its [`LoadReport`],
//! 4. [`split_dataset`] assigns every image (duplicate groups as a whole) to a subset,
//! 5. [`Manifest`] writes the result as CSV or JSON.

mod archive;
mod augment;
mod batcher;
mod budget;
mod class_names;
mod dataset;
mod dataset_file;
mod decode;
mod dicom;
mod folds;
mod groups;
mod inspection;
mod labels;
mod manifest;
mod npz;
mod path;
mod report;
mod shape;
mod skip;
mod split;
mod spread;
mod stored;
mod subset;
mod window;

pub use archive::{
    Archive, ArchiveError, ArchiveKind, ArchiveLimits, TarStream, archive_kind,
    walk as walk_archive,
};
pub use augment::{AugmentConfig, augment_image};
pub use batcher::{batch_data, batch_pixels, images_tensor, make_batch};
pub use budget::{Decoded, PAGE_PIXEL_BUDGET, PROJECT_AFTER, check_pixel_budget};
pub use class_names::{MAX_CLASS_NAME, validate_class_names};
pub use dataset::{
    Dataset, DatasetBuilder, PreparedImage, Sample, find_duplicates, frame_path, frame_source,
    prepare_file,
};
pub use dataset_file::{DATASET_MAGIC, DatasetHeader, SampleRecord, read_dataset, write_dataset};
pub use decode::{
    DecodeLimits, MAX_IMAGE_SIZE, MIN_IMAGE_SIZE, SUPPORTED_SIZES, decode_image, decode_pixels,
    decode_stored, is_complete_jpeg,
};
pub use dicom::{decode_dicom, decode_dicom_pixels, decode_dicom_stored, is_dicom};
pub use folds::{Folds, make_folds};
pub use groups::{GroupBy, GroupCounts};
pub use inspection::Inspection;
pub use labels::{LABELS_FILE, LabelRow, LabelTable, record_table};
pub use manifest::{Manifest, ManifestRow, csv_field, csv_table};
pub use npz::{
    MAX_ARRAY_BYTES, NPZ_SCALE_FROM, NpzData, is_zip, npz_scales_to, read_npz, read_npz_as,
    walk_npz,
};
pub use path::{classify_path, is_hidden_name};
pub use report::{
    ClassCount, DicomClassReport, DuplicateGroup, IMBALANCE_RATIO, LabelsReport, LoadReport,
};
pub use shape::{Colour, InputShape};
pub use skip::{SkipReason, SkippedFile};
pub use split::{
    MAX_FOLDS, MAX_SEED, Split, SplitConfig, SplitCounts, SplitError, parse_seed, split_dataset,
};
pub use stored::{StoredImage, StoredPixels, expand};
pub use subset::Subset;
pub use window::{
    DicomInfo, DicomOptions, Frames, MAX_FRAMES, WINDOW_PRESETS, Window, apply_window,
};

/// Hex form of a SHA-256 digest.
pub fn hex(digest: &[u8; 32]) -> String {
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// SHA-256 of a byte slice.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
