//! Reading a folder from disk into the same [`DatasetBuilder`] the page uses.

use std::path::{Path, PathBuf};

use super::files::{read_bounded, special_kind};
use crate::data::{
    Archive, ArchiveLimits, DATASET_MAGIC, Dataset, DatasetBuilder, DecodeLimits, DicomOptions,
    InputShape, LABELS_FILE, LabelTable, LoadReport, PreparedImage, SkipReason, archive_kind,
    is_zip, prepare_file, read_dataset, read_npz, read_npz_as, record_table,
};

/// A folder's identity, so that a folder reached twice (through a link) is read once:
/// device and inode where there are such, else the resolved path.
#[cfg(unix)]
type FolderKey = (u64, u64);
#[cfg(not(unix))]
type FolderKey = PathBuf;

#[cfg(unix)]
fn folder_key(meta: &std::fs::Metadata, _path: &Path) -> FolderKey {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}
#[cfg(not(unix))]
fn folder_key(_meta: &std::fs::Metadata, path: &Path) -> FolderKey {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A file found by [`list_files`]: its `/`-separated path relative to the root, and its path on
/// disk.
pub type ListedFile = (String, PathBuf);
/// An entry [`list_files`] did not read: its relative path, and why.
pub type Unlisted = (String, String);

/// Every regular file below `root`, as (`/`-separated path relative to `root`, path on disk),
/// sorted; and every entry that is not read, with the reason.
///
/// The walk always ends and says what it left out: a folder reached a second time through a
/// link is read once (by device and inode); a link whose target lies outside `root` is not
/// followed; a name that is not valid UTF-8 is reported, not merged into a look-alike; FIFOs,
/// sockets and devices are reported as not regular files; broken links and unreadable folders
/// are reported with their error. Entries are visited in name order, so the result does not
/// depend on the order the file system lists them in.
pub fn list_files(root: &Path) -> (Vec<ListedFile>, Vec<Unlisted>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let canonical_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut visited = std::collections::HashSet::new();
    if let Ok(meta) = std::fs::metadata(root) {
        visited.insert(folder_key(&meta, root));
    }
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let mut entries: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.collect(),
            Err(error) => {
                errors.push((prefix.clone(), error.to_string()));
                continue;
            }
        };
        entries.sort_by_key(|e| e.as_ref().map(|e| e.file_name()).ok());
        let mut folders = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    errors.push((
                        prefix.clone(),
                        format!("a folder entry is unreadable: {error}"),
                    ));
                    continue;
                }
            };
            let path = entry.path();
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                let shown = join(&prefix, &name.to_string_lossy());
                errors.push((
                    shown,
                    "the name is not valid UTF-8 (rename it to read it)".into(),
                ));
                continue;
            };
            let relative = join(&prefix, name);
            match visit(&path, &canonical_root, &mut visited) {
                Visit::File => files.push((relative, path)),
                Visit::Folder => folders.push((path, relative)),
                Visit::Skip(reason) => errors.push((relative, reason)),
                Visit::Again => {}
            }
        }
        // Popped in name order.
        stack.extend(folders.into_iter().rev());
    }
    files.sort();
    (files, errors)
}

enum Visit {
    File,
    Folder,
    /// A folder already read through another path: nothing to add, nothing to report.
    Again,
    Skip(String),
}

/// What to do with one directory entry.
fn visit(
    path: &Path,
    canonical_root: &Path,
    visited: &mut std::collections::HashSet<FolderKey>,
) -> Visit {
    let Ok(link) = std::fs::symlink_metadata(path) else {
        return Visit::Skip("unreadable metadata".into());
    };
    if link.file_type().is_symlink() {
        match std::fs::canonicalize(path) {
            Err(_) => return Visit::Skip("a broken link".into()),
            Ok(target) if !target.starts_with(canonical_root) => {
                return Visit::Skip(format!(
                    "a link to {}, outside the chosen folder: not followed",
                    target.display()
                ));
            }
            Ok(_) => {}
        }
    }
    let Ok(meta) = std::fs::metadata(path) else {
        return Visit::Skip("unreadable metadata".into());
    };
    if meta.is_dir() {
        if visited.insert(folder_key(&meta, path)) {
            Visit::Folder
        } else {
            Visit::Again
        }
    } else if meta.is_file() {
        Visit::File
    } else {
        Visit::Skip(format!("not a regular file: {}", special_kind(&meta)))
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// Files done and files in all, told as a load goes on (from any decoding thread).
pub type LoadProgress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Loads every image below `root` at `shape` using `threads` decoding threads
/// (1 = the calling thread only). Bad files are skipped and reported, never fatal.
pub fn load_folder(
    root: &Path,
    shape: InputShape,
    threads: usize,
) -> std::io::Result<(Dataset, LoadReport)> {
    load_folder_with_progress(root, shape, threads, &|_, _| {}, DicomOptions::default())
}

/// [`load_folder`], telling `progress` how many files are done.
pub fn load_folder_with_progress(
    root: &Path,
    shape: InputShape,
    threads: usize,
    progress: LoadProgress<'_>,
    dicom: DicomOptions,
) -> std::io::Result<(Dataset, LoadReport)> {
    if !root.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is not a folder", root.display()),
        ));
    }
    let (mut files, errors) = list_files(root);
    let mut builder = builder(shape, dicom);
    builder.reserve(files.len());
    for (path, error) in errors {
        builder.add_unreadable(&path, &error);
    }
    let table = match files.iter().position(|(path, _)| path == LABELS_FILE) {
        Some(at) => {
            let (_, full) = files.remove(at);
            builder.note_table_file();
            let text = std::fs::read_to_string(&full)?;
            Some(LabelTable::parse(&text).map_err(std::io::Error::other)?)
        }
        None => None,
    };
    let limits = *builder.limits();
    prepare_all(&files, threads, progress, &mut builder, |(path, full)| {
        let routed = route(table.as_ref(), path)?;
        let bytes = read_bounded(full, limits.max_file_bytes)?;
        prepare_file(&routed, &bytes, shape, &limits)
    });
    let (mut dataset, mut report) = builder.finish();
    if let Some(table) = &table {
        let offered: Vec<String> = files.into_iter().map(|(path, _)| path).collect();
        record_table(table, &mut dataset, &mut report, &offered);
    }
    Ok((dataset, report))
}

/// The path a file is prepared under: its own, or `<label>/<path>` when a label table names
/// it; why it is skipped otherwise (a path that can never be an image, or no label).
fn route(table: Option<&LabelTable>, path: &str) -> Result<String, SkipReason> {
    let routed = match table {
        None => path.to_string(),
        Some(table) => table.routed(path).ok_or(SkipReason::NotInTable)?,
    };
    match DatasetBuilder::path_skip_reason(&routed) {
        Some(reason) => Err(reason),
        None => Ok(routed),
    }
}

/// A builder of `shape` images that decodes DICOM files as `dicom` says.
fn builder(shape: InputShape, dicom: DicomOptions) -> DatasetBuilder {
    DatasetBuilder::with_limits(shape, DecodeLimits::with_dicom(dicom))
}

/// Prepares every one of `items` (a file named by its first element) on `threads` threads,
/// telling `progress`, and adds them to `builder` in their order.
fn prepare_all<T: Sync>(
    items: &[(String, T)],
    threads: usize,
    progress: LoadProgress<'_>,
    builder: &mut DatasetBuilder,
    prepare: impl Fn(&(String, T)) -> Result<PreparedImage, SkipReason> + Sync,
) {
    let total = items.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let prepare = |item: &(String, T)| {
        let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if finished.is_multiple_of(256) || finished == total {
            progress(finished, total);
        }
        prepare(item)
    };
    if threads <= 1 {
        for item in items {
            let outcome = prepare(item);
            builder.add_prepared(&item.0, outcome);
        }
        return;
    }
    let chunk = items.len().div_ceil(threads).max(1);
    let results: Vec<Vec<_>> = std::thread::scope(|scope| {
        let prepare = &prepare;
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(prepare).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("decoder thread"))
            .collect()
    });
    for (item, outcome) in items.iter().zip(results.into_iter().flatten()) {
        builder.add_prepared(&item.0, outcome);
    }
}

/// The files of a `.zip`, `.tar` or `.tar.gz` (`bytes`, read from `path`), prepared like a
/// folder's on `threads` threads: the same report, with paths inside the archive.
fn load_archive(
    path: &Path,
    bytes: &[u8],
    shape: InputShape,
    threads: usize,
    progress: LoadProgress<'_>,
    dicom: DicomOptions,
) -> Result<(Dataset, LoadReport), String> {
    let archive = Archive::open(bytes, ArchiveLimits::default())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut entries: Vec<(String, usize)> = (0..archive.len())
        .map(|i| (archive.path(i).to_string(), i))
        .collect();
    let mut builder = builder(shape, dicom);
    builder.reserve(entries.len());
    let table = match entries.iter().position(|(path, _)| path == LABELS_FILE) {
        Some(at) => {
            let (_, index) = entries.remove(at);
            builder.note_table_file();
            let bytes = archive
                .read(index)
                .map_err(|e| format!("{}: {LABELS_FILE}: {e}", path.display()))?;
            let text = String::from_utf8_lossy(&bytes);
            Some(LabelTable::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let limits = *builder.limits();
    prepare_all(
        &entries,
        threads,
        progress,
        &mut builder,
        |(name, index)| {
            let bytes = archive.read(*index)?;
            let routed = route(table.as_ref(), name)?;
            prepare_file(&routed, &bytes, shape, &limits)
        },
    );
    let (mut dataset, mut report) = builder.finish();
    if let Some(table) = &table {
        let offered: Vec<String> = entries.into_iter().map(|(path, _)| path).collect();
        record_table(table, &mut dataset, &mut report, &offered);
    }
    Ok((dataset, report))
}

/// A MedMNIST `.npz` at `path`, its labels named by `<stem>.classes.txt` beside it (one name
/// per line, label 0 first) when there is one.
fn load_npz(
    path: &Path,
    bytes: &[u8],
    shape: InputShape,
    own_size: bool,
) -> Result<(Dataset, LoadReport), String> {
    let sidecar = path.with_extension("classes.txt");
    let names = match std::fs::read_to_string(&sidecar) {
        Ok(text) => Some(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect::<Vec<_>>(),
        ),
        Err(_) => None,
    };
    let data = match own_size {
        true => read_npz_as(bytes, shape.colour(), names.as_deref()),
        false => read_npz(bytes, Some(shape), names.as_deref()),
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((data.dataset, data.report))
}

/// The largest `.mcdata` file read (the full MedNIST at 128 px is about 1 GB).
const MAX_DATA_FILE_BYTES: usize = 4 * 1024 * 1024 * 1024;

/// Loads a folder, an archive, a MedMNIST `.npz` or a data set file written by `medclassify
/// export` (`.mcdata`) at `shape`; with `own_size`, a `.npz` or `.mcdata` keeps the size it
/// carries (the `.npz` in `shape`'s colour), as the page loads it.
pub fn load_source(
    path: &Path,
    shape: InputShape,
    own_size: bool,
    threads: usize,
    progress: LoadProgress<'_>,
    dicom: DicomOptions,
) -> Result<(Dataset, LoadReport), String> {
    if path.is_file() {
        let bytes = read_bounded(path, MAX_DATA_FILE_BYTES)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let npz = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npz"));
        if is_zip(&bytes) && npz {
            return load_npz(path, &bytes, shape, own_size);
        }
        if archive_kind(&bytes).is_some() {
            return load_archive(path, &bytes, shape, threads, progress, dicom);
        }
        if !bytes.starts_with(DATASET_MAGIC) {
            return Err(format!(
                "{} is neither a folder, an archive (.zip, .tar, .tar.gz), a MedClassify data set file (.mcdata) nor a MedMNIST file (.npz)",
                path.display()
            ));
        }
        let (dataset, _) = read_dataset(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        if dataset.shape != shape && !own_size {
            return Err(format!(
                "{} holds {} images, not {shape}; use --size {} (or the original folder)",
                path.display(),
                dataset.shape,
                dataset.shape.size()
            ));
        }
        let report = LoadReport::of(&dataset, dataset.len(), Vec::new());
        return Ok((dataset, report));
    }
    load_folder_with_progress(path, shape, threads, progress, dicom).map_err(|e| e.to_string())
}
