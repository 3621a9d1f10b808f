use std::io::Write;

use super::*;

/// A tar member's header, written here from the POSIX layout (not by the reader's code).
fn header(name: &str, size: usize, kind: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A tar of `(name, type, bytes)` members, with the end-of-archive blocks.
fn tar(members: &[(&str, u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, data) in members {
        out.extend_from_slice(&header(name, data.len(), *kind));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn listing(archive: &Archive) -> Vec<(String, Result<Vec<u8>, String>)> {
    (0..archive.len())
        .map(|i| {
            let bytes = archive
                .read(i)
                .map(|b| b.to_vec())
                .map_err(|e| e.code().to_string());
            (archive.path(i).to_string(), bytes)
        })
        .collect()
}

fn sample_tar() -> Vec<u8> {
    let long = format!("data/Hand/{}.png", "x".repeat(120));
    tar(&[
        ("data/", b'5', b""),
        ("data/Hand/", b'5', b""),
        ("data/Hand/a.png", b'0', b"first"),
        ("././@LongLink", b'L', format!("{long}\0").as_bytes()),
        ("data/Hand/ignored-short-name", b'0', b"second"),
        ("data/CXR/link.png", b'2', b""),
        ("data/CXR/b.png", b'0', &[7u8; 700]),
    ])
}

#[test]
fn a_tar_lists_its_files_under_the_common_folder_with_long_names_and_refused_links() {
    let bytes = sample_tar();
    assert_eq!(archive_kind(&bytes), Some(ArchiveKind::Tar));
    let archive = Archive::open(&bytes, ArchiveLimits::default()).unwrap();
    let long = format!("Hand/{}.png", "x".repeat(120));
    assert_eq!(
        listing(&archive),
        vec![
            ("Hand/a.png".to_string(), Ok(b"first".to_vec())),
            (long, Ok(b"second".to_vec())),
            ("CXR/link.png".to_string(), Err("unreadable".to_string())),
            ("CXR/b.png".to_string(), Ok(vec![7u8; 700])),
        ]
    );
}

#[test]
fn a_tar_gz_reads_like_its_tar_and_a_cut_one_keeps_the_files_before_the_cut() {
    let tar_bytes = sample_tar();
    let gz = gzip(&tar_bytes);
    assert_eq!(archive_kind(&gz), Some(ArchiveKind::TarGz));
    let whole = Archive::open(&gz, ArchiveLimits::default()).unwrap();
    let plain = Archive::open(&tar_bytes, ArchiveLimits::default()).unwrap();
    assert_eq!(listing(&whole), listing(&plain));

    // Cut inside b.png (its 700 bytes start at block 10: six headers, a.png's, the long
    // name's and the second file's data blocks, the link's header, b.png's header): the
    // files before it load, b.png is refused as truncated.
    let cut_tar = &tar_bytes[..512 * 10 + 100];
    let archive = Archive::open(cut_tar, ArchiveLimits::default()).unwrap();
    let listed = listing(&archive);
    assert_eq!(listed.len(), 4);
    assert_eq!(listed[0].1, Ok(b"first".to_vec()));
    assert_eq!(
        listed[3],
        ("CXR/b.png".to_string(), Err("truncated".to_string()))
    );
    // The same through gzip, cut at half its bytes: an error naming the cut, never a panic.
    for keep in [gz.len() / 2, gz.len() - 9, 30] {
        match Archive::open(&gz[..keep], ArchiveLimits::default()) {
            Ok(archive) => {
                let last = listing(&archive).pop().unwrap();
                assert_eq!(
                    last.1,
                    Err("truncated".to_string()),
                    "cut at {keep}: {last:?}"
                );
            }
            Err(error) => assert!(matches!(error, ArchiveError::Truncated(_)), "{error}"),
        }
    }
    // Cut between members: the files load and a last entry says the end is missing.
    let between = &tar_bytes[..tar_bytes.len() - 1024];
    let listed = listing(&Archive::open(between, ArchiveLimits::default()).unwrap());
    assert_eq!(listed.last().unwrap().0, "(end of archive)");
}

#[test]
fn bombs_are_refused_by_total_size_ratio_and_entry_count() {
    let zeros = vec![0u8; 50 << 20];
    let bomb = gzip(&tar(&[("c/a.png", b'0', &zeros)]));
    assert!(bomb.len() < 200_000, "{} bytes", bomb.len());
    let error = Archive::open(&bomb, ArchiveLimits::default())
        .err()
        .unwrap();
    assert!(matches!(error, ArchiveError::Bomb(_)), "{error}");
    assert!(error.to_string().contains("archive bomb"), "{error}");

    let many: Vec<(String, u8, &[u8])> = (0..30)
        .map(|i| (format!("c/{i}.png"), b'0', &b"x"[..]))
        .collect();
    let many: Vec<(&str, u8, &[u8])> = many.iter().map(|(n, k, d)| (n.as_str(), *k, *d)).collect();
    let limits = ArchiveLimits {
        max_entries: 20,
        ..ArchiveLimits::default()
    };
    let error = Archive::open(&tar(&many), limits).err().unwrap();
    assert!(matches!(error, ArchiveError::Bomb(_)), "{error}");
}

#[test]
fn a_zip_reads_its_files_and_refuses_only_the_entry_that_inflates_too_far() {
    let zeros = vec![0u8; 8 << 20];
    let bytes = zip_of(&[
        ("Hand/a.png", b"first"),
        ("__MACOSX/Hand/._a.png", b"resource fork"),
        ("CXR/huge.png", &zeros),
        ("CXR/b.png", b"second"),
    ]);
    assert_eq!(archive_kind(&bytes), Some(ArchiveKind::Zip));
    let archive = Archive::open(&bytes, ArchiveLimits::default()).unwrap();
    let listed = listing(&archive);
    assert_eq!(listed[0], ("Hand/a.png".to_string(), Ok(b"first".to_vec())));
    assert_eq!(
        listed[2],
        ("CXR/huge.png".to_string(), Err("too_large".to_string()))
    );
    assert_eq!(listed[3], ("CXR/b.png".to_string(), Ok(b"second".to_vec())));
    // The macOS folder is there, and the path rules skip it as a system folder.
    assert_eq!(
        crate::data::classify_path(&listed[1].0),
        Err(SkipReason::Hidden)
    );
    // A zip cut short has no central directory: refused, saying so.
    let error = Archive::open(&bytes[..bytes.len() / 2], ArchiveLimits::default())
        .err()
        .unwrap();
    assert!(
        matches!(error, ArchiveError::Truncated(_) | ArchiveError::Corrupt(_)),
        "{error}"
    );
}

#[test]
fn other_bytes_are_not_an_archive() {
    assert_eq!(archive_kind(b"\x89PNG\r\n\x1a\n"), None);
    assert_eq!(
        Archive::open(b"hello", ArchiveLimits::default()).err(),
        Some(ArchiveError::NotAnArchive)
    );
}

/// The walk a helper makes before the engine opens an archive reads what the engine reads:
/// the same number of files, and the same refusal for what is not one.
#[test]
fn a_walk_counts_the_files_the_archive_lists_and_refuses_what_it_refuses() {
    let tar_bytes = sample_tar();
    let zip = zip_of(&[
        ("MedNIST/Hand/a.png", b"first"),
        ("MedNIST/CXR/b.png", b"second"),
    ]);
    for bytes in [tar_bytes.clone(), gzip(&tar_bytes), zip] {
        let listed = Archive::open(&bytes, ArchiveLimits::default())
            .unwrap()
            .len();
        assert_eq!(
            super::walk(&bytes, ArchiveLimits::default()).unwrap(),
            listed
        );
    }
    let error = super::walk(b"not an archive", ArchiveLimits::default()).unwrap_err();
    assert!(matches!(error, ArchiveError::NotAnArchive), "{error}");
}
