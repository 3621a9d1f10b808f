//! Exact duplicates: files with the same bytes.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::{Dataset, hex};

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

/// Groups of two or more samples with the same content hash, largest group first
/// (ties by hash, so the order is stable).
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
