#![cfg(not(target_arch = "wasm32"))]
//! The `medclassify` command, run as a user would.

mod common;

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma};

fn medclassify(args: &[&str]) -> (bool, String, String) {
    let (ok, stdout, stderr, _) = common::run_cli(args);
    (ok, stdout, stderr)
}

/// `train SOURCE OPTIONS --backend cpu --out OUT --json`, its report (panics when it fails).
fn train_json(
    source: &std::path::Path,
    out: &std::path::Path,
    options: &[&str],
) -> serde_json::Value {
    let (source, out) = (source.to_str().unwrap(), out.to_str().unwrap());
    let args = [
        &["train", source][..],
        options,
        &["--backend", "cpu", "--out", out, "--json"],
    ]
    .concat();
    let (ok, stdout, stderr) = medclassify(&args);
    assert!(ok, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// `predict`'s right answers with `model` on the test split of `source` (the split rebuilt by
/// `inspect` with the default seed), and that split's size: a count independent of `train`'s
/// own report.
fn counted_on_test_split(model: &std::path::Path, source: &std::path::Path) -> (usize, usize) {
    let (ok, report, stderr) = medclassify(&["inspect", source.to_str().unwrap(), "--json"]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    common::test_split_accuracy(model, source, &report)
}

/// One metric of every epoch in a `train --json` report's history (panics where one is
/// missing).
fn per_epoch(report: &serde_json::Value, key: &str) -> Vec<f64> {
    report["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{key} missing: {e}"))
        })
        .collect()
}

#[test]
fn inspect_prints_the_report_as_json() {
    let dir = common::temp_dir("cli-inspect");
    common::copy_fixture(&dir);
    std::fs::write(dir.join("CXR/broken.jpeg"), b"\xFF\xD8\xFF\xE0 not really").unwrap();
    std::fs::write(dir.join("notes.txt"), b"x").unwrap();
    let (ok, stdout, stderr) = medclassify(&[
        "inspect",
        dir.to_str().unwrap(),
        "--size",
        "28",
        "--seed",
        "9",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["image_size"], 28);
    assert_eq!(json["images"], 247);
    assert_eq!(json["classes"].as_array().unwrap().len(), 6);
    assert_eq!(json["duplicate_groups"].as_array().unwrap().len(), 3);
    let skipped: Vec<(String, String)> = json["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["reason"]["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        skipped.contains(&("CXR/broken.jpeg".into(), "truncated".into()))
            || skipped.contains(&("CXR/broken.jpeg".into(), "corrupt".into())),
        "{skipped:?}"
    );
    assert!(skipped.contains(&("notes.txt".into(), "outside_class_folder".into())));
    let manifest = json["manifest"].as_array().unwrap();
    assert_eq!(manifest.len(), 247);
    let row = &manifest[0];
    assert!(
        row["path"].as_str().unwrap().starts_with("AbdomenCT/")
            && row["sha256"].as_str().unwrap().len() == 64
    );
    assert_eq!(json["split"].as_array().unwrap().len(), 6);
    assert_eq!(json["split_config"]["seed"], 9);
}

#[test]
fn train_evaluate_predict_and_card() {
    let dir = common::temp_dir("cli-train");
    let model = dir.join("fixture.mcmodel");
    let fixture = common::fixture();
    let (ok, stdout, stderr) = medclassify(&[
        "train",
        fixture.to_str().unwrap(),
        "--epochs",
        "3",
        "--batch",
        "32",
        "--backend",
        "cpu",
        "--out",
        model.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["history"].as_array().unwrap().len(), 3);
    // The accuracy counted here from `predict` on the test split's files (the split rebuilt
    // by `inspect` with the same seed), not read from the command's own report; the report
    // must agree with the count.
    let (correct, total) = counted_on_test_split(&model, &fixture);
    let reported = json["test"]["accuracy"].as_f64().unwrap();
    assert!(
        (reported - correct as f64 / total as f64).abs() < 1e-9,
        "reported {reported}, counted {correct}/{total}"
    );
    // Three epochs of the seed network on 175 images: measured 34 to 36 of 36 right; six
    // classes give one in six by guessing.
    assert!(
        correct * 10 >= total * 8,
        "{correct} of {total} test images right"
    );
    assert!(
        json["callback_events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["callback"] == "ModelCheckpoint")
    );
    assert!(model.exists() && dir.join("fixture.best.mcmodel").exists());

    let (ok, stdout, stderr) = medclassify(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        fixture.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["images"], 247);
    assert_eq!(json["evaluation"]["confusion"].as_array().unwrap().len(), 6);
    // The weighted metrics beside the plain ones, recomputed here from the confusion matrix:
    // balanced accuracy is the mean recall; weighted F1 weighs each class's F1 by its support.
    let confusion: Vec<Vec<f64>> = json["evaluation"]["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect();
    let recall: Vec<f64> = (0..6)
        .map(|c| confusion[c][c] / confusion[c].iter().sum::<f64>())
        .collect();
    let balanced = recall.iter().sum::<f64>() / 6.0;
    assert!((json["balanced_accuracy"].as_f64().unwrap() - balanced).abs() < 1e-12);
    let f1: Vec<f64> = (0..6)
        .map(|c| {
            let predicted: f64 = (0..6).map(|t| confusion[t][c]).sum();
            let (p, r) = (confusion[c][c] / predicted.max(1.0), recall[c]);
            if p + r == 0.0 {
                0.0
            } else {
                2.0 * p * r / (p + r)
            }
        })
        .collect();
    let support: Vec<f64> = confusion.iter().map(|row| row.iter().sum()).collect();
    let weighted =
        f1.iter().zip(&support).map(|(f, s)| f * s).sum::<f64>() / support.iter().sum::<f64>();
    assert!((json["weighted_f1"].as_f64().unwrap() - weighted).abs() < 1e-12);

    let bad = dir.join("bad.png");
    std::fs::write(&bad, b"not a png").unwrap();
    let gray = dir.join("gray.png");
    std::fs::write(
        &gray,
        common::encode(
            &DynamicImage::ImageLuma8(ImageBuffer::from_pixel(64, 64, Luma([90]))),
            ImageFormat::Png,
        ),
    )
    .unwrap();
    let hand = std::fs::read_dir(fixture.join("Hand"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let (ok, stdout, stderr) = medclassify(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        hand.to_str().unwrap(),
        bad.to_str().unwrap(),
        gray.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .any(|r| r["path"].as_str().unwrap().ends_with("bad.png")
                && r["error"].as_str().unwrap().contains("not an image"))
    );
    assert_eq!(rows.iter().filter(|r| r.get("class").is_some()).count(), 2);
    // The hand radiograph is classified as one (it is a training image of this model).
    let hand_row = rows
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with(".jpeg"))
        .unwrap();
    assert_eq!(hand_row["class"], "Hand", "{hand_row}");

    let (ok, stdout, _) = medclassify(&["card", "--model", model.to_str().unwrap()]);
    assert!(ok);
    for needle in [
        "# Model card",
        "## Intended use",
        "## Data",
        "Split manifest SHA-256",
        "## Test results",
        "as recorded in the model file",
        "## Calibration",
        "ModelCheckpoint",
    ] {
        assert!(stdout.contains(needle), "card lacks {needle}:\n{stdout}");
    }
    let (ok, stdout, _) = medclassify(&["card", "--model", model.to_str().unwrap(), "--json"]);
    assert!(ok);
    let card: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(card["model"]["classes"].as_array().unwrap().len(), 6);
    assert!(
        card["model"]["data"]["manifest_sha256"]
            .as_str()
            .unwrap()
            .len()
            == 64
    );

    // --explain: each classified row carries the heatmap of its own top class, and its picture.
    // The same file name from two folders gets two pictures; the unreadable file none.
    let twin = dir.join("twin");
    std::fs::create_dir_all(&twin).unwrap();
    let hand_twin = twin.join(hand.file_name().unwrap());
    std::fs::copy(&hand, &hand_twin).unwrap();
    let heatmaps = dir.join("heatmaps");
    let explained = |method: &str| {
        let (ok, stdout, stderr) = medclassify(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            hand.to_str().unwrap(),
            hand_twin.to_str().unwrap(),
            bad.to_str().unwrap(),
            "--explain",
            method,
            "--heatmaps",
            heatmaps.to_str().unwrap(),
            "--json",
        ]);
        assert!(ok, "{stderr}");
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()
    };
    let classes: Vec<String> = card["model"]["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let mut maps = Vec::new();
    for (method, key) in [("grad-cam", "grad_cam"), ("saliency", "saliency")] {
        let json = explained(method);
        let rows = json.as_array().unwrap();
        assert!(rows[0].get("error").is_some() && rows[0].get("heatmap").is_none());
        let files: Vec<&str> = rows[1..]
            .iter()
            .map(|r| r["heatmap_file"].as_str().unwrap())
            .collect();
        assert!(files[0] != files[1] && files[0].ends_with(&format!(".{method}.png")));
        for row in &rows[1..] {
            let heatmap = &row["heatmap"];
            assert_eq!(heatmap["method"], key);
            assert_eq!(
                classes[heatmap["class"].as_u64().unwrap() as usize],
                row["class"]
            );
            let values: Vec<f64> = serde_json::from_value(heatmap["values"].clone()).unwrap();
            assert_eq!(
                (heatmap["size"].as_u64(), values.len()),
                (Some(32), 32 * 32)
            );
            let (low, high) = values
                .iter()
                .fold((1.0f64, 0.0f64), |(l, h), v| (l.min(*v), h.max(*v)));
            assert!(low >= 0.0 && high == 1.0, "{method}: values {low}..{high}");
            // The picture: 32 px scaled by 8, yellow over the hottest cell, blue over the
            // coldest (the page's colour map runs from dark blue to yellow).
            let picture = image::open(row["heatmap_file"].as_str().unwrap())
                .unwrap()
                .to_rgb8();
            assert_eq!(picture.dimensions(), (256, 256));
            let at = |i: usize| {
                picture
                    .get_pixel((i % 32) as u32 * 8 + 4, (i / 32) as u32 * 8 + 4)
                    .0
            };
            let position = |target: f64| values.iter().position(|v| *v == target).unwrap();
            let ([r, g, b], [r0, g0, b0]) = (at(position(high)), at(position(low)));
            let yellowness = |r: u8, g: u8, b: u8| i32::from(r) + i32::from(g) - 2 * i32::from(b);
            assert!(
                yellowness(r, g, b) > yellowness(r0, g0, b0) + 100,
                "{method}: {:?} vs {:?}",
                [r, g, b],
                [r0, g0, b0]
            );
        }
        maps.push(rows[1]["heatmap"]["values"].clone());
    }
    // Saliency is another map of the same image (per pixel, not per convolution cell).
    assert_ne!(maps[0], maps[1]);
    // Heatmaps go somewhere: --json or --heatmaps.
    let (ok, _, stderr) = medclassify(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        hand.to_str().unwrap(),
        "--explain",
        "saliency",
    ]);
    assert!(!ok && stderr.contains("--heatmaps DIR"), "{stderr}");
    let (ok, _, stderr) = medclassify(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        hand.to_str().unwrap(),
        "--heatmaps",
        "x",
    ]);
    assert!(!ok && stderr.contains("--explain"), "{stderr}");
}

#[test]
fn bad_arguments_get_clear_messages() {
    let (ok, _, stderr) = medclassify(&["inspect", "/nonexistent/folder"]);
    assert!(!ok && stderr.contains("is not a folder"), "{stderr}");
    let (ok, _, stderr) = medclassify(&[
        "inspect",
        common::fixture().to_str().unwrap(),
        "--size",
        "33",
    ]);
    assert!(!ok && stderr.contains("not offered"), "{stderr}");
    let (ok, _, stderr) = medclassify(&["card", "--model", "Cargo.toml"]);
    assert!(
        !ok && stderr.contains("not a MedClassify model file"),
        "{stderr}"
    );
    // A seed the page could not carry exactly (2^53) is refused, the range named.
    let folder = common::fixture();
    let folder = folder.to_str().unwrap();
    let (ok, _, stderr) = medclassify(&["inspect", folder, "--seed", "9007199254740992"]);
    assert!(!ok && stderr.contains("0 to 2^53 - 1"), "{stderr}");
    let (ok, _, stderr) = medclassify(&["inspect", folder, "--seed", "9007199254740991"]);
    assert!(ok, "{stderr}");
    // Options a run would ignore are refused before anything loads, the reason named; the
    // same options where they apply pass that check (--estimate stops before training).
    for (options, refused) in [
        (
            &["--preset", "seed", "--adapt-norm"][..],
            Some("--adapt-norm"),
        ),
        (
            &[
                "--preset",
                "efficientnet_lite0",
                "--transfer",
                "top",
                "--adapt-norm",
            ],
            Some("--adapt-norm"),
        ),
        (
            &["--preset", "efficientnet_lite0", "--head-first"],
            Some("--head-first"),
        ),
        (
            &["--preset", "strong", "--transfer", "all", "--head-first"],
            Some("--head-first"),
        ),
        (
            &[
                "--preset",
                "efficientnet_lite0",
                "--transfer",
                "all",
                "--adapt-norm",
                "--head-first",
            ],
            None,
        ),
        // The head alone on the features of the fitted statistics (`--transfer head`, the
        // default).
        (&["--preset", "efficientnet_lite0", "--adapt-norm"], None),
    ] {
        let mut args = vec!["train", "/nonexistent/folder", "--estimate"];
        args.extend_from_slice(options);
        let (ok, _, stderr) = medclassify(&args);
        match refused {
            Some(option) => assert!(
                !ok && stderr.contains(&format!("{option} ")) && stderr.contains("needs"),
                "{options:?}: {stderr}"
            ),
            // Past the options, the missing folder is what stops it.
            None => assert!(
                !ok && stderr.contains("not a folder"),
                "{options:?}: {stderr}"
            ),
        }
    }
}

/// `export` writes the decoded images and their split to one `.mcdata` file; `inspect` and
/// `train` on that file give what they give on the folder (same images, classes, duplicate
/// groups, split and manifest; the same seeded training history).
#[test]
fn export_round_trips_and_mcdata_gives_the_folders_results() {
    let dir = common::temp_dir("cli-export");
    let fixture = common::fixture();
    let data = dir.join("fixture.mcdata");
    let (ok, _, stderr) = medclassify(&[
        "export",
        fixture.to_str().unwrap(),
        "--size",
        "28",
        "--out",
        data.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let inspect = |source: &std::path::Path| {
        let (ok, stdout, stderr) = medclassify(&[
            "inspect",
            source.to_str().unwrap(),
            "--size",
            "28",
            "--json",
        ]);
        assert!(ok, "{stderr}");
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()
    };
    let (folder, file) = (inspect(&fixture), inspect(&data));
    for key in [
        "images",
        "classes",
        "duplicate_groups",
        "redundant_files",
        "split",
        "manifest",
        "manifest_sha256",
    ] {
        assert_eq!(folder[key], file[key], "{key}");
    }
    assert_eq!(folder["images"], 247);

    let train = |source: &std::path::Path, out: &str| {
        let out = dir.join(out);
        let (ok, stdout, stderr) = medclassify(&[
            "train",
            source.to_str().unwrap(),
            "--size",
            "28",
            "--epochs",
            "2",
            "--batch",
            "32",
            "--backend",
            "cpu",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ]);
        assert!(ok, "{stderr}");
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        (
            per_epoch(&json, "loss"),
            json["test"]["accuracy"].as_f64().unwrap(),
        )
    };
    let (from_folder, from_file) = (train(&fixture, "a.mcmodel"), train(&data, "b.mcmodel"));
    assert_eq!(
        from_folder, from_file,
        "the same seeded run on the folder and on its export"
    );
}

/// `medclassify cv`: every image held out exactly once, a duplicate pair in one fold, the
/// summary's mean and standard deviation recomputed here from the folds, and the kept fold
/// models' cards carrying the summary.
#[test]
fn cross_validation_holds_out_each_image_once_and_summarises_the_folds() {
    let dir = common::temp_dir("cli-cv");
    let data = dir.join("data");
    common::copy_fixture(&data);
    std::fs::copy(
        data.join("Hand/000000.jpeg"),
        data.join("Hand/zz-copy.jpeg"),
    )
    .unwrap();
    let models = dir.join("models");
    let (ok, stdout, stderr) = medclassify(&[
        "cv",
        data.to_str().unwrap(),
        "--folds",
        "4",
        "--epochs",
        "2",
        "--backend",
        "cpu",
        "--keep-models",
        models.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rows = json["folds"].as_array().unwrap();
    let fold_of = |path: &str| rows.iter().find(|r| r["path"] == path).unwrap()["fold"].clone();
    assert_eq!(fold_of("Hand/000000.jpeg"), fold_of("Hand/zz-copy.jpeg"));
    let cv = &json["cross_validation"];
    let folds = cv["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 4);
    for (i, fold) in folds.iter().enumerate() {
        let members = rows.iter().filter(|r| r["fold"] == i + 1).count();
        assert_eq!(
            fold["images"].as_u64().unwrap() as usize,
            members,
            "fold {}",
            i + 1
        );
    }
    assert!(
        rows.iter()
            .all(|r| (1..=4).contains(&r["fold"].as_u64().unwrap()))
    );
    let accuracies: Vec<f64> = folds
        .iter()
        .map(|f| f["accuracy"].as_f64().unwrap())
        .collect();
    let mean = accuracies.iter().sum::<f64>() / 4.0;
    let sd = (accuracies.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    assert!((cv["accuracy"]["mean"].as_f64().unwrap() - mean).abs() < 1e-12);
    assert!((cv["accuracy"]["sd"].as_f64().unwrap() - sd).abs() < 1e-12);
    for n in 1..=4 {
        let model = models.join(format!("fold-{n}.mcmodel"));
        // The fold's accuracy is its kept model's on its held-out images, counted by
        // `predict` against each file's class folder (not the command's own figures).
        let held_out: Vec<serde_json::Value> = rows
            .iter()
            .filter(|r| r["fold"] == n)
            .map(|r| {
                let path = r["path"].as_str().unwrap();
                let class = path.split('/').next().unwrap();
                serde_json::json!({ "path": path, "split": "test", "class": class })
            })
            .collect();
        let manifest = serde_json::json!({ "manifest": held_out });
        let (correct, total) = common::test_split_accuracy(&model, &data, &manifest);
        let reported = accuracies[n - 1];
        assert!(
            (reported - correct as f64 / total as f64).abs() < 1e-9,
            "fold {n}: reported {reported}, predict counts {correct} of {total}"
        );
        let (ok, card, stderr) = medclassify(&["card", "--model", model.to_str().unwrap()]);
        assert!(ok, "{stderr}");
        assert!(
            card.contains("## Cross-validation") && card.contains("4-fold"),
            "{card}"
        );
    }
    let (ok, _, stderr) = medclassify(&["cv", data.to_str().unwrap(), "--folds", "1"]);
    assert!(!ok && stderr.contains("--folds 1: use 3 to 20"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--group-by folder:1` on a folder laid out `class/patient/image`: every patient's images
/// in one subset (and the manifest names each image's patient), where a plain split of the
/// same folder puts some patient in two.
#[test]
fn a_grouped_split_keeps_each_patient_in_one_subset() {
    let dir = common::temp_dir("cli-groups");
    // The fixture's images, five per patient folder.
    for class in std::fs::read_dir(common::fixture()).unwrap().flatten() {
        let mut files: Vec<_> = std::fs::read_dir(class.path()).unwrap().flatten().collect();
        files.sort_by_key(|f| f.file_name());
        for (i, file) in files.iter().enumerate() {
            let name = class.file_name().to_string_lossy().to_string();
            let patient = dir.join(&name).join(format!("{name}-p{:02}", i / 5));
            std::fs::create_dir_all(&patient).unwrap();
            std::fs::copy(file.path(), patient.join(file.file_name())).unwrap();
        }
    }
    let subsets_per_patient = |args: &[&str]| {
        let mut all = vec!["inspect", dir.to_str().unwrap(), "--json"];
        all.extend_from_slice(args);
        let (ok, stdout, stderr) = medclassify(&all);
        assert!(ok, "{stderr}");
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let mut seen =
            std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
        for row in json["manifest"].as_array().unwrap() {
            let path = row["path"].as_str().unwrap();
            let patient = path.rsplit_once('/').unwrap().0.to_string();
            if let Some(group) = row.get("group") {
                assert_eq!(group.as_str().unwrap(), patient.split('/').nth(1).unwrap());
            }
            seen.entry(patient)
                .or_default()
                .insert(row["split"].as_str().unwrap().to_string());
        }
        seen
    };
    let plain = subsets_per_patient(&[]);
    assert!(
        plain.values().any(|s| s.len() > 1),
        "the positive control: a plain split splits a patient"
    );
    let grouped = subsets_per_patient(&["--group-by", "folder:1"]);
    assert!(grouped.values().all(|s| s.len() == 1), "{grouped:?}");
    let (ok, stdout, _) =
        medclassify(&["inspect", dir.to_str().unwrap(), "--group-by", "folder:1"]);
    assert!(
        ok && stdout.contains("Kept together by folder level 1"),
        "{stdout}"
    );
    let (ok, _, stderr) = medclassify(&["inspect", dir.to_str().unwrap(), "--group-by", "folder"]);
    assert!(!ok && stderr.contains("--group-by \"folder\""), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Labels from `labels.csv` in a flat folder: every listed image takes its label, an unlisted
/// one is skipped with that reason, a row whose file is missing is reported, and
/// `--group-by csv:group` keeps each of the table's groups in one subset.
#[test]
fn labels_come_from_a_csv_with_groups() {
    let dir = common::temp_dir("cli-labels");
    let mut rows = vec!["path,label,group".to_string()];
    let mut expected = std::collections::BTreeMap::new();
    // The table's group of each file: the oracle for the grouped split.
    let mut table_groups = std::collections::BTreeMap::new();
    for class in std::fs::read_dir(common::fixture()).unwrap().flatten() {
        let name = class.file_name().to_string_lossy().to_string();
        let mut files: Vec<_> = std::fs::read_dir(class.path()).unwrap().flatten().collect();
        files.sort_by_key(|f| f.file_name());
        for (i, file) in files.iter().enumerate() {
            // Flat: images/<class>-<file>, labelled by the table only.
            let flat = format!("images/{name}-{}", file.file_name().to_string_lossy());
            std::fs::create_dir_all(dir.join("images")).unwrap();
            std::fs::copy(file.path(), dir.join(&flat)).unwrap();
            let group = format!("{name}-p{}", i / 4);
            rows.push(format!("{flat},{name},{group}"));
            table_groups.insert(flat.clone(), group);
            expected.insert(flat, name.clone());
        }
    }
    rows.push("images/gone.jpeg,Hand,x".into());
    std::fs::write(dir.join("labels.csv"), rows.join("\n")).unwrap();
    std::fs::copy(
        common::fixture().join("Hand/000000.jpeg"),
        dir.join("images/unlisted.jpeg"),
    )
    .unwrap();
    let (ok, stdout, stderr) = medclassify(&[
        "inspect",
        dir.to_str().unwrap(),
        "--group-by",
        "csv:group",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let manifest = json["manifest"].as_array().unwrap();
    let labelled = manifest
        .iter()
        .filter(|r| {
            expected.get(r["path"].as_str().unwrap())
                == r["class"].as_str().map(String::from).as_ref()
        })
        .count();
    assert_eq!(labelled, manifest.len());
    let skipped = json["skipped"].as_array().unwrap();
    let unlisted = skipped
        .iter()
        .find(|s| s["path"] == "images/unlisted.jpeg")
        .unwrap();
    assert_eq!(unlisted["reason"]["kind"], "not_in_table", "{unlisted}");
    assert_eq!(
        json["labels"]["missing"],
        serde_json::json!(["images/gone.jpeg"])
    );
    // Each image's subsets by the table's group (not the manifest's own column, which a bug
    // could fill with one group per image); the manifest's column must be the table's too.
    let subsets_per_group = |manifest: &[serde_json::Value]| {
        let mut splits =
            std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
        for row in manifest {
            let path = row["path"].as_str().unwrap();
            splits
                .entry(table_groups[path].clone())
                .or_default()
                .insert(row["split"].as_str().unwrap().to_string());
        }
        splits
    };
    for row in manifest {
        let path = row["path"].as_str().unwrap();
        assert_eq!(
            row["group"].as_str(),
            Some(table_groups[path].as_str()),
            "{row}"
        );
    }
    let splits = subsets_per_group(manifest);
    assert!(
        splits.len() > 40 && splits.values().all(|s| s.len() == 1),
        "{splits:?}"
    );
    // The positive control: without --group-by the same table's groups are split.
    let (ok, plain, stderr) = medclassify(&["inspect", dir.to_str().unwrap(), "--json"]);
    assert!(ok, "{stderr}");
    let plain: serde_json::Value = serde_json::from_str(&plain).unwrap();
    let plain_splits = subsets_per_group(plain["manifest"].as_array().unwrap());
    assert!(
        plain_splits.values().any(|s| s.len() > 1),
        "a plain split splits some group: {plain_splits:?}"
    );
    // Trained on the table's labels and grouped split, scored on its test files by `predict`.
    let model = dir.join("labels.mcmodel");
    common::train_on_cpu(&dir, &model, 10, &["--group-by", "csv:group"]);
    let (correct, total) = common::test_split_accuracy(&model, &dir, &json);
    eprintln!("labels.csv folder, 10 epochs: {correct} of {total} test images");
    // Six classes (chance: 1 in 6); 37 of 48 when written.
    assert!(correct * 10 >= total * 7, "{correct} of {total}");
    // A table without a label column is refused by name.
    std::fs::write(dir.join("labels.csv"), "file,class\na,b\n").unwrap();
    let (ok, _, stderr) = medclassify(&["inspect", dir.to_str().unwrap()]);
    assert!(
        !ok && stderr.contains("labels.csv") && stderr.contains("\"label\""),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `evaluate --threshold` on a two-class model: at 0.5 the counts are the argmax confusion
/// matrix's; at 0 every image is called positive; a class that is not the model's is refused.
/// `train --json`'s test counts at the threshold Youden's J chose on validation are the ones
/// counted here from `predict`'s probabilities for the test split's files, and its accuracy
/// is their right calls over the test set.
#[test]
fn a_two_class_evaluation_reports_a_chosen_threshold() {
    let dir = common::temp_dir("cli-threshold");
    let data = dir.join("data");
    for class in ["CXR", "Hand"] {
        std::fs::create_dir_all(data.join(class)).unwrap();
        for file in std::fs::read_dir(common::fixture().join(class))
            .unwrap()
            .flatten()
        {
            std::fs::copy(file.path(), data.join(class).join(file.file_name())).unwrap();
        }
    }
    let model = dir.join("two.mcmodel");
    let trained = train_json(&data, &model, &["--epochs", "2"]);
    let youden = &trained["test_at_validation_threshold"];
    let threshold = youden["threshold"].as_f64().expect("a threshold");
    assert_eq!(
        threshold as f32,
        trained["youden_validation"][1].as_f64().unwrap() as f32
    );
    let evaluate = |threshold: &str, positive: &str| {
        let (ok, stdout, stderr) = medclassify(&[
            "evaluate",
            "--model",
            model.to_str().unwrap(),
            data.to_str().unwrap(),
            "--threshold",
            threshold,
            "--positive",
            positive,
            "--json",
        ]);
        assert!(ok, "{stderr}");
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()
    };
    let counted = hand_calls_at(&model, &data, threshold);
    let at = &youden["metrics"];
    let count = |key: &str| at[key].as_u64().unwrap();
    let reported = [
        "true_positives",
        "false_positives",
        "true_negatives",
        "false_negatives",
    ];
    assert_eq!(counted, reported.map(count), "{youden}");
    let right = count("true_positives") + count("true_negatives");
    let tested = trained["test"]["total"].as_u64().unwrap();
    assert_eq!(counted.iter().sum::<u64>(), tested);
    let accuracy = youden["accuracy"]["estimate"].as_f64().unwrap();
    assert!(
        (accuracy - right as f64 / tested as f64).abs() < 1e-12,
        "{youden}"
    );
    let json = evaluate("0.5", "Hand");
    let confusion = &json["evaluation"]["confusion"];
    let at = &json["at_threshold"]["metrics"];
    assert_eq!(at["true_positives"], confusion[1][1]);
    assert_eq!(at["false_negatives"], confusion[1][0]);
    assert_eq!(at["false_positives"], confusion[0][1]);
    let json = evaluate("0", "CXR");
    let at = &json["at_threshold"]["metrics"];
    let cxr: u64 = confusion[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        (at["true_positives"].as_u64(), at["true_negatives"].as_u64()),
        (Some(cxr), Some(0))
    );
    let (ok, _, stderr) = medclassify(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        data.to_str().unwrap(),
        "--threshold",
        "0.5",
        "--positive",
        "Knee",
    ]);
    assert!(!ok && stderr.contains("\"Knee\""), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The files of one split of `data` (`train`, `validation` or `test`, rebuilt by `inspect`
/// with the default seed), with their classes.
fn split_files(data: &std::path::Path, split: &str) -> Vec<(String, String)> {
    let (ok, report, stderr) = medclassify(&["inspect", data.to_str().unwrap(), "--json"]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    report["manifest"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["split"] == split)
        .map(|row| {
            let path = data.join(row["path"].as_str().unwrap());
            let class = row["class"].as_str().unwrap().to_string();
            (path.display().to_string(), class)
        })
        .collect()
}

/// `predict`'s probability of `class` for each of `files`, in order.
fn probabilities(model: &std::path::Path, files: &[(String, String)], class: &str) -> Vec<f64> {
    let paths: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
    let args = [
        &["predict", "--model", model.to_str().unwrap(), "--json"][..],
        &paths,
    ]
    .concat();
    let (ok, stdout, stderr) = medclassify(&args);
    assert!(ok, "{stderr}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.len(), files.len());
    rows.iter()
        .zip(&paths)
        .map(|(row, path)| {
            assert_eq!(row["path"].as_str(), Some(*path));
            let top = row["top"].as_array().unwrap();
            top.iter().find(|t| t["class"] == class).unwrap()["probability"]
                .as_f64()
                .unwrap()
        })
        .collect()
}

/// TP, FP, TN, FN of calling Hand when `predict` gives P(Hand) >= `threshold`, over the test
/// split of `data`.
fn hand_calls_at(model: &std::path::Path, data: &std::path::Path, threshold: f64) -> [u64; 4] {
    let test = split_files(data, "test");
    let mut counts = [0; 4];
    for ((_, class), p_hand) in test.iter().zip(probabilities(model, &test, "Hand")) {
        let called = p_hand as f32 >= threshold as f32;
        counts[match (called, class == "Hand") {
            (true, true) => 0,
            (true, false) => 1,
            (false, false) => 2,
            (false, true) => 3,
        }] += 1;
    }
    counts
}

/// The ROC AUC by its definition: the share of (positive, negative) pairs the positive
/// outranks, ties counting one half.
fn pairwise_auc(scores: &[f64], positive: &[bool]) -> f64 {
    let (mut wins, mut pairs) = (0.0, 0.0);
    for (a, _) in scores.iter().zip(positive).filter(|(_, p)| **p) {
        for (b, _) in scores.iter().zip(positive).filter(|(_, p)| !**p) {
            pairs += 1.0;
            wins += if a > b {
                1.0
            } else if a == b {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / pairs
}

/// `--monitor val_auc` on two classes: every epoch reports the validation AUC; the weights
/// EarlyStopping keeps (patience longer than the run) are those of the epoch with the best of it, whose AUC `predict`'s probabilities for
/// the validation files give again; six classes refuse it by name (a validation split without
/// one of two classes: `tests/npz.rs`).
#[test]
fn val_auc_watched_keeps_the_best_ranking_epoch() {
    let dir = common::temp_dir("cli-val-auc");
    // Two classes with no signal in them (each takes every other file of each MedNIST
    // class), so that the validation AUC moves from epoch to epoch instead of sitting at 1.
    let data = dir.join("data");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(common::fixture())
        .unwrap()
        .flatten()
        .flat_map(|class| std::fs::read_dir(class.path()).unwrap().flatten())
        .map(|file| file.path())
        .collect();
    files.sort();
    for (i, file) in files.iter().enumerate() {
        let class = data.join(["a", "b"][i % 2]);
        std::fs::create_dir_all(&class).unwrap();
        std::fs::copy(file, class.join(format!("{i}.jpeg"))).unwrap();
    }
    let model = dir.join("auc.mcmodel");
    let options = ["--epochs", "5", "--patience", "9", "--lr-patience", "0"];
    let trained = train_json(
        &data,
        &model,
        &[&options[..], &["--monitor", "val_auc"]].concat(),
    );
    let aucs = per_epoch(&trained, "val_auc");
    assert_eq!(aucs.len(), 5);
    let best = aucs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let first_best = aucs.iter().position(|&a| a == best).unwrap() + 1;
    assert_eq!(
        trained["weights_from_epoch"].as_u64(),
        Some(first_best as u64),
        "{aucs:?}"
    );
    let validation = split_files(&data, "validation");
    let positive: Vec<bool> = validation.iter().map(|(_, class)| class == "b").collect();
    let auc = pairwise_auc(&probabilities(&model, &validation, "b"), &positive);
    assert!(
        (auc - best).abs() < 1e-9,
        "predict gives {auc}, the history {aucs:?}"
    );
    // The model card's history table has the column, each epoch's value in its row.
    let (ok, card, _) = medclassify(&["card", "--model", model.to_str().unwrap()]);
    assert!(ok && card.contains("| val_accuracy | val_auc |"), "{card}");
    for (epoch, auc) in aucs.iter().enumerate() {
        let row = card
            .lines()
            .find(|line| line.starts_with(&format!("| {} |", epoch + 1)))
            .unwrap_or_else(|| panic!("no row for epoch {}: {card}", epoch + 1));
        assert!(row.contains(&format!(" {auc:.4} |")), "{row}");
    }
    // Six classes: refused before any training, naming the metric.
    let (ok, _, stderr) = medclassify(&[
        "train",
        common::fixture().to_str().unwrap(),
        "--epochs",
        "1",
        "--monitor",
        "val_auc",
        "--backend",
        "cpu",
        "--out",
        dir.join("six.mcmodel").to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.contains("val_auc") && stderr.contains("6 classes"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cuda_without_the_feature_says_how_to_get_it() {
    let dir = common::temp_dir("cli-cuda");
    let out = dir.join("m.mcmodel");
    let fixture = common::fixture();
    let (ok, _, stderr) = medclassify(&[
        "train",
        fixture.to_str().unwrap(),
        "--backend",
        "cuda",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.contains("built without CUDA") && stderr.contains("--features cuda"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written");
}

#[test]
fn warmup_times_each_preset_and_batch() {
    let (ok, stdout, stderr) = medclassify(&[
        "warmup",
        "--backend",
        "cpu",
        "--presets",
        "seed,strong",
        "--batches",
        "4,8",
        "--size",
        "28",
    ]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    for (line, (preset, batch)) in
        lines
            .iter()
            .zip([("seed", 4), ("seed", 8), ("strong", 4), ("strong", 8)])
    {
        assert!(
            line.starts_with(&format!("{preset} batch {batch}: first step "))
                && line.ends_with(" ms a step"),
            "{line}"
        );
    }
    // The CPU has no kernels to keep; the command says so rather than naming a folder.
    assert!(stderr.contains("no kernel cache"), "{stderr}");
    let (ok, _, stderr) = medclassify(&["warmup", "--batches", "0"]);
    assert!(!ok && stderr.contains("--batches: \"0\""), "{stderr}");
}

/// `train --test-every-epoch` scores the test set after each epoch (the benchmarks' time to a
/// test accuracy): one figure per epoch, each a share of the test images, and the one of
/// the epoch whose weights the model keeps equals the final evaluation's, which the session
/// computes on its own after the run.
#[test]
fn the_test_set_is_scored_after_every_epoch_when_asked() {
    let dir = common::temp_dir("cli-test-every-epoch");
    let model = dir.join("every-epoch.mcmodel");
    let fixture = common::fixture();
    let (ok, stdout, stderr) = medclassify(&[
        "train",
        fixture.to_str().unwrap(),
        "--epochs",
        "3",
        "--size",
        "28",
        "--backend",
        "cpu",
        "--patience",
        "0",
        "--test-every-epoch",
        "--json",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let per_epoch = json["test_per_epoch"].as_array().unwrap();
    let epochs: Vec<u64> = per_epoch
        .iter()
        .map(|e| e["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs, [1, 2, 3]);
    let total = json["test"]["total"].as_u64().unwrap() as f64;
    for e in per_epoch {
        let correct = e["test_accuracy"].as_f64().unwrap() * total;
        assert!(
            (correct - correct.round()).abs() < 1e-6,
            "{e}: not a share of {total} images"
        );
    }
    let kept = json["weights_from_epoch"].as_u64().unwrap() as usize;
    let final_accuracy = json["test"]["accuracy"].as_f64().unwrap();
    let scored = per_epoch[kept - 1]["test_accuracy"].as_f64().unwrap();
    assert!(
        (scored - final_accuracy).abs() < 1e-9,
        "epoch {kept}: {scored} against {final_accuracy}"
    );
    // Both figures come from the run's own report: the kept model's test accuracy is counted
    // here too, by `predict` on the test split's files (the split rebuilt by `inspect`).
    let (correct, counted) = counted_on_test_split(&model, &fixture);
    assert_eq!(counted as f64, total, "the test split's size");
    assert!(
        (scored - correct as f64 / total).abs() < 1e-9,
        "epoch {kept}: reported {scored}, predict counts {correct} of {counted}"
    );
}
