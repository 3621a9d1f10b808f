//! Patients with images in several classes (one patient, several findings) split as whole
//! patients: the reported folder case through the command, and the cross-validation folds'
//! class balance against scikit-learn's StratifiedGroupKFold on the same patients.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use medclassify::data::{GroupBy, InputShape, make_folds};
use medclassify::native::load_folder;

/// Writes `<class>/<patient>/<n>.png` for each (class, patient, images) and returns the root.
fn write_patients(name: &str, layout: &[(usize, usize, usize)]) -> std::path::PathBuf {
    let root = common::temp_dir(name);
    let mut serial = 0u32;
    for &(class, patient, images) in layout {
        let dir = root
            .join(format!("class{class}"))
            .join(format!("patient{patient:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for n in 0..images {
            // Every image distinct (identical files would be joined as duplicates).
            serial += 1;
            let image = image::GrayImage::from_fn(8, 8, |x, y| {
                image::Luma([((serial >> (x % 4 * 8)) as u8) ^ (y as u8 * 31) ^ (x as u8)])
            });
            image.save(dir.join(format!("{n}.png"))).unwrap();
        }
    }
    root
}

#[test]
fn one_patient_in_every_class_is_split_whole_and_every_class_is_in_every_subset() {
    // The reported case: 6 classes, 5 patients, 8 images each, patient folders under every
    // class; `--group-by folder:1` used to stop with "class ... has only 0 distinct images".
    let layout: Vec<(usize, usize, usize)> = (0..6)
        .flat_map(|c| (0..5).map(move |p| (c, p, 8)))
        .collect();
    let root = write_patients("mixed-patients", &layout);
    let (ok, stdout, stderr, _) = common::run_cli(&[
        "inspect",
        root.to_str().unwrap(),
        "--group-by",
        "folder:1",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let mut subsets_of_patient: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut subsets_of_class: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in report["manifest"].as_array().unwrap() {
        let path = row["path"].as_str().unwrap();
        let patient = path.split('/').nth(1).unwrap().to_string();
        let split = row["split"].as_str().unwrap().to_string();
        subsets_of_patient
            .entry(patient)
            .or_default()
            .insert(split.clone());
        subsets_of_class
            .entry(row["class"].as_str().unwrap().to_string())
            .or_default()
            .insert(split);
    }
    assert_eq!(subsets_of_patient.len(), 5);
    for (patient, subsets) in &subsets_of_patient {
        assert_eq!(subsets.len(), 1, "{patient} is in {subsets:?}");
    }
    for (class, subsets) in &subsets_of_class {
        assert_eq!(subsets.len(), 3, "{class} is only in {subsets:?}");
    }
}

#[test]
fn a_class_that_too_few_patients_hold_is_named_with_its_patients() {
    // class1 only in patients 0 and 1, who also hold class0: no third subset for class1.
    let mut layout: Vec<(usize, usize, usize)> = (0..10).map(|p| (0, p, 4)).collect();
    layout.extend([(1, 0, 4), (1, 1, 4)]);
    let root = write_patients("mixed-too-few", &layout);
    // `inspect` reports the data and says why it cannot be split.
    let (ok, stdout, stderr, _) =
        common::run_cli(&["inspect", root.to_str().unwrap(), "--group-by", "folder:1"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("split: class \"class1\" is in 2 group(s) (\"patient00\", \"patient01\"), which cannot give it images in each of training, validation and test"),
        "{stdout}"
    );
}

/// Mean over classes of the standard deviation over folds of the class's share in each fold:
/// 0 when every fold holds each class in equal parts (the quantity StratifiedGroupKFold
/// minimises).
fn imbalance(fold_of: &[usize], labels: &[usize], k: usize, classes: usize) -> f64 {
    let mut total = 0.0;
    for c in 0..classes {
        let n = labels.iter().filter(|&&l| l == c).count() as f64;
        let shares: Vec<f64> = (0..k)
            .map(|f| {
                fold_of
                    .iter()
                    .zip(labels)
                    .filter(|&(&g, &l)| g == f && l == c)
                    .count() as f64
                    / n
            })
            .collect();
        let mean = shares.iter().sum::<f64>() / k as f64;
        total += (shares.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / k as f64).sqrt();
    }
    total / classes as f64
}

#[test]
fn folds_of_mixed_patients_are_as_balanced_as_scikit_learns() {
    // 40 patients, each with images of a seeded random set of 4 classes, seeded counts.
    let mut state = 12345u64;
    let mut next = |m: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % m
    };
    let mut layout = Vec::new();
    for patient in 0..40 {
        for class in 0..4 {
            if next(3) > 0 {
                layout.push((class, patient, 1 + next(6) as usize));
            }
        }
    }
    let root = write_patients("mixed-folds", &layout);
    let (dataset, _) = load_folder(&root, InputShape::square(16), 1).unwrap();
    let k = 5;
    let folds = make_folds(&dataset, k, 42, false, &GroupBy::parse("folder:1").unwrap()).unwrap();
    let labels = dataset.labels();
    let patient = |i: usize| {
        dataset.samples[i]
            .path
            .split('/')
            .nth(1)
            .unwrap()
            .to_string()
    };
    let fold_of: Vec<usize> = (0..dataset.len())
        .map(|i| folds.fold_of[i].unwrap())
        .collect();
    for i in 0..dataset.len() {
        for j in 0..dataset.len() {
            if patient(i) == patient(j) {
                assert_eq!(fold_of[i], fold_of[j], "a patient in two folds");
            }
        }
    }
    let ours = imbalance(&fold_of, &labels, k, 4);

    let Some(python) = common::python(&["sklearn", "numpy"]) else {
        return;
    };
    let groups: Vec<String> = (0..dataset.len()).map(patient).collect();
    let script = "import json, sys, numpy as np\n\
from sklearn.model_selection import StratifiedGroupKFold\n\
d = json.load(sys.stdin); y = np.array(d['labels']); g = np.array(d['groups'])\n\
fold = np.zeros(len(y), int)\n\
for f, (_, test) in enumerate(StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0).split(np.zeros(len(y)), y, g)):\n    fold[test] = f\n\
print(json.dumps(fold.tolist()))\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            serde_json::json!({ "labels": labels, "groups": groups })
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let theirs_folds: Vec<usize> = serde_json::from_slice(&out.stdout).unwrap();
    let theirs = imbalance(&theirs_folds, &labels, k, 4);
    println!(
        "class imbalance over 5 folds: MedClassify {ours:.4}, scikit-learn StratifiedGroupKFold {theirs:.4}"
    );
    assert!(
        ours <= theirs * 1.25 + 0.005,
        "ours {ours:.4} vs scikit-learn {theirs:.4}"
    );
}
