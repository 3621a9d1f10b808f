//! Archives as input: a `.zip`, `.tar` or `.tar.gz` of class folders, read without extracting
//! anything to disk, its files then prepared like a picked folder's (`prepare_file`), with the
//! same report, skip reasons and manifest (paths inside the archive).
//!
//! The archive is untrusted input. Before anything large is allocated its entry count is
//! bounded; a `.tar.gz` is inflated only up to a total size and a compression ratio; a zip
//! entry's real (not declared) size is bounded per entry and by ratio. A bound that trips
//! refuses the archive with the reason ([`ArchiveError::Bomb`]); a damaged entry costs only
//! that entry (its skip reason names it), and a tar or tar.gz cut short keeps the files before
//! the cut and reports the file it falls in, or, cut between files, a last entry
//! `(end of archive)` that says so. Tar is read by the ~80 lines below (ustar, GNU long
//! names, pax `path`), gzip and zip by `flate2` and `zip`, all pure Rust, so the page's engine
//! reads the same archives as the command line.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::io::Read;
use std::rc::Rc;

use super::SkipReason;

/// What kind of archive the bytes are, from their first bytes (not the file name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveKind {
    /// `PK\x03\x04` (or an empty zip's `PK\x05\x06`).
    Zip,
    /// `ustar` at byte 257.
    Tar,
    /// gzip (`1f 8b`), holding a tar.
    TarGz,
}

/// The kind of archive `bytes` hold, if any.
pub fn archive_kind(bytes: &[u8]) -> Option<ArchiveKind> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        Some(ArchiveKind::Zip)
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        Some(ArchiveKind::TarGz)
    } else if bytes.get(257..262) == Some(b"ustar") {
        Some(ArchiveKind::Tar)
    } else {
        None
    }
}

/// The bounds an archive must keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Entries (files, folders, links) at most.
    pub max_entries: usize,
    /// Uncompressed bytes in all at most (a `.tar.gz` is inflated in memory).
    pub max_total_bytes: u64,
    /// Uncompressed bytes of one entry at most (the largest file a folder load reads).
    pub max_entry_bytes: u64,
    /// Uncompressed over compressed size at most, for the whole `.tar.gz` and for each zip
    /// entry over 1 MiB (images barely compress; bombs compress a thousandfold).
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self {
            max_entries: 1_000_000,
            max_total_bytes: 2 << 30,
            max_entry_bytes: super::DecodeLimits::default().max_file_bytes as u64,
            max_ratio: 200,
        }
    }
}

/// Why an archive cannot be read at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchiveError {
    /// Not a zip, tar or gzip.
    NotAnArchive,
    /// The archive ends early (a cut download).
    Truncated(String),
    /// The archive's structure is damaged.
    Corrupt(String),
    /// A bound of [`ArchiveLimits`] was exceeded.
    Bomb(String),
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchiveError::NotAnArchive => write!(f, "not a .zip, .tar or .tar.gz archive"),
            ArchiveError::Truncated(d) => write!(f, "the archive is truncated: {d}"),
            ArchiveError::Corrupt(d) => write!(f, "the archive is damaged: {d}"),
            ArchiveError::Bomb(d) => write!(f, "refused, {d} (an archive bomb?)"),
        }
    }
}

impl std::error::Error for ArchiveError {}

/// One file of an archive.
#[derive(Clone, Debug)]
struct Entry {
    /// Its path inside the archive, `/`-separated, the top folder removed (see
    /// [`TopFolder`]).
    path: String,
    /// A tar member's bytes (or why there are none); a zip entry's index (and why it is
    /// refused, if it is).
    stored: Stored,
}

#[derive(Clone, Debug)]
enum Stored {
    Tar(Result<Vec<u8>, SkipReason>),
    Zip(usize, Option<SkipReason>),
}

/// An opened archive: its files listed, each read on demand (and from any thread).
pub struct Archive<'a> {
    kind: ArchiveKind,
    zip: Option<zip::ZipArchive<std::io::Cursor<&'a [u8]>>>,
    entries: Vec<Entry>,
    limits: ArchiveLimits,
}

mod tar;

/// An archive of one folder (`MedNIST/Hand/x.jpeg`, ...) reads like that folder picked: when
/// the first file sits at least two folders deep, its top folder is dropped from every path
/// under it, so the classes are the folders below it. Decided on the first file, so a stream
/// can apply it before it has seen the rest.
#[derive(Default)]
struct TopFolder(Option<Option<String>>);

impl TopFolder {
    fn strip(&mut self, path: String) -> String {
        let prefix = self.0.get_or_insert_with(|| {
            let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
            (parts.len() >= 3).then(|| format!("{}/", parts[0]))
        });
        match prefix {
            Some(prefix) if path.starts_with(prefix.as_str()) => path[prefix.len()..].to_string(),
            _ => path,
        }
    }
}

impl<'a> Archive<'a> {
    /// Lists the files of `bytes` (inflating a `.tar.gz` first, within `limits`).
    pub fn open(bytes: &'a [u8], limits: ArchiveLimits) -> Result<Self, ArchiveError> {
        let kind = archive_kind(bytes).ok_or(ArchiveError::NotAnArchive)?;
        let mut archive = Self {
            kind,
            zip: None,
            entries: Vec::new(),
            limits,
        };
        match kind {
            ArchiveKind::Zip => archive.list_zip(bytes)?,
            ArchiveKind::Tar | ArchiveKind::TarGz => {
                let mut stream = TarStream::open(bytes, limits)?;
                while let Some(file) = stream.next_file() {
                    let (path, data) = file?;
                    archive.entries.push(Entry {
                        path,
                        stored: Stored::Tar(data),
                    });
                }
            }
        }
        Ok(archive)
    }

    /// What kind it is.
    pub fn kind(&self) -> ArchiveKind {
        self.kind
    }

    /// Files listed (folders left out).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it lists no file.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The path of file `index`, relative to the archive's root folder.
    pub fn path(&self, index: usize) -> &str {
        &self.entries[index].path
    }

    /// The bytes of file `index`, or why it cannot be read.
    pub fn read(&self, index: usize) -> Result<Cow<'_, [u8]>, SkipReason> {
        match (&self.entries[index].stored, &self.zip) {
            (Stored::Tar(data), _) => data.as_deref().map(Cow::Borrowed).map_err(Clone::clone),
            (Stored::Zip(_, Some(why)), _) => Err(why.clone()),
            (Stored::Zip(at, None), Some(zip)) => {
                read_zip_entry(zip.clone(), *at, &self.limits).map(Cow::Owned)
            }
            (Stored::Zip(..), None) => Err(SkipReason::Unreadable {
                detail: "the zip index is missing".into(),
            }),
        }
    }

    fn list_zip(&mut self, bytes: &'a [u8]) -> Result<(), ArchiveError> {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| {
            let text = e.to_string();
            if text.contains("end of central directory") || text.contains("EOF") {
                ArchiveError::Truncated(text)
            } else {
                ArchiveError::Corrupt(text)
            }
        })?;
        if zip.len() > self.limits.max_entries {
            return Err(ArchiveError::Bomb(format!(
                "{} entries, at most {} are read",
                zip.len(),
                self.limits.max_entries
            )));
        }
        let mut top = TopFolder::default();
        for index in 0..zip.len() {
            let entry = zip
                .by_index_raw(index)
                .map_err(|e| ArchiveError::Corrupt(format!("entry {index}: {e}")))?;
            let path = entry
                .name()
                .map(|name| name.into_owned())
                .unwrap_or_else(|_| format!("entry {index} (a name that is not UTF-8)"));
            if entry.is_dir() {
                continue;
            }
            let refused = entry.is_symlink().then(|| SkipReason::Unreadable {
                detail: "a link inside the archive (not followed)".into(),
            });
            self.entries.push(Entry {
                path: top.strip(path),
                stored: Stored::Zip(index, refused),
            });
        }
        self.zip = Some(zip);
        Ok(())
    }
}

/// The files of a `.tar` or `.tar.gz` as they are read (inflated on the way): the page's
/// engine hands each to the decoding helpers while the rest is still being inflated.
pub struct TarStream<'a> {
    reader: tar::TarReader<Box<dyn Read + 'a>>,
    consumed: Rc<Cell<usize>>,
    total: usize,
    top: TopFolder,
}

/// A reader of a byte slice that tells how far it got (how much of a `.tar.gz` has been
/// inflated, for progress while the file count is not yet known).
struct Counting<'a> {
    bytes: &'a [u8],
    at: Rc<Cell<usize>>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let at = self.at.get();
        let n = buf.len().min(self.bytes.len() - at);
        buf[..n].copy_from_slice(&self.bytes[at..at + n]);
        self.at.set(at + n);
        Ok(n)
    }
}

impl<'a> TarStream<'a> {
    /// Starts reading `bytes`, a tar or a gzip-compressed tar, within `limits` (a `.tar.gz`
    /// may hold at most `max_ratio` times its size).
    pub fn open(bytes: &'a [u8], limits: ArchiveLimits) -> Result<Self, ArchiveError> {
        let consumed = Rc::new(Cell::new(0));
        let source = Counting {
            bytes,
            at: consumed.clone(),
        };
        let (inner, bound): (Box<dyn Read + 'a>, u64) = match archive_kind(bytes) {
            Some(ArchiveKind::Tar) => (Box::new(source), limits.max_total_bytes),
            Some(ArchiveKind::TarGz) => {
                let by_ratio = (bytes.len() as u64)
                    .saturating_mul(limits.max_ratio)
                    .max(1 << 20);
                let decoder = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(source));
                (Box::new(decoder), limits.max_total_bytes.min(by_ratio))
            }
            _ => return Err(ArchiveError::NotAnArchive),
        };
        Ok(Self {
            reader: tar::TarReader::new(inner, limits, bound),
            consumed,
            total: bytes.len().max(1),
            top: TopFolder::default(),
        })
    }

    /// The next file: its path (relative to the archive's folder) and its bytes or why it
    /// cannot be read; `None` after the last; an error refuses the archive.
    #[allow(clippy::type_complexity)]
    pub fn next_file(
        &mut self,
    ) -> Option<Result<(String, Result<Vec<u8>, SkipReason>), ArchiveError>> {
        let member = self.reader.next_member()?;
        Some(member.map(|m| (self.top.strip(m.path), m.data)))
    }

    /// The share of the archive's bytes read so far (0 to 1).
    pub fn fraction_read(&self) -> f64 {
        self.consumed.get() as f64 / self.total as f64
    }
}

/// Reads every file of the archive `bytes` as a load would and drops it: how many files it
/// has, or why it is refused. The page runs this on a helper before the engine reads the
/// archive, so that a file that makes the reader panic stops the helper, not the engine.
pub fn walk(bytes: &[u8], limits: ArchiveLimits) -> Result<usize, ArchiveError> {
    match archive_kind(bytes).ok_or(ArchiveError::NotAnArchive)? {
        ArchiveKind::Zip => {
            let archive = Archive::open(bytes, limits)?;
            for index in 0..archive.len() {
                drop(archive.read(index));
            }
            Ok(archive.len())
        }
        ArchiveKind::Tar | ArchiveKind::TarGz => {
            let mut stream = TarStream::open(bytes, limits)?;
            let mut files = 0;
            while let Some(file) = stream.next_file() {
                drop(file?);
                files += 1;
            }
            Ok(files)
        }
    }
}

/// A zip entry's bytes, read no further than the bounds whatever its header declares.
fn read_zip_entry(
    mut zip: zip::ZipArchive<std::io::Cursor<&[u8]>>,
    index: usize,
    limits: &ArchiveLimits,
) -> Result<Vec<u8>, SkipReason> {
    let entry = zip.by_index(index).map_err(|e| SkipReason::Corrupt {
        detail: format!("zip entry: {e}"),
    })?;
    let by_ratio = entry
        .compressed_size()
        .max(1)
        .saturating_mul(limits.max_ratio);
    let bound = limits.max_entry_bytes.min(by_ratio.max(1 << 20));
    let mut data = Vec::with_capacity(entry.size().min(bound) as usize);
    entry
        .take(bound + 1)
        .read_to_end(&mut data)
        .map_err(|e| SkipReason::Truncated {
            detail: format!("zip entry: {e}"),
        })?;
    if data.len() as u64 > bound {
        return Err(SkipReason::TooLarge {
            detail: format!(
                "inflates past {bound} bytes (at most {} per file, {} times its compressed size)",
                limits.max_entry_bytes, limits.max_ratio
            ),
        });
    }
    Ok(data)
}

#[cfg(test)]
mod tests;
