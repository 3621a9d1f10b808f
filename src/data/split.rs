//! Stratified, seeded, duplicate-aware train / validation / test split.

use rand::{SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

use super::groups::{GroupBy, GroupCounts, class_groups, group_counts};
use super::{Dataset, Subset};

/// Folds a cross-validation takes at most (each needs images of every class); the split's
/// errors name it.
pub const MAX_FOLDS: usize = 20;

/// The largest seed (of a split or a run): 2^53 - 1, the largest whole number a JavaScript
/// number holds exactly, so that a seed goes through the page, a model file and the command
/// line unchanged and a run can be repeated anywhere.
pub const MAX_SEED: u64 = (1 << 53) - 1;

/// A seed typed by a user, or why it cannot be one.
pub fn parse_seed(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(seed) if seed <= MAX_SEED => Ok(seed),
        _ => Err(format!(
            "seed {:?} must be a whole number from 0 to 2^53 - 1 ({MAX_SEED})",
            text.trim()
        )),
    }
}

/// How to split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitConfig {
    /// Fraction of each class for training.
    pub train: f64,
    /// Fraction of each class for validation.
    pub validation: f64,
    /// Fraction of each class for the test.
    pub test: f64,
    /// Seed of the shuffle; the same seed and files give the same split.
    pub seed: u64,
    /// Keep only the first file (by path) of each duplicate group.
    pub drop_duplicates: bool,
    /// The split is the data's own (a MedMNIST file's train / val / test arrays); the
    /// fractions and the seed were not used.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_file: bool,
    /// What keeps a patient's images together (duplicates are kept together always).
    #[serde(default, skip_serializing_if = "GroupBy::is_none")]
    pub group_by: GroupBy,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            train: 0.70,
            validation: 0.15,
            test: 0.15,
            seed: 42,
            drop_duplicates: false,
            from_file: false,
            group_by: GroupBy::None,
        }
    }
}

/// Why a split could not be made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SplitError {
    /// The fractions are negative, zero or do not sum to 1.
    InvalidFractions {
        /// What is wrong.
        detail: String,
    },
    /// A class has too few distinct images to appear in every subset.
    ClassTooSmall {
        /// The class.
        class: String,
        /// Its distinct images (a duplicate group counts once).
        distinct: usize,
    },
    /// No image to split.
    Empty,
    /// A cross-validation fold count outside what is offered.
    InvalidFolds {
        /// The count asked for.
        k: usize,
    },
    /// A class has fewer distinct images than there are folds.
    ClassTooSmallForFolds {
        /// The class.
        class: String,
        /// Its distinct images.
        distinct: usize,
        /// The folds asked for.
        k: usize,
    },
    /// Groups hold several classes, and a class's groups cannot give it a place in every
    /// subset (or fold): each group stays whole.
    GroupsCannotSpread {
        /// The class.
        class: String,
        /// The groups that hold its images.
        groups: Vec<String>,
        /// What it needs a place in ("training, validation and test", "each of the 5 folds").
        places: String,
    },
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitError::InvalidFractions { detail } => {
                write!(f, "invalid split fractions: {detail}")
            }
            SplitError::ClassTooSmall { class, distinct } => write!(
                f,
                "class \"{class}\" has only {distinct} distinct image(s); at least 3 are needed so that \
                 training, validation and test each get one (add images or remove the class folder)"
            ),
            SplitError::Empty => write!(f, "no usable image to split"),
            SplitError::InvalidFolds { k } => write!(
                f,
                "{k} folds: cross-validation takes 3 to {} (one held out, one for validation, the rest for training)",
                MAX_FOLDS
            ),
            SplitError::ClassTooSmallForFolds { class, distinct, k } => write!(
                f,
                "class \"{class}\" has only {distinct} distinct image(s); {k} folds need at least {k} so that every fold holds one"
            ),
            SplitError::GroupsCannotSpread {
                class,
                groups,
                places,
            } => {
                let mut named: Vec<String> =
                    groups.iter().take(5).map(|g| format!("\"{g}\"")).collect();
                if groups.len() > 5 {
                    named.push(format!("and {} more", groups.len() - 5));
                }
                write!(
                    f,
                    "class \"{class}\" is in {} group(s) ({}), which cannot give it images in {places}: \
                     each group stays whole and these groups also hold other classes (add groups with \
                     \"{class}\" images, choose fewer folds, or group by a finer key)",
                    groups.len(),
                    named.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for SplitError {}

/// Image counts of one class in each subset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitCounts {
    /// Class name.
    pub class: String,
    /// Training images.
    pub train: usize,
    /// Validation images.
    pub validation: usize,
    /// Test images.
    pub test: usize,
    /// Duplicates dropped.
    pub dropped: usize,
}

/// The subset of every sample of a [`Dataset`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// The configuration that made it.
    pub config: SplitConfig,
    /// One entry per sample, in sample (path) order.
    pub assignment: Vec<Subset>,
    /// Counts per class, in class order.
    pub counts: Vec<SplitCounts>,
    /// With a grouping key: groups per subset, the largest group, and what had no key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<GroupCounts>,
}

impl Split {
    /// The split the data came with: `assignment` gives each sample's subset.
    pub fn from_assignment(
        dataset: &Dataset,
        assignment: Vec<Subset>,
        config: &SplitConfig,
    ) -> Self {
        let mut counts: Vec<SplitCounts> = dataset
            .classes
            .iter()
            .map(|class| SplitCounts {
                class: class.clone(),
                ..Default::default()
            })
            .collect();
        for (sample, subset) in dataset.samples.iter().zip(&assignment) {
            let row = &mut counts[sample.label];
            match subset {
                Subset::Train => row.train += 1,
                Subset::Validation => row.validation += 1,
                Subset::Test => row.test += 1,
                Subset::Dropped => row.dropped += 1,
            }
        }
        Self {
            config: SplitConfig {
                from_file: true,
                ..config.clone()
            },
            assignment,
            counts,
            groups: None,
        }
    }

    /// Sample indices in `subset`, in path order.
    pub fn indices(&self, subset: Subset) -> Vec<usize> {
        self.assignment
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == subset)
            .map(|(i, _)| i)
            .collect()
    }

    /// Total images in `subset`.
    pub fn total(&self, subset: Subset) -> usize {
        self.assignment.iter().filter(|s| **s == subset).count()
    }
}

/// Stable 64-bit FNV-1a hash, used to give each class its own shuffle stream.
pub(super) fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Splits `dataset` per class. A group of byte-identical files always lands in one subset
/// (the subset of the class of its first file by path), so no test image has a twin in
/// training. Groups are put in a canonical order (by content hash) before the seeded shuffle,
/// so the result does not depend on the order in which files were listed.
pub fn split_dataset(dataset: &Dataset, config: &SplitConfig) -> Result<Split, SplitError> {
    if let Some(assignment) = &dataset.file_split
        && assignment.len() == dataset.len()
    {
        return Ok(Split::from_assignment(dataset, assignment.clone(), config));
    }
    let fractions = [config.train, config.validation, config.test];
    if fractions.iter().any(|f| !f.is_finite() || *f <= 0.0) {
        return Err(SplitError::InvalidFractions {
            detail: format!(
                "train {}, validation {}, test {}: each must be above 0",
                config.train, config.validation, config.test
            ),
        });
    }
    let sum: f64 = fractions.iter().sum();
    if (sum - 1.0).abs() > 1e-3 {
        return Err(SplitError::InvalidFractions {
            detail: format!("they sum to {sum:.3}, not 1"),
        });
    }
    if dataset.is_empty() {
        return Err(SplitError::Empty);
    }

    let (mut assignment, per_class) =
        class_groups(dataset, config.drop_duplicates, &config.group_by);
    let units: Vec<Vec<usize>> = per_class.iter().flatten().cloned().collect();
    if super::spread::any_mixed(&units, &dataset.labels()) {
        return split_mixed(dataset, config, assignment, &units);
    }

    let mut counts = Vec::with_capacity(dataset.classes.len());
    for (class, mut class_groups) in per_class.into_iter().enumerate() {
        let name = &dataset.classes[class];
        if class_groups.len() < 3 {
            return Err(SplitError::ClassTooSmall {
                class: name.clone(),
                distinct: class_groups.len(),
            });
        }
        // BTreeMap order is by hash already: canonical whatever the listing order.
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ fnv1a(name));
        class_groups.shuffle(&mut rng);
        let images: usize = class_groups.iter().map(Vec::len).sum();
        let target_test = ((images as f64 * config.test).round() as usize).max(1);
        let target_validation = ((images as f64 * config.validation).round() as usize).max(1);
        let mut row = SplitCounts {
            class: name.clone(),
            ..Default::default()
        };
        let last = class_groups.len() - 1;
        for (position, group) in class_groups.iter().enumerate() {
            // The last groups are kept for training if it would otherwise get nothing.
            let subset = if row.test < target_test && position < last - 1 {
                Subset::Test
            } else if row.validation < target_validation && position < last {
                Subset::Validation
            } else {
                Subset::Train
            };
            for &index in group {
                assignment[index] = subset;
            }
            match subset {
                Subset::Test => row.test += group.len(),
                Subset::Validation => row.validation += group.len(),
                _ => row.train += group.len(),
            }
        }
        row.dropped = dataset
            .samples
            .iter()
            .zip(&assignment)
            .filter(|(s, a)| s.label == class && **a == Subset::Dropped)
            .count();
        counts.push(row);
    }
    Ok(drawn(dataset, config, assignment, counts))
}

/// The split drawn here (whatever the settings said before about a file's own split), with
/// its group report.
fn drawn(
    dataset: &Dataset,
    config: &SplitConfig,
    assignment: Vec<Subset>,
    counts: Vec<SplitCounts>,
) -> Split {
    let groups = (config.group_by != GroupBy::None)
        .then(|| group_counts(dataset, &assignment, &config.group_by));
    Split {
        config: SplitConfig {
            from_file: false,
            ..config.clone()
        },
        assignment,
        counts,
        groups,
    }
}

/// [`split_dataset`] where some unit (a patient) holds images of several classes: units are
/// spread over the subsets as a whole ([`super::spread`]), every class as close to the
/// fractions as the units allow.
fn split_mixed(
    dataset: &Dataset,
    config: &SplitConfig,
    mut assignment: Vec<Subset>,
    units: &[Vec<usize>],
) -> Result<Split, SplitError> {
    const SUBSETS: [Subset; 3] = [Subset::Train, Subset::Validation, Subset::Test];
    let fractions = [config.train, config.validation, config.test];
    let bins = spread_whole_units(
        dataset,
        units,
        &fractions,
        config.seed,
        &config.group_by,
        "each of training, validation and test".into(),
    )?;
    for (unit, &bin) in units.iter().zip(&bins) {
        for &i in unit {
            assignment[i] = SUBSETS[bin];
        }
    }
    let counts = dataset
        .classes
        .iter()
        .enumerate()
        .map(|(class, name)| {
            let mut row = SplitCounts {
                class: name.clone(),
                ..Default::default()
            };
            for (sample, subset) in dataset.samples.iter().zip(&assignment) {
                if sample.label == class {
                    match subset {
                        Subset::Train => row.train += 1,
                        Subset::Validation => row.validation += 1,
                        Subset::Test => row.test += 1,
                        Subset::Dropped => row.dropped += 1,
                    }
                }
            }
            row
        })
        .collect();
    Ok(drawn(dataset, config, assignment, counts))
}

/// The bin of each unit (a subset or a fold, `fractions` their shares) when units hold images
/// of several classes ([`super::spread`]); if some class cannot have images in every bin, the
/// error names it and the groups that hold it (`places` says what the bins are).
pub(super) fn spread_whole_units(
    dataset: &Dataset,
    units: &[Vec<usize>],
    fractions: &[f64],
    seed: u64,
    group_by: &GroupBy,
    places: String,
) -> Result<Vec<usize>, SplitError> {
    let labels = dataset.labels();
    let classes = dataset.classes.len();
    let bins = super::spread::spread_units(units, &labels, classes, fractions, seed);
    let missing = super::spread::missing_bins(units, &bins, &labels, classes, fractions.len());
    match missing.into_iter().next() {
        None => Ok(bins),
        Some((class, holders)) => {
            let mut groups: Vec<String> = holders
                .iter()
                .map(|&u| unit_name(dataset, &units[u], group_by))
                .collect();
            groups.sort();
            Err(SplitError::GroupsCannotSpread {
                class: dataset.classes[class].clone(),
                groups,
                places,
            })
        }
    }
}

/// A unit as the user knows it: its group key, else its first file.
fn unit_name(dataset: &Dataset, unit: &[usize], group_by: &GroupBy) -> String {
    group_by
        .key_of(dataset, unit[0])
        .unwrap_or_else(|| dataset.samples[unit[0]].path.clone())
}

#[cfg(test)]
mod seed_tests {
    use super::{MAX_SEED, parse_seed};

    /// The largest seed a JavaScript number holds exactly is taken; one more, a negative or
    /// a fractional number is refused with the range named.
    #[test]
    fn a_seed_is_a_whole_number_below_2_to_the_53() {
        assert_eq!(parse_seed(" 42 "), Ok(42));
        assert_eq!(parse_seed("9007199254740991"), Ok(MAX_SEED));
        assert_eq!(MAX_SEED as f64 as u64, MAX_SEED);
        assert_ne!((MAX_SEED + 2) as f64 as u64, MAX_SEED + 2);
        for bad in ["9007199254740992", "-1", "1.5", "", "forty-two"] {
            let error = parse_seed(bad).unwrap_err();
            assert!(error.contains("2^53 - 1"), "{bad}: {error}");
        }
    }
}
