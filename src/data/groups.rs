//! Groups that a split must keep together: byte-identical files always, and, when the user
//! names a grouping key, every image of one patient (or study, or scan). The key comes from
//! the path: a folder level (`class/<patient>/image.png` is level 1) or the part of the file
//! name before a separator (`p0042_3.png` with `_` is `p0042`).
//!
//! The split and the cross-validation folds both take their units from [`class_groups`], so a
//! patient is never in two subsets and never in two folds; a patient whose images carry
//! different labels stays whole too: then every unit is spread over the subsets (or folds) so
//! that each class comes as close to the fractions as the units allow (`super::spread`, in the
//! manner of scikit-learn's `StratifiedGroupKFold`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{Dataset, Subset};

/// Where the grouping key of an image comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum GroupBy {
    /// No key: only duplicates are kept together.
    #[default]
    None,
    /// The folder at this depth of the path (0 is the class folder; 1 the folder below it).
    Folder {
        /// The depth.
        level: usize,
    },
    /// The file name up to the first `separator` (no key when the name has none).
    FilePrefix {
        /// The separator.
        separator: char,
    },
    /// A DICOM file's Patient ID (0010,0020).
    DicomPatient,
    /// A DICOM file's Study Instance UID (0020,000D).
    DicomStudy,
    /// The `group` column of the label table (`labels.csv`).
    Table,
}

impl GroupBy {
    /// No grouping key.
    pub fn is_none(&self) -> bool {
        *self == GroupBy::None
    }

    /// The group key of sample `index` of `dataset`: from its path, or from its DICOM tags;
    /// `None` when it has none (the image is then its own group, and the report says how many
    /// were).
    pub fn key_of(&self, dataset: &Dataset, index: usize) -> Option<String> {
        let ids = dataset.dicom_ids.get(index);
        match self {
            GroupBy::DicomPatient => ids.and_then(|ids| ids.0.clone()),
            GroupBy::DicomStudy => ids.and_then(|ids| ids.1.clone()),
            GroupBy::Table => dataset.table_groups.get(index).cloned().flatten(),
            _ => self.key(&dataset.samples[index].path),
        }
    }

    /// The group key of the image at `path` (relative to the chosen folder) for the keys a
    /// path gives (none for the DICOM tags).
    pub fn key(&self, path: &str) -> Option<String> {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let (name, folders) = parts.split_last()?;
        match self {
            GroupBy::None | GroupBy::DicomPatient | GroupBy::DicomStudy | GroupBy::Table => None,
            GroupBy::Folder { level } => folders.get(*level).map(|f| f.to_string()),
            GroupBy::FilePrefix { separator } => {
                let stem = name.rsplit_once('.').map_or(*name, |(stem, _)| stem);
                let (prefix, _) = stem.split_once(*separator)?;
                (!prefix.is_empty()).then(|| prefix.to_string())
            }
        }
    }

    /// Parses `none`, `folder:N` or `prefix:C` (the command's `--group-by`, the page's choice).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            "use none, folder:N (a folder level), prefix:C (a separator), dicom:patient, dicom:study or csv:group"
                .to_string()
        };
        match text.trim().split_once(':') {
            None if text.trim() == "none" => Ok(GroupBy::None),
            Some(("dicom", "patient")) => Ok(GroupBy::DicomPatient),
            Some(("dicom", "study")) => Ok(GroupBy::DicomStudy),
            Some(("csv", "group")) => Ok(GroupBy::Table),
            Some(("folder", level)) => level
                .parse()
                .map(|level| GroupBy::Folder { level })
                .map_err(|_| bad()),
            Some(("prefix", separator)) => {
                let mut chars = separator.chars();
                match (chars.next(), chars.next()) {
                    (Some(separator), None) => Ok(GroupBy::FilePrefix { separator }),
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }

    /// The form [`GroupBy::parse`] reads.
    pub fn name(&self) -> String {
        match self {
            GroupBy::None => "none".into(),
            GroupBy::Folder { level } => format!("folder:{level}"),
            GroupBy::FilePrefix { separator } => format!("prefix:{separator}"),
            GroupBy::DicomPatient => "dicom:patient".into(),
            GroupBy::DicomStudy => "dicom:study".into(),
            GroupBy::Table => "csv:group".into(),
        }
    }

    /// How the page and the report describe it.
    pub fn describe(&self) -> String {
        match self {
            GroupBy::None => "none (duplicates only)".into(),
            GroupBy::Folder { level } => format!("folder level {level} below the chosen folder"),
            GroupBy::FilePrefix { separator } => {
                format!("file name before the first {separator:?}")
            }
            GroupBy::DicomPatient => "DICOM Patient ID".into(),
            GroupBy::DicomStudy => "DICOM Study Instance UID".into(),
            GroupBy::Table => "the group column of labels.csv".into(),
        }
    }
}

/// How a grouped split came out: what the report shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCounts {
    /// Groups (by key) in training, validation and test.
    pub per_subset: [usize; 3],
    /// The largest group's key and its images.
    pub largest: (String, usize),
    /// Images whose path gave no key (each its own group).
    pub without_key: usize,
    /// Groups whose images carry more than one label.
    pub mixed_labels: usize,
}

impl GroupCounts {
    /// What a split grouped by `group_by` did, in one sentence (the page and `inspect`).
    pub fn describe(&self, group_by: &GroupBy) -> String {
        let mut text = format!(
            "Kept together by {}: {} groups in training, {} in validation, {} in test; the largest, {:?}, has {} images.",
            group_by.describe(),
            self.per_subset[0],
            self.per_subset[1],
            self.per_subset[2],
            self.largest.0,
            self.largest.1
        );
        if self.without_key > 0 {
            text += &format!(
                " {} images had no key (each is its own group).",
                self.without_key
            );
        }
        if self.mixed_labels > 0 {
            text += &format!(
                " {} groups hold images of more than one class (each kept whole; the groups are spread so that every class comes as close to the split's fractions as they allow).",
                self.mixed_labels
            );
        }
        text
    }
}

/// The units that must stay together, per class, in canonical order, and the assignment with
/// dropped duplicates marked: images joined by identical bytes, by coming from one multi-frame
/// file, or by the same `group_by` key (one union of all three). A unit belongs to the class of its first image by path. With
/// `drop_duplicates`, each duplicate group keeps its first file; the others are
/// [`Subset::Dropped`] (everything else starts as `Train`).
pub fn class_groups(
    dataset: &Dataset,
    drop_duplicates: bool,
    group_by: &GroupBy,
) -> (Vec<Subset>, Vec<Vec<Vec<usize>>>) {
    let n = dataset.len();
    let mut assignment = vec![Subset::Train; n];
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let union = |parent: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (root(parent, a), root(parent, b));
        // The smaller index (earlier path) leads, so a unit's class is its first image's.
        parent[ra.max(rb)] = ra.min(rb);
    };
    let mut by_hash: BTreeMap<[u8; 32], usize> = BTreeMap::new();
    for (i, sample) in dataset.samples.iter().enumerate() {
        match by_hash.get(&sample.sha256) {
            Some(_) if drop_duplicates => assignment[i] = Subset::Dropped,
            Some(&first) => union(&mut parent, first, i),
            None => {
                by_hash.insert(sample.sha256, i);
            }
        }
    }
    // The frames of one multi-frame file are one unit, whatever the grouping.
    let mut by_source: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, sample) in dataset.samples.iter().enumerate() {
        if let Some(source) = super::frame_source(&sample.path) {
            match by_source.get(source) {
                Some(&first) => union(&mut parent, first, i),
                None => {
                    by_source.insert(source, i);
                }
            }
        }
    }
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    for (i, subset) in assignment.iter().enumerate().take(n) {
        if *subset == Subset::Dropped {
            continue;
        }
        if let Some(key) = group_by.key_of(dataset, i) {
            match by_key.get(&key) {
                Some(&first) => union(&mut parent, first, i),
                None => {
                    by_key.insert(key, i);
                }
            }
        }
    }
    // Units keyed by their members' smallest content hash: canonical, whatever the order in
    // which the files were listed (and the same as before for ungrouped data).
    let mut units: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in (0..n).filter(|&i| assignment[i] != Subset::Dropped) {
        let r = root(&mut parent, i);
        units.entry(r).or_default().push(i);
    }
    let mut ordered: Vec<([u8; 32], Vec<usize>)> = units
        .into_values()
        .map(|members| {
            let key = members
                .iter()
                .map(|&i| dataset.samples[i].sha256)
                .min()
                .unwrap_or_default();
            (key, members)
        })
        .collect();
    ordered.sort();
    let mut per_class: Vec<Vec<Vec<usize>>> = vec![Vec::new(); dataset.classes.len()];
    for (_, members) in ordered {
        per_class[dataset.samples[members[0]].label].push(members);
    }
    (assignment, per_class)
}

/// The report of a grouped split: groups per subset, the largest, images without a key, and
/// groups with mixed labels.
pub fn group_counts(dataset: &Dataset, assignment: &[Subset], group_by: &GroupBy) -> GroupCounts {
    let mut groups: BTreeMap<String, (Vec<Subset>, Vec<usize>)> = BTreeMap::new();
    let mut counts = GroupCounts::default();
    for (i, (sample, subset)) in dataset.samples.iter().zip(assignment).enumerate() {
        match group_by.key_of(dataset, i) {
            Some(key) => {
                let entry = groups.entry(key).or_default();
                entry.0.push(*subset);
                entry.1.push(sample.label);
            }
            None => counts.without_key += 1,
        }
    }
    for (key, (subsets, labels)) in &groups {
        for (slot, subset) in [Subset::Train, Subset::Validation, Subset::Test]
            .iter()
            .enumerate()
        {
            if subsets.contains(subset) {
                counts.per_subset[slot] += 1;
            }
        }
        if subsets.len() > counts.largest.1 {
            counts.largest = (key.clone(), subsets.len());
        }
        if labels.iter().any(|l| *l != labels[0]) {
            counts.mixed_labels += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests;
