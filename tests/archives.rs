#![cfg(not(target_arch = "wasm32"))]
//! Archives as input. The full `MedNIST.tar.gz` read by the archive reader gives every file
//! with the bytes its published SHA-256 list names (an account independent of the reader); a
//! zip made here and a tar made by the system's `tar` load through the command exactly like
//! the folder they hold (same report, same manifest hash) and train; a damaged or bomb
//! archive gets a clear message, and a bomb entry costs only itself.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use medclassify::data::{Archive, ArchiveLimits, sha256};

fn medclassify(args: &[&str]) -> (bool, String, String) {
    let (ok, stdout, stderr, _) = common::run_cli(args);
    (ok, stdout, stderr)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_full_mednist_archive_holds_exactly_the_published_files() {
    let Some(path) = common::mednist_archive() else {
        return;
    };
    let sums = path.with_file_name("MedNIST.SHA256SUMS.txt");
    let expected: BTreeMap<String, String> = std::fs::read_to_string(&sums)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(sum, file)| (file.to_string(), sum.to_string()))
        .collect();
    assert_eq!(expected.len(), 58_954);
    let bytes = std::fs::read(&path).unwrap();
    let archive = Archive::open(&bytes, ArchiveLimits::default()).unwrap();
    let found: BTreeMap<String, String> = (0..archive.len())
        .map(|i| {
            (
                archive.path(i).to_string(),
                hex(&sha256(&archive.read(i).unwrap())),
            )
        })
        .collect();
    assert!(
        found == expected,
        "the archive's files differ from MedNIST.SHA256SUMS.txt"
    );
}

fn inspect(source: &Path) -> serde_json::Value {
    let (ok, stdout, stderr) = medclassify(&["inspect", source.to_str().unwrap(), "--json"]);
    assert!(ok, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// The fixture folder as a zip (deflated, under a top folder `MedNIST/`).
fn zip_fixture(to: &Path) {
    let mut writer = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut files: Vec<_> = walk(&common::fixture());
    files.sort();
    for (relative, full) in files {
        writer
            .start_file(format!("MedNIST/{relative}"), options)
            .unwrap();
        writer.write_all(&std::fs::read(full).unwrap()).unwrap();
    }
    writer.finish().unwrap();
}

fn walk(root: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut out = Vec::new();
    for class in std::fs::read_dir(root).unwrap().flatten() {
        for file in std::fs::read_dir(class.path()).unwrap().flatten() {
            let relative = format!(
                "{}/{}",
                class.file_name().to_string_lossy(),
                file.file_name().to_string_lossy()
            );
            out.push((relative, file.path()));
        }
    }
    out
}

#[test]
fn a_zip_and_a_tar_load_like_their_folder_and_train() {
    let dir = common::temp_dir("archives");
    let folder = inspect(&common::fixture());
    let zip = dir.join("fixture.zip");
    zip_fixture(&zip);
    let tar = dir.join("fixture.tar");
    let status = std::process::Command::new("tar")
        .arg("cf")
        .arg(&tar)
        .arg("-C")
        .arg(common::fixture().parent().unwrap())
        .arg("MedNIST")
        .status()
        .expect("the system's tar runs");
    assert!(status.success());
    for archive in [&zip, &tar] {
        let loaded = inspect(archive);
        for key in [
            "images",
            "files_seen",
            "classes",
            "skipped",
            "duplicate_groups",
            "manifest_sha256",
        ] {
            assert_eq!(loaded[key], folder[key], "{}: {key}", archive.display());
        }
    }
    let model = dir.join("zip.mcmodel");
    common::train_on_cpu(&zip, &model, 10, &[]);
    let (ok, card, _) = medclassify(&["card", "--model", model.to_str().unwrap(), "--json"]);
    assert!(ok);
    let card: serde_json::Value = serde_json::from_str(&card).unwrap();
    assert_eq!(
        card["model"]["data"]["manifest_sha256"],
        folder["manifest_sha256"]
    );
    // The zip's manifest is the folder's, so its test split is the folder's test files:
    // scored by `predict` against their folders (not the model's own record of its score).
    let (correct, total) = common::test_split_accuracy(&model, &common::fixture(), &folder);
    assert!(
        correct * 10 >= total * 8,
        "ten epochs on the zip: {correct} of {total} test images"
    );
    eprintln!("zip of the sample, 10 epochs: {correct} of {total} test images");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn damaged_and_bomb_archives_get_clear_messages() {
    let dir = common::temp_dir("archive-bad");
    let zip = dir.join("fixture.zip");
    zip_fixture(&zip);
    let bytes = std::fs::read(&zip).unwrap();
    let cut = dir.join("cut.zip");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, _, stderr) = medclassify(&["inspect", cut.to_str().unwrap()]);
    assert!(
        !ok && stderr.contains("cut.zip") && stderr.contains("archive"),
        "{stderr}"
    );

    // A zip with a 100 MB entry of zeros among real images: the entry is skipped as too
    // large, the images load.
    let bomb = dir.join("bomb.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&bomb).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    writer.start_file("Hand/zeros.jpeg", options).unwrap();
    writer.write_all(&vec![0u8; 100 << 20]).unwrap();
    for (relative, full) in walk(&common::fixture()) {
        writer.start_file(relative, options).unwrap();
        writer.write_all(&std::fs::read(full).unwrap()).unwrap();
    }
    writer.finish().unwrap();
    let report = inspect(&bomb);
    assert_eq!(report["images"], 247);
    let skipped = report["skipped"].as_array().unwrap();
    let zeros = skipped
        .iter()
        .find(|s| s["path"] == "Hand/zeros.jpeg")
        .unwrap();
    assert_eq!(zeros["reason"]["kind"], "too_large", "{zeros}");

    // A tar.gz whose one member inflates to 400 MB of zeros (a thousandfold): refused from
    // the member's header, before it is inflated.
    let gz = dir.join("bomb.tar.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut header = [0u8; 512];
    header[..13].copy_from_slice(b"Hand/big.jpeg");
    header[100..108].copy_from_slice(b"0000644\0");
    header[124..136].copy_from_slice(format!("{:011o}\0", 400u64 << 20).as_bytes());
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    encoder.write_all(&header).unwrap();
    for _ in 0..400 {
        encoder.write_all(&[0u8; 1 << 20]).unwrap();
    }
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let (ok, _, stderr) = medclassify(&["inspect", gz.to_str().unwrap()]);
    assert!(
        !ok && stderr.contains("bomb.tar.gz") && stderr.contains("archive bomb"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
