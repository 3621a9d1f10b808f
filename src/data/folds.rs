//! k-fold cross-validation folds: stratified, seeded, and keeping each duplicate group and each
//! patient group in one fold (the same units as the train / validation / test split,
//! [`super::groups::class_groups`]).
//!
//! Each fold is held out once. The run of fold `f` trains on the other folds but one: fold
//! `f + 1` (wrapping) is its validation set, which the callbacks (early stopping, the
//! learning-rate schedule, the best checkpoint) and calibration use, so that nothing about the
//! held-out fold steers its own training. Every image is therefore in exactly one held-out
//! fold, and the held-out scores of all folds together cover the data once.

use rand::{SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::groups::{GroupBy, class_groups};
use super::split::fnv1a;
use super::{Dataset, MAX_FOLDS, Split, SplitConfig, SplitError, Subset};

/// The fold of every sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Folds {
    /// Number of folds.
    pub k: usize,
    /// Seed of the shuffle.
    pub seed: u64,
    /// Whether redundant duplicates were dropped.
    pub drop_duplicates: bool,
    /// What kept each patient's images in one fold.
    pub group_by: GroupBy,
    /// One entry per sample: its fold, or `None` for a dropped duplicate.
    pub fold_of: Vec<Option<usize>>,
}

/// Splits `dataset` into `k` folds. Within each class the groups are shuffled with the seed
/// (from the canonical order) and the largest first; each goes to the fold that has the fewest
/// images of that class so far (then the fewest in all), so classes are spread as evenly as
/// the groups allow.
pub fn make_folds(
    dataset: &Dataset,
    k: usize,
    seed: u64,
    drop_duplicates: bool,
    group_by: &GroupBy,
) -> Result<Folds, SplitError> {
    if !(3..=MAX_FOLDS).contains(&k) {
        return Err(SplitError::InvalidFolds { k });
    }
    if dataset.is_empty() {
        return Err(SplitError::Empty);
    }
    let (assignment, per_class) = class_groups(dataset, drop_duplicates, group_by);
    let mut fold_of: Vec<Option<usize>> = assignment
        .iter()
        .map(|s| (*s != Subset::Dropped).then_some(0))
        .collect();
    let units: Vec<Vec<usize>> = per_class.iter().flatten().cloned().collect();
    let labels = dataset.labels();
    if super::spread::any_mixed(&units, &labels) {
        // Patients with several classes: whole units spread over equal folds.
        let bins = super::split::spread_whole_units(
            dataset,
            &units,
            &vec![1.0 / k as f64; k],
            seed,
            group_by,
            format!("each of the {k} folds"),
        )?;
        for (unit, &bin) in units.iter().zip(&bins) {
            unit.iter().for_each(|&i| fold_of[i] = Some(bin));
        }
        return Ok(Folds {
            k,
            seed,
            drop_duplicates,
            group_by: group_by.clone(),
            fold_of,
        });
    }
    let mut fold_totals = vec![0usize; k];
    for (class, mut groups) in per_class.into_iter().enumerate() {
        let name = &dataset.classes[class];
        if groups.len() < k {
            return Err(SplitError::ClassTooSmallForFolds {
                class: name.clone(),
                distinct: groups.len(),
                k,
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ fnv1a(name) ^ 0x6b_666f_6c64);
        groups.shuffle(&mut rng);
        groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
        let mut class_totals = vec![0usize; k];
        for group in groups {
            let fold = (0..k)
                .min_by_key(|&f| (class_totals[f], fold_totals[f], f))
                .unwrap_or(0);
            class_totals[fold] += group.len();
            fold_totals[fold] += group.len();
            for index in group {
                fold_of[index] = Some(fold);
            }
        }
    }
    Ok(Folds {
        k,
        seed,
        drop_duplicates,
        group_by: group_by.clone(),
        fold_of,
    })
}

impl Folds {
    /// The fold that validates the run holding out `fold`.
    pub fn validation_fold(&self, fold: usize) -> usize {
        (fold + 1) % self.k
    }

    /// The split of the run holding out `fold`: that fold is the test set, the next one the
    /// validation set, the rest training.
    pub fn split(&self, dataset: &Dataset, fold: usize) -> Split {
        let validation = self.validation_fold(fold);
        let assignment = self
            .fold_of
            .iter()
            .map(|f| match *f {
                None => Subset::Dropped,
                Some(f) if f == fold => Subset::Test,
                Some(f) if f == validation => Subset::Validation,
                Some(_) => Subset::Train,
            })
            .collect();
        let mut split = Split::from_assignment(dataset, assignment, &SplitConfig::default());
        let share = 1.0 / self.k as f64;
        split.config = SplitConfig {
            train: 1.0 - 2.0 * share,
            validation: share,
            test: share,
            seed: self.seed,
            drop_duplicates: self.drop_duplicates,
            from_file: false,
            group_by: self.group_by.clone(),
        };
        split
    }

    /// Images in each fold.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![0; self.k];
        for f in self.fold_of.iter().flatten() {
            sizes[*f] += 1;
        }
        sizes
    }
}

#[cfg(test)]
mod tests;
