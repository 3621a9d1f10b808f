//! Reading a folder from disk into the same [`DatasetBuilder`] the page uses.

use std::path::{Path, PathBuf};

use crate::data::{
    DATASET_MAGIC, Dataset, DatasetBuilder, LoadReport, SkipReason, prepare_file, read_dataset,
};

/// Every file below `root`, as (`/`-separated path relative to `root`, absolute path), sorted.
/// Unreadable folders are reported as skipped entries with their error.
pub fn list_files(root: &Path) -> (Vec<(String, PathBuf)>, Vec<(String, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) => {
                errors.push((relative(root, &dir), error.to_string()));
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = std::fs::metadata(&path) else {
                errors.push((
                    relative(root, &path),
                    "broken link or unreadable metadata".into(),
                ));
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                files.push((relative(root, &path), path));
            }
        }
    }
    files.sort();
    (files, errors)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Loads every image below `root` at `size` x `size` using `threads` decoding threads
/// (1 = the calling thread only). Bad files are skipped and reported, never fatal.
pub fn load_folder(
    root: &Path,
    size: u32,
    threads: usize,
) -> std::io::Result<(Dataset, LoadReport)> {
    if !root.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is not a folder", root.display()),
        ));
    }
    let (files, errors) = list_files(root);
    let mut builder = DatasetBuilder::new(size);
    builder.reserve(files.len());
    for (path, error) in errors {
        builder.add_unreadable(&path, &error);
    }
    let limits = *builder.limits();
    let prepare = |(path, full): &(String, PathBuf)| {
        if let Some(reason) = DatasetBuilder::path_skip_reason(path) {
            return Err(reason);
        }
        match std::fs::read(full) {
            Ok(bytes) => prepare_file(path, &bytes, size, &limits),
            Err(error) => Err(SkipReason::Unreadable {
                detail: error.to_string(),
            }),
        }
    };
    if threads <= 1 {
        for file in &files {
            let outcome = prepare(file);
            builder.add_prepared(&file.0, outcome);
        }
    } else {
        let chunk = files.len().div_ceil(threads).max(1);
        let results: Vec<Vec<_>> = std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(prepare).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("decoder thread"))
                .collect()
        });
        for (file, outcome) in files.iter().zip(results.into_iter().flatten()) {
            builder.add_prepared(&file.0, outcome);
        }
    }
    Ok(builder.finish())
}

/// Loads a folder, or a data set file written by `medclassify export` (`.mcdata`), which must
/// then have been decoded at `size`.
pub fn load_source(
    path: &Path,
    size: u32,
    threads: usize,
) -> Result<(Dataset, LoadReport), String> {
    if path.is_file() {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !bytes.starts_with(DATASET_MAGIC) {
            return Err(format!(
                "{} is neither a folder nor a MedClassify data set file (.mcdata)",
                path.display()
            ));
        }
        let (dataset, _) = read_dataset(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        if dataset.image_size != size {
            return Err(format!(
                "{} holds {1}x{1} images, not {2}x{2}; use --size {1} (or the original folder)",
                path.display(),
                dataset.image_size,
                size
            ));
        }
        let report = LoadReport::of(&dataset, dataset.len(), Vec::new());
        return Ok((dataset, report));
    }
    load_folder(path, size, threads).map_err(|e| e.to_string())
}
