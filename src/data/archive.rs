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
use std::fmt;
use std::io::Read;

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
    /// Its path inside the archive, `/`-separated, the common top folder removed.
    path: String,
    /// A tar member's bytes (offset, length) in the tar; a zip entry's index.
    location: (usize, usize),
    /// Why it cannot be read (a link, a file cut short, one over the size bound), if so.
    refused: Option<SkipReason>,
}

/// An opened archive: its files listed, each read on demand (and from any thread).
pub struct Archive<'a> {
    kind: ArchiveKind,
    tar: Cow<'a, [u8]>,
    zip: Option<zip::ZipArchive<std::io::Cursor<&'a [u8]>>>,
    entries: Vec<Entry>,
    limits: ArchiveLimits,
}

mod tar;

impl<'a> Archive<'a> {
    /// Lists the files of `bytes` (inflating a `.tar.gz` first, within `limits`).
    pub fn open(bytes: &'a [u8], limits: ArchiveLimits) -> Result<Self, ArchiveError> {
        let kind = archive_kind(bytes).ok_or(ArchiveError::NotAnArchive)?;
        let mut archive = Self {
            kind,
            tar: Cow::Borrowed(&[]),
            zip: None,
            entries: Vec::new(),
            limits,
        };
        match kind {
            ArchiveKind::Zip => archive.list_zip(bytes)?,
            ArchiveKind::Tar => archive.list_tar(Cow::Borrowed(bytes))?,
            ArchiveKind::TarGz => {
                let (tar, cut) = gunzip(bytes, &limits)?;
                archive.list_tar(Cow::Owned(tar))?;
                let flagged = archive.entries.last().is_some_and(|e| {
                    matches!(e.refused, Some(SkipReason::Truncated { .. }))
                });
                if cut && !flagged {
                    archive.entries.push(tar::cut(
                        "the gzip stream ends early (a cut download?); the files before the cut are read".into(),
                    ));
                }
            }
        }
        archive.strip_common_top_folder();
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
        let entry = &self.entries[index];
        if let Some(why) = &entry.refused {
            return Err(why.clone());
        }
        match &self.zip {
            None => Ok(Cow::Borrowed(
                &self.tar[entry.location.0..entry.location.0 + entry.location.1],
            )),
            Some(zip) => read_zip_entry(zip.clone(), entry.location.0, &self.limits).map(Cow::Owned),
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
                path,
                location: (index, 0),
                refused,
            });
        }
        self.zip = Some(zip);
        Ok(())
    }

    fn list_tar(&mut self, bytes: Cow<'a, [u8]>) -> Result<(), ArchiveError> {
        self.entries = tar::members(&bytes, &self.limits)?;
        self.tar = bytes;
        Ok(())
    }

    /// An archive of one folder (`MedNIST/Hand/x.jpeg`, ...) reads like that folder picked:
    /// its name is dropped, so the classes are the folders below it.
    fn strip_common_top_folder(&mut self) {
        let top = |path: &str| path.split('/').next().unwrap_or_default().to_string();
        let Some(first) = self.entries.first().map(|e| top(&e.path)) else {
            return;
        };
        let shared = self.entries.iter().all(|e| {
            e.path.split('/').count() >= 3 && top(&e.path) == first
        });
        if shared {
            for entry in &mut self.entries {
                entry.path = entry.path[first.len() + 1..].to_string();
            }
        }
    }
}

/// Inflates a gzip stream (all its members) within the total and ratio bounds; `true` when the
/// stream was cut short (what came before the cut is returned).
fn gunzip(bytes: &[u8], limits: &ArchiveLimits) -> Result<(Vec<u8>, bool), ArchiveError> {
    let bound = limits
        .max_total_bytes
        .min((bytes.len() as u64).saturating_mul(limits.max_ratio).max(1 << 20));
    let mut out = Vec::with_capacity((bytes.len() * 2).min(bound as usize));
    let read = flate2::read::MultiGzDecoder::new(bytes)
        .take(bound + 1)
        .read_to_end(&mut out);
    match read {
        // A cut download: what was inflated is kept, and the tar reader reports the file
        // that the cut falls in.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => Ok((out, true)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(ArchiveError::Truncated(format!("the gzip stream ends early ({e})")))
        }
        Err(e) => Err(ArchiveError::Corrupt(format!("gzip: {e}"))),
        Ok(_) if out.len() as u64 > bound => Err(ArchiveError::Bomb(format!(
            "it inflates past {bound} bytes from {} (at most {} in all, {} times the archive)",
            bytes.len(),
            limits.max_total_bytes,
            limits.max_ratio
        ))),
        Ok(_) => Ok((out, false)),
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
    let by_ratio = entry.compressed_size().max(1).saturating_mul(limits.max_ratio);
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
