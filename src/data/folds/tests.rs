use super::*;
use crate::data::{Dataset, GroupBy, Sample};

/// `per_class` samples per class; `twins` of them per class share their bytes (pairs).
fn dataset(per_class: &[usize], twins: usize) -> Dataset {
    let mut samples = Vec::new();
    for (label, &n) in per_class.iter().enumerate() {
        for i in 0..n {
            let mut sha256 = [0u8; 32];
            // Pairs (0,1), (2,3), ... up to `twins` images share a hash.
            let key = if i < twins { i / 2 } else { i };
            sha256[..8].copy_from_slice(&(key as u64).to_le_bytes());
            sha256[8] = label as u8;
            samples.push(Sample {
                path: format!("c{label}/{i:04}.png"),
                label,
                sha256,
                slot: samples.len(),
            });
        }
    }
    Dataset {
        classes: (0..per_class.len()).map(|c| format!("c{c}")).collect(),
        samples,
        ..Default::default()
    }
}

#[test]
fn every_image_is_held_out_exactly_once() {
    let data = dataset(&[53, 17, 90], 0);
    let folds = make_folds(&data, 5, 7, false, &GroupBy::None).unwrap();
    let mut held_out = vec![0usize; data.len()];
    for fold in 0..5 {
        let split = folds.split(&data, fold);
        for i in split.indices(Subset::Test) {
            held_out[i] += 1;
        }
        // Validation is the next fold, disjoint from the held-out one; training is the rest.
        let validation = split.indices(Subset::Validation);
        assert!(
            validation
                .iter()
                .all(|&i| folds.fold_of[i] == Some((fold + 1) % 5))
        );
        assert_eq!(
            split.total(Subset::Train) + validation.len() + split.total(Subset::Test),
            data.len()
        );
    }
    assert!(held_out.iter().all(|&n| n == 1), "{held_out:?}");
}

#[test]
fn folds_are_stratified() {
    let data = dataset(&[53, 17, 90], 0);
    let folds = make_folds(&data, 5, 7, false, &GroupBy::None).unwrap();
    for (label, &n) in [53usize, 17, 90].iter().enumerate() {
        let mut per_fold = vec![0usize; 5];
        for (sample, fold) in data.samples.iter().zip(&folds.fold_of) {
            if sample.label == label {
                per_fold[fold.unwrap()] += 1;
            }
        }
        let (lo, hi) = (n / 5, n.div_ceil(5));
        assert!(
            per_fold.iter().all(|&c| c >= lo && c <= hi),
            "class {label}: {per_fold:?}"
        );
    }
    let sizes = folds.sizes();
    assert!(
        sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 2,
        "{sizes:?}"
    );
}

#[test]
fn duplicate_groups_stay_in_one_fold() {
    let data = dataset(&[40, 40], 20);
    let folds = make_folds(&data, 4, 1, false, &GroupBy::None).unwrap();
    for pair in data.samples.chunks(2).take(10) {
        let a = data
            .samples
            .iter()
            .position(|s| s.path == pair[0].path)
            .unwrap();
        assert_eq!(
            folds.fold_of[a],
            folds.fold_of[a + 1],
            "{} and its twin",
            pair[0].path
        );
    }
    // Dropping duplicates removes one of each pair from every fold.
    let dropped = make_folds(&data, 4, 1, true, &GroupBy::None).unwrap();
    assert_eq!(dropped.fold_of.iter().filter(|f| f.is_none()).count(), 20);
}

#[test]
fn folds_depend_on_the_seed_not_on_the_listing_order() {
    let data = dataset(&[30, 30], 0);
    let a = make_folds(&data, 5, 3, false, &GroupBy::None).unwrap();
    let mut reversed = data.clone();
    reversed.samples.reverse();
    let b = make_folds(&reversed, 5, 3, false, &GroupBy::None).unwrap();
    for (i, sample) in data.samples.iter().enumerate() {
        let j = reversed
            .samples
            .iter()
            .position(|s| s.path == sample.path)
            .unwrap();
        assert_eq!(a.fold_of[i], b.fold_of[j]);
    }
    assert_ne!(a, make_folds(&data, 5, 4, false, &GroupBy::None).unwrap());
}

#[test]
fn too_few_images_or_folds_are_refused() {
    let data = dataset(&[30, 4], 0);
    let error = make_folds(&data, 5, 3, false, &GroupBy::None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("c1") && error.contains("5 folds"), "{error}");
    let error = make_folds(&data, 2, 3, false, &GroupBy::None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("3 to 20"), "{error}");
}
