//! The decoded images of a folder, stored as `u8` and sorted by path.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use super::{
    ClassCount, DecodeLimits, Decoded, DicomClassReport, DicomInfo, DuplicateGroup, InputShape,
    LoadReport, SkipReason, SkippedFile, StoredImage, StoredPixels, classify_path,
    decode_dicom_stored, decode_stored, expand, hex, is_dicom, sha256,
};

/// One usable image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Path relative to the chosen folder, `/`-separated.
    pub path: String,
    /// Index into [`Dataset::classes`].
    pub label: usize,
    /// SHA-256 of the file's bytes.
    pub sha256: [u8; 32],
    /// Where its pixels start in [`Dataset::pixels`], in images.
    pub slot: usize,
}

/// Decoded images: `u8` pixels, never an `f32` copy; each at `shape`, or at its own size when
/// that is smaller (resized when used: [`Dataset::image`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dataset {
    /// The shape every image has when used.
    pub shape: InputShape,
    /// Class names in alphabetical order; a sample's label indexes this.
    pub classes: Vec<String>,
    /// Samples sorted by path.
    pub samples: Vec<Sample>,
    /// All pixels, image after image, in the order they were decoded.
    pub pixels: Vec<u8>,
    /// Where each slot's image starts in `pixels` and at what size it is kept. Empty when
    /// every image is kept at `shape` (slot `i` then starts at `i * shape.values()`).
    pub stored: Vec<StoredImage>,
    /// Each sample's subset when the data came split (a MedMNIST `.npz`); the split then
    /// keeps it instead of drawing one.
    pub file_split: Option<Vec<super::Subset>>,
    /// Each sample's DICOM Patient ID and Study Instance UID (empty when no file was DICOM;
    /// `None` for a sample without them), for grouping by tag.
    pub dicom_ids: Vec<(Option<String>, Option<String>)>,
    /// Each sample's `group` from a label table (empty without one).
    pub table_groups: Vec<Option<String>>,
}

impl LoadReport {
    /// The report of a decoded data set: class counts and duplicate groups, with the files
    /// that were skipped on the way.
    pub fn of(dataset: &Dataset, files_seen: usize, skipped: Vec<SkippedFile>) -> Self {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for sample in &dataset.samples {
            *counts.entry(&dataset.classes[sample.label]).or_default() += 1;
        }
        let duplicate_groups = find_duplicates(dataset);
        LoadReport {
            files_seen,
            images: dataset.len(),
            shape: dataset.shape,
            classes: counts
                .into_iter()
                .map(|(name, count)| ClassCount {
                    name: name.to_string(),
                    count,
                })
                .collect(),
            redundant_files: duplicate_groups.iter().map(|g| g.paths.len() - 1).sum(),
            duplicate_groups,
            skipped,
            dicom: Vec::new(),
            labels: None,
        }
    }
}

/// Exact duplicates: groups of two or more samples with the same content hash (the same
/// bytes), largest group first (ties by hash, so the order is stable).
pub fn find_duplicates(dataset: &Dataset) -> Vec<DuplicateGroup> {
    let mut by_hash: HashMap<[u8; 32], Vec<usize>> = HashMap::new();
    for (index, sample) in dataset.samples.iter().enumerate() {
        by_hash.entry(sample.sha256).or_default().push(index);
    }
    let mut groups: Vec<DuplicateGroup> = by_hash
        .into_iter()
        .filter(|(_, members)| members.len() > 1)
        .map(|(hash, members)| {
            let mut classes: Vec<String> = members
                .iter()
                .map(|&i| dataset.classes[dataset.samples[i].label].clone())
                .collect();
            classes.sort();
            classes.dedup();
            DuplicateGroup {
                sha256: hex(&hash),
                paths: members
                    .iter()
                    .map(|&i| dataset.samples[i].path.clone())
                    .collect(),
                classes,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.paths
            .len()
            .cmp(&a.paths.len())
            .then_with(|| a.sha256.cmp(&b.sha256))
    });
    groups
}

impl Dataset {
    /// Number of pixels in one image.
    pub fn image_len(&self) -> usize {
        self.shape.values()
    }

    /// Pixels of sample `index` (an index into [`Dataset::samples`]) at `shape`: borrowed,
    /// or resized from the size it is kept at.
    pub fn image(&self, index: usize) -> Cow<'_, [u8]> {
        let slot = self.samples[index].slot;
        match self.stored.get(slot) {
            None => {
                let len = self.image_len();
                Cow::Borrowed(&self.pixels[slot * len..(slot + 1) * len])
            }
            Some(at) => {
                let pixels = &self.pixels[at.offset..at.offset + at.len(self.shape)];
                match at.native {
                    None => Cow::Borrowed(pixels),
                    Some(dims) => expand(pixels, dims, self.shape),
                }
            }
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when no image was usable.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Labels of all samples, in sample order.
    pub fn labels(&self) -> Vec<usize> {
        self.samples.iter().map(|s| s.label).collect()
    }

    /// Bytes of data in the pixel store and the sample table, names included (what the page
    /// keeps in memory). Lengths, not capacities: the same images report the same figure
    /// whether they came as a folder or an archive (spare capacity depends on how the strings
    /// and vectors grew, and made the two reports differ by a kilobyte).
    pub fn memory_bytes(&self) -> usize {
        self.pixels.len()
            + self.samples.len() * std::mem::size_of::<Sample>()
            + self.samples.iter().map(|s| s.path.len()).sum::<usize>()
    }
}

/// The name of frame `frame` (from 0) of the multi-frame file `path`: `path#frame001`
/// (numbered from 1, zero-padded so that the frames sort in order).
pub fn frame_path(path: &str, frame: usize) -> String {
    format!("{path}#frame{:03}", frame + 1)
}

/// The file a frame's image came from (`None` for an image that is a whole file).
pub fn frame_source(path: &str) -> Option<&str> {
    let (source, number) = path.rsplit_once("#frame")?;
    (number.len() == 3 && number.bytes().all(|b| b.is_ascii_digit())).then_some(source)
}

/// A decoded file, ready to be added to a [`DatasetBuilder`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedImage {
    /// Class from the path.
    pub class: String,
    /// SHA-256 of the file's bytes.
    pub sha256: [u8; 32],
    /// One image of the builder's shape (`channels * size * size` values), one per frame
    /// of a multi-frame DICOM file decoded with [`super::Frames::Every`], or one image at its
    /// own size when it is smaller than the shape (see [`StoredPixels`]).
    pub pixels: StoredPixels,
    /// What the file was, when it was a DICOM file.
    pub dicom: Option<DicomInfo>,
}

/// Classifies, hashes and decodes one file: the per-file work, free of shared state so it
/// can run on any thread.
pub fn prepare_file(
    path: &str,
    bytes: &[u8],
    shape: InputShape,
    limits: &DecodeLimits,
) -> Result<PreparedImage, SkipReason> {
    let class = classify_path(path)?.to_string();
    // A decoder bug on one crafted file must cost that file, not the whole load (natively
    // the panic unwinds to here; in the browser, where panics abort, the helper worker dies
    // and the engine reports its files).
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if is_dicom(bytes) {
            decode_dicom_stored(bytes, shape, limits).map(|(pixels, info)| (pixels, Some(info)))
        } else {
            decode_stored(bytes, shape, limits).map(|pixels| (pixels, None))
        }
    }))
    .unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown error".into());
        Err(SkipReason::Corrupt {
            detail: format!("the decoder failed: {message}"),
        })
    })?;
    Ok(PreparedImage {
        class,
        sha256: sha256(bytes),
        pixels: decoded.0,
        dicom: decoded.1,
    })
}

/// One image the builder kept, until `finish` sorts them by path.
#[derive(Debug)]
struct Entry {
    path: String,
    class: String,
    sha256: [u8; 32],
    /// Where its pixels are (an index into `stored`).
    slot: usize,
    /// A DICOM file's Patient ID and Study Instance UID (`None` for other files).
    dicom_ids: Option<(Option<String>, Option<String>)>,
}

/// Collects files in any order and turns them into a [`Dataset`] and its [`LoadReport`].
///
/// The page and the native command feed it the same way, so both give the same result.
#[derive(Debug)]
pub struct DatasetBuilder {
    shape: InputShape,
    limits: DecodeLimits,
    entries: Vec<Entry>,
    pixels: Vec<u8>,
    /// Where each slot's image is (see [`Dataset::stored`]).
    stored: Vec<StoredImage>,
    /// DICOM files per class, and each class's Patient IDs.
    dicom: BTreeMap<String, (DicomClassReport, std::collections::BTreeSet<String>)>,
    skipped: Vec<SkippedFile>,
    files_seen: usize,
}

impl DatasetBuilder {
    /// A builder that stores images at `shape`.
    pub fn new(shape: InputShape) -> Self {
        Self::with_limits(shape, DecodeLimits::default())
    }

    /// A builder with explicit decoding limits.
    pub fn with_limits(shape: InputShape, limits: DecodeLimits) -> Self {
        Self {
            shape,
            limits,
            entries: Vec::new(),
            pixels: Vec::new(),
            stored: Vec::new(),
            dicom: BTreeMap::new(),
            skipped: Vec::new(),
            files_seen: 0,
        }
    }

    /// Reserves room for about `files` images in the sample table. The pixel store grows as
    /// images come (their size is not known before they are decoded) until
    /// [`Self::reserve_pixels`] is told what the rest will take.
    pub fn reserve(&mut self, files: usize) {
        self.entries.reserve(files);
        self.stored.reserve(files);
    }

    /// Reserves room for `bytes` more pixels (avoids regrowing, which would briefly hold the
    /// store twice).
    pub fn reserve_pixels(&mut self, bytes: usize) {
        self.pixels.reserve(bytes);
    }

    /// What the load has decoded so far, for a projection of `total` images.
    pub fn decoded(&self, total: usize) -> Decoded {
        Decoded {
            total,
            images: self.entries.len(),
            bytes: self.pixels.len(),
        }
    }

    /// True when the path alone says the file will be skipped; such files need not be read.
    pub fn path_skip_reason(path: &str) -> Option<SkipReason> {
        classify_path(path).err()
    }

    /// Offers one file. Returns the reason when it is skipped.
    pub fn add_file(&mut self, path: &str, bytes: &[u8]) -> Option<SkipReason> {
        let outcome = prepare_file(path, bytes, self.shape, &self.limits);
        self.add_prepared(path, outcome)
    }

    /// Adds the outcome of [`prepare_file`] (which may have run on another thread).
    pub fn add_prepared(
        &mut self,
        path: &str,
        outcome: Result<PreparedImage, SkipReason>,
    ) -> Option<SkipReason> {
        self.files_seen += 1;
        match outcome {
            Ok(image) => self.add_image(path, image),
            Err(reason) => self.skip(path, reason),
        }
    }

    /// Stores a decoded file's image (or frames) under `path`.
    fn add_image(&mut self, path: &str, image: PreparedImage) -> Option<SkipReason> {
        if !image.pixels.is_consistent(self.shape) {
            // A decoder bug must cost this file, never shift every image after it.
            let detail = format!(
                "decoded to {} values, not whole {} images",
                image.pixels.pixels.len(),
                self.shape
            );
            return self.skip(path, SkipReason::Corrupt { detail });
        }
        if let Some(info) = &image.dicom {
            let (report, patients) = self.dicom.entry(image.class.clone()).or_default();
            report.add(info);
            patients.extend(info.patient.clone());
        }
        let ids = image
            .dicom
            .as_ref()
            .map(|d| (d.patient.clone(), d.study.clone()));
        let StoredPixels { pixels, native } = image.pixels;
        let frames = match native {
            Some(_) => 1,
            None => pixels.len() / self.shape.values(),
        };
        for frame in 0..frames {
            let at = StoredImage {
                offset: self.pixels.len() + frame * self.shape.values(),
                native,
            };
            self.stored.push(at);
        }
        self.pixels.extend_from_slice(&pixels);
        if frames == 1 {
            let slot = self.entries.len();
            self.entries.push(Entry {
                path: path.to_string(),
                class: image.class,
                sha256: image.sha256,
                slot,
                dicom_ids: ids,
            });
            return None;
        }
        // Every frame of a multi-frame file: one image each, named and hashed apart
        // (and kept together by the split: see `frame_source`).
        for frame in 0..frames {
            let slot = self.entries.len();
            let mut hashed = image.sha256.to_vec();
            hashed.extend_from_slice(&(frame as u32).to_le_bytes());
            self.entries.push(Entry {
                path: frame_path(path, frame),
                class: image.class.clone(),
                sha256: sha256(&hashed),
                slot,
                dicom_ids: ids.clone(),
            });
        }
        None
    }

    /// Counts the label table itself as a file seen (it is neither an image nor skipped).
    pub fn note_table_file(&mut self) {
        self.files_seen += 1;
    }

    /// Records a file that could not even be read (e.g. a browser read error).
    pub fn add_unreadable(&mut self, path: &str, detail: &str) -> Option<SkipReason> {
        self.files_seen += 1;
        self.skip(
            path,
            SkipReason::Unreadable {
                detail: detail.to_string(),
            },
        )
    }

    fn skip(&mut self, path: &str, reason: SkipReason) -> Option<SkipReason> {
        self.skipped.push(SkippedFile::new(path, reason.clone()));
        Some(reason)
    }

    /// The shape of the stored images.
    pub fn shape(&self) -> InputShape {
        self.shape
    }

    /// The decoding limits.
    pub fn limits(&self) -> &DecodeLimits {
        &self.limits
    }

    /// Files offered so far.
    pub fn files_seen(&self) -> usize {
        self.files_seen
    }

    /// Bytes of decoded pixels kept so far.
    pub fn pixel_bytes(&self) -> usize {
        self.pixels.len()
    }

    /// Images kept so far.
    pub fn images(&self) -> usize {
        self.entries.len()
    }

    /// Sorts by path, numbers the classes alphabetically, finds duplicates.
    pub fn finish(mut self) -> (Dataset, LoadReport) {
        self.entries.sort_by(|a, b| a.path.cmp(&b.path));
        self.skipped.sort_by(|a, b| a.path.cmp(&b.path));
        let classes: Vec<String> = self
            .entries
            .iter()
            .map(|e| e.class.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let any_dicom = self.entries.iter().any(|e| e.dicom_ids.is_some());
        let dicom_ids = match any_dicom {
            true => self
                .entries
                .iter()
                .map(|e| e.dicom_ids.clone().unwrap_or_default())
                .collect(),
            false => Vec::new(),
        };
        let samples: Vec<Sample> = self
            .entries
            .into_iter()
            .map(|e| Sample {
                label: classes.binary_search(&e.class).expect("class was counted"),
                path: e.path,
                sha256: e.sha256,
                slot: e.slot,
            })
            .collect();
        self.pixels.shrink_to_fit();
        // A data set kept wholly at its shape needs no table of where each image is.
        let uniform = self.stored.iter().all(|at| at.native.is_none());
        let dataset = Dataset {
            shape: self.shape,
            classes,
            samples,
            pixels: self.pixels,
            stored: if uniform { Vec::new() } else { self.stored },
            file_split: None,
            dicom_ids,
            table_groups: Vec::new(),
        };
        let mut report = LoadReport::of(&dataset, self.files_seen, self.skipped);
        report.dicom = self
            .dicom
            .into_iter()
            .map(|(class, (mut summary, patients))| {
                summary.class = class;
                summary.patients = patients.len();
                summary
            })
            .collect();
        (dataset, report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(class: &str, pixels: Vec<u8>) -> Result<PreparedImage, SkipReason> {
        Ok(PreparedImage {
            class: class.into(),
            sha256: sha256(&pixels),
            pixels: StoredPixels::full(pixels),
            dicom: None,
        })
    }

    #[test]
    fn a_wrong_sized_image_costs_its_file_and_frames_become_images() {
        let shape = InputShape::square(16);
        let mut builder = DatasetBuilder::new(shape);
        builder.add_prepared("a/one.png", image("a", vec![1; 256]));
        let reason = builder.add_prepared("a/bad.png", image("a", vec![2; 300]));
        assert!(
            matches!(&reason, Some(SkipReason::Corrupt { detail }) if detail.contains("300 values")),
            "{reason:?}"
        );
        assert!(
            builder
                .add_prepared("b/empty.png", image("b", Vec::new()))
                .is_some()
        );
        // Three frames of one file: three images, named and hashed apart, in order.
        let frames = [vec![3; 256], vec![4; 256], vec![5; 256]].concat();
        assert!(
            builder
                .add_prepared("b/cine.dcm", image("b", frames))
                .is_none()
        );
        let (dataset, report) = builder.finish();
        assert_eq!(
            (dataset.len(), report.skipped.len(), report.files_seen),
            (4, 2, 4)
        );
        let paths: Vec<&str> = dataset.samples.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "a/one.png",
                "b/cine.dcm#frame001",
                "b/cine.dcm#frame002",
                "b/cine.dcm#frame003"
            ]
        );
        // The pixel store is not shifted by the refused file.
        assert!((0..4).all(|i| dataset.image(i)[0] == [1, 3, 4, 5][i]));
        let hashes: std::collections::BTreeSet<_> =
            dataset.samples.iter().map(|s| s.sha256).collect();
        assert_eq!(hashes.len(), 4);
        assert_eq!(frame_source("b/cine.dcm#frame002"), Some("b/cine.dcm"));
        assert_eq!(frame_source("b/photo#frame.png"), None);
    }

    /// The page shows this figure for a folder and for an archive of the same images, and an
    /// e2e test compares the two reports: how much either source reserved must not show.
    #[test]
    fn the_memory_figure_counts_data_not_reservations() {
        let shape = InputShape::square(16);
        let build = |files: usize| {
            let mut builder = DatasetBuilder::new(shape);
            builder.reserve(files);
            builder.add_prepared("a/one.png", image("a", vec![1; 256]));
            builder.add_prepared("b/two.png", image("b", vec![2; 256]));
            builder.finish().0
        };
        let (small, large) = (build(2), build(40));
        let names = "a/one.png".len() + "b/two.png".len();
        let expected = 2 * 256 + 2 * std::mem::size_of::<Sample>() + names;
        assert_eq!(
            (small.memory_bytes(), large.memory_bytes()),
            (expected, expected)
        );
    }
}
