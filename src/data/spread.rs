//! Units that hold images of several classes (one patient with several findings) spread over
//! bins: the split's training, validation and test sets, or the cross-validation folds.
//!
//! A unit cannot belong to one class then, so the per-class split does not apply. As
//! scikit-learn's `StratifiedGroupKFold` does, every unit goes whole to one bin, chosen
//! greedily so that each class's count in each bin comes as close to its target (the bin's
//! fraction of the class) as the units allow; larger units go first, ties in a seeded order.
//! Where a class still misses a bin, [`missing_bins`] says which class and which units.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// The bin of each unit (`fractions`: each bin's share, summing to 1).
pub(super) fn spread_units(
    units: &[Vec<usize>],
    labels: &[usize],
    classes: usize,
    fractions: &[f64],
    seed: u64,
) -> Vec<usize> {
    let counts: Vec<Vec<f64>> = units
        .iter()
        .map(|unit| {
            let mut c = vec![0.0; classes];
            unit.iter().for_each(|&i| c[labels[i]] += 1.0);
            c
        })
        .collect();
    let totals: Vec<f64> = (0..classes)
        .map(|c| counts.iter().map(|u| u[c]).sum())
        .collect();
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    order.sort_by_key(|&u| std::cmp::Reverse(units[u].len()));
    let mut filled = vec![vec![0.0; classes]; fractions.len()];
    let mut bin_of = vec![0; units.len()];
    for u in order {
        // The growth of sum((filled - target)^2 / target) if the unit went to `bin`.
        let growth = |bin: usize| -> f64 {
            (0..classes)
                .filter(|&c| totals[c] > 0.0 && counts[u][c] > 0.0)
                .map(|c| {
                    let target = totals[c] * fractions[bin];
                    let g = counts[u][c];
                    g * (2.0 * (filled[bin][c] - target) + g) / target.max(1e-9)
                })
                .sum()
        };
        let bin = (0..fractions.len())
            .min_by(|&a, &b| growth(a).total_cmp(&growth(b)))
            .unwrap_or(0);
        for c in 0..classes {
            filled[bin][c] += counts[u][c];
        }
        bin_of[u] = bin;
    }
    bin_of
}

/// For each class that is missing from some bin: the class and the units that hold it.
pub(super) fn missing_bins(
    units: &[Vec<usize>],
    bin_of: &[usize],
    labels: &[usize],
    classes: usize,
    bins: usize,
) -> Vec<(usize, Vec<usize>)> {
    let mut present = vec![vec![false; bins]; classes];
    let mut holders = vec![Vec::new(); classes];
    for (u, unit) in units.iter().enumerate() {
        for &i in unit {
            present[labels[i]][bin_of[u]] = true;
            if holders[labels[i]].last() != Some(&u) {
                holders[labels[i]].push(u);
            }
        }
    }
    (0..classes)
        .filter(|&c| present[c].iter().any(|p| !p))
        .map(|c| (c, std::mem::take(&mut holders[c])))
        .collect()
}

/// Whether any unit holds images of more than one class.
pub(super) fn any_mixed(units: &[Vec<usize>], labels: &[usize]) -> bool {
    units
        .iter()
        .any(|unit| unit.iter().any(|&i| labels[i] != labels[unit[0]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `patients` units, each with `per_class` images of every one of `classes` classes.
    fn patients(
        patients: usize,
        classes: usize,
        per_class: usize,
    ) -> (Vec<Vec<usize>>, Vec<usize>) {
        let mut labels = Vec::new();
        let units = (0..patients)
            .map(|_| {
                (0..classes * per_class)
                    .map(|k| {
                        labels.push(k / per_class);
                        labels.len() - 1
                    })
                    .collect()
            })
            .collect();
        (units, labels)
    }

    #[test]
    fn five_patients_with_every_class_fill_train_validation_and_test() {
        // The reported case: 6 classes, 5 patients, 8 images each per class.
        let (units, labels) = patients(5, 6, 8);
        assert!(any_mixed(&units, &labels));
        let bins = spread_units(&units, &labels, 6, &[0.7, 0.15, 0.15], 42);
        let mut per_bin = [0; 3];
        bins.iter().for_each(|&b| per_bin[b] += 1);
        assert_eq!(per_bin, [3, 1, 1]);
        assert!(missing_bins(&units, &bins, &labels, 6, 3).is_empty());
    }

    #[test]
    fn a_class_held_by_too_few_units_is_named_with_them() {
        // Class 1 only in the first two of ten units: it cannot be in three bins.
        let mut labels = Vec::new();
        let units: Vec<Vec<usize>> = (0..10)
            .map(|u| {
                let mut unit = Vec::new();
                for class in [0, 1] {
                    if class == 0 || u < 2 {
                        labels.push(class);
                        unit.push(labels.len() - 1);
                    }
                }
                unit
            })
            .collect();
        let bins = spread_units(&units, &labels, 2, &[0.7, 0.15, 0.15], 1);
        let missing = missing_bins(&units, &bins, &labels, 2, 3);
        assert_eq!(missing, vec![(1, vec![0, 1])]);
    }
}
