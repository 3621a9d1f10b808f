use super::*;
use crate::data::{Sample, SplitConfig, make_folds, split_dataset};
use std::collections::BTreeSet;

/// Two classes, `patients` patients each with `images` images, `class/p<NN>/<i>.png`; every
/// image distinct.
fn patients(patients: usize, images: usize) -> Dataset {
    let mut samples = Vec::new();
    for (label, class) in ["a", "b"].iter().enumerate() {
        for p in 0..patients {
            for i in 0..images {
                let mut sha256 = [0u8; 32];
                sha256[..8].copy_from_slice(&(samples.len() as u64 * 7919).to_le_bytes());
                samples.push(Sample {
                    path: format!("{class}/p{label}{p:02}/{i}.png"),
                    label,
                    sha256,
                    slot: samples.len(),
                });
            }
        }
    }
    Dataset {
        classes: vec!["a".into(), "b".into()],
        samples,
        ..Default::default()
    }
}

fn patient_subsets(data: &Dataset, assignment: &[Subset]) -> BTreeMap<String, Vec<Subset>> {
    let mut seen: BTreeMap<String, Vec<Subset>> = BTreeMap::new();
    for (sample, subset) in data.samples.iter().zip(assignment) {
        let patient = sample.path.split('/').nth(1).unwrap().to_string();
        let subsets = seen.entry(patient).or_default();
        if !subsets.contains(subset) {
            subsets.push(*subset);
        }
    }
    seen
}

#[test]
fn keys_come_from_a_folder_level_or_a_file_name_prefix() {
    let folder = GroupBy::Folder { level: 1 };
    assert_eq!(
        folder.key("CT/patient7/slice3.dcm").as_deref(),
        Some("patient7")
    );
    assert_eq!(folder.key("CT/slice3.dcm"), None);
    let prefix = GroupBy::FilePrefix { separator: '_' };
    assert_eq!(prefix.key("CT/p0042_3.png").as_deref(), Some("p0042"));
    assert_eq!(prefix.key("CT/p0042.png"), None);
    assert_eq!(prefix.key("CT/_3.png"), None);
    assert_eq!(GroupBy::None.key("CT/p/x.png"), None);
    for text in ["none", "folder:1", "prefix:_", "prefix:-"] {
        assert_eq!(GroupBy::parse(text).unwrap().name(), text);
    }
    assert!(GroupBy::parse("folder:x").is_err() && GroupBy::parse("prefix:ab").is_err());
    assert_eq!(GroupBy::parse("dicom:patient"), Ok(GroupBy::DicomPatient));
    // A DICOM key comes from the sample's tags, not its path.
    let mut data = patients(1, 2);
    data.dicom_ids = vec![(Some("P7".into()), None); data.len()];
    assert_eq!(
        GroupBy::DicomPatient.key_of(&data, 0).as_deref(),
        Some("P7")
    );
    assert_eq!(GroupBy::DicomStudy.key_of(&data, 0), None);
    assert_eq!(GroupBy::DicomPatient.key(&data.samples[0].path), None);
}

#[test]
fn a_grouped_split_keeps_every_patient_in_one_subset() {
    let data = patients(20, 4);
    // The positive control: without the key, patients straddle subsets.
    let plain = split_dataset(&data, &SplitConfig::default()).unwrap();
    let straddling = patient_subsets(&data, &plain.assignment)
        .values()
        .filter(|s| s.len() > 1)
        .count();
    assert!(
        straddling > 5,
        "an ungrouped split splits patients: {straddling}"
    );

    let config = SplitConfig {
        group_by: GroupBy::Folder { level: 1 },
        ..SplitConfig::default()
    };
    let grouped = split_dataset(&data, &config).unwrap();
    let per_patient = patient_subsets(&data, &grouped.assignment);
    assert!(
        per_patient.values().all(|s| s.len() == 1),
        "{per_patient:?}"
    );
    // 20 patients of 4 images per class: 70/15/15 % of 80 images is 56/12/12, i.e. 3
    // patients (12 images) each for validation and test, 14 for training.
    for row in &grouped.counts {
        assert_eq!(
            (row.train, row.validation, row.test),
            (56, 12, 12),
            "{row:?}"
        );
    }
    let groups = grouped.groups.as_ref().unwrap();
    assert_eq!(groups.per_subset, [28, 6, 6]);
    assert_eq!(groups.largest.1, 4);
    assert_eq!((groups.without_key, groups.mixed_labels), (0, 0));
    // Reproducible, and independent of the listing order.
    let mut reversed = data.clone();
    reversed.samples.reverse();
    let again = split_dataset(&reversed, &config).unwrap();
    for (i, sample) in data.samples.iter().enumerate() {
        let j = reversed
            .samples
            .iter()
            .position(|s| s.path == sample.path)
            .unwrap();
        assert_eq!(grouped.assignment[i], again.assignment[j]);
    }
}

#[test]
fn a_patient_with_two_labels_stays_whole_and_is_reported() {
    let mut data = patients(10, 3);
    // Patient a/p001 also has an image in class b's folder tree under the same key.
    data.samples[0].label = 1;
    let config = SplitConfig {
        group_by: GroupBy::FilePrefix { separator: '/' },
        ..SplitConfig::default()
    };
    // A separator that never occurs in a file name: no image has a key.
    let split = split_dataset(&data, &config).unwrap();
    assert_eq!(split.groups.as_ref().unwrap().without_key, 60);
    let config = SplitConfig {
        group_by: GroupBy::Folder { level: 1 },
        ..SplitConfig::default()
    };
    let split = split_dataset(&data, &config).unwrap();
    assert_eq!(split.groups.as_ref().unwrap().mixed_labels, 1);
    let per_patient = patient_subsets(&data, &split.assignment);
    assert_eq!(per_patient["p000"].len(), 1);
}

#[test]
fn cross_validation_folds_keep_patients_together() {
    let data = patients(15, 3);
    let folds = make_folds(&data, 5, 9, false, &GroupBy::Folder { level: 1 }).unwrap();
    let mut fold_of_patient: BTreeMap<String, usize> = BTreeMap::new();
    for (sample, fold) in data.samples.iter().zip(&folds.fold_of) {
        let patient = sample.path.split('/').nth(1).unwrap().to_string();
        let fold = fold.unwrap();
        assert_eq!(*fold_of_patient.entry(patient).or_insert(fold), fold);
    }
    assert_eq!(folds.sizes(), vec![18; 5]);
}

#[test]
fn the_frames_of_one_file_stay_in_one_subset_and_fold() {
    // 20 files per class of 5 frames each: patient folder `class/pNN` becomes the multi-frame
    // file `class/pNN.dcm`, its images its frames, named as the builder names frames.
    let loose = patients(20, 5);
    let mut data = loose.clone();
    for sample in &mut data.samples {
        let (file, image) = sample.path.rsplit_once('/').unwrap();
        let frame: usize = image.trim_end_matches(".png").parse().unwrap();
        sample.path = crate::data::frame_path(&format!("{file}.dcm"), frame);
    }
    fn per_file<T: Ord + Copy>(data: &Dataset, of: &[T]) -> BTreeMap<String, BTreeSet<T>> {
        let mut seen: BTreeMap<String, BTreeSet<T>> = BTreeMap::new();
        for (sample, value) in data.samples.iter().zip(of) {
            let file = crate::data::frame_source(&sample.path).unwrap_or(&sample.path);
            seen.entry(file.to_string()).or_default().insert(*value);
        }
        seen
    }
    let split = split_dataset(&data, &SplitConfig::default()).unwrap();
    let subsets = per_file(&data, &split.assignment);
    assert!(
        subsets.len() == 40 && subsets.values().all(|s| s.len() == 1),
        "{subsets:?}"
    );
    let folds = make_folds(&data, 5, 42, false, &GroupBy::None).unwrap();
    let folds = per_file(&data, &folds.fold_of);
    assert!(
        folds.len() == 40 && folds.values().all(|f| f.len() == 1),
        "{folds:?}"
    );
    // The positive control: the same images as separate files in patient folders straddle.
    let plain = split_dataset(&loose, &SplitConfig::default()).unwrap();
    let straddling = patient_subsets(&loose, &plain.assignment)
        .values()
        .filter(|s| s.len() > 1)
        .count();
    assert!(straddling > 5, "{straddling}");
}
