//! Reading a tar (POSIX ustar, with GNU long names and pax `path` records) as a stream: one
//! member after another from any reader (the tar's bytes, or a gzip decoder inflating them),
//! so a `.tar.gz` is decoded while it is inflated and never held whole.

use std::io::Read;

use super::{ArchiveError, ArchiveLimits, SkipReason};

const BLOCK: usize = 512;
/// The longest long-name or pax record read.
const MAX_NAME_RECORD: u64 = 1 << 20;

/// One regular file (or a link, refused) of the tar.
pub struct Member {
    /// Its path inside the archive.
    pub path: String,
    /// Its bytes, or why they cannot be had.
    pub data: Result<Vec<u8>, SkipReason>,
}

/// The last entry of a tar cut short between files (or inside a header).
pub(super) fn cut(detail: String) -> Member {
    Member {
        path: "(end of archive)".into(),
        data: Err(SkipReason::Truncated { detail }),
    }
}

/// A NUL-terminated field.
fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// An octal size field (or GNU's base-256 form, first byte 0x80).
fn size(field: &[u8]) -> Result<u64, ArchiveError> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        return Ok(field[1..]
            .iter()
            .fold(0u64, |n, &b| n.saturating_mul(256) | u64::from(b)));
    }
    let digits = text(field);
    let digits = digits.trim_matches(|c: char| c == ' ' || c == '\0');
    if digits.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(digits, 8)
        .map_err(|_| ArchiveError::Corrupt(format!("a member size {digits:?} is not octal")))
}

/// The `path` of a pax extended header, if it has one (`<length> path=<value>\n` records).
fn pax_path(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    text.lines()
        .filter_map(|record| record.split_once(' ').map(|(_, kv)| kv))
        .find_map(|kv| kv.strip_prefix("path=").map(str::to_string))
}

/// The header checksum: the sum of the header's bytes with the checksum field as spaces.
fn checksum_ok(header: &[u8]) -> bool {
    let stored = text(&header[148..156]);
    let Ok(stored) = u64::from_str_radix(stored.trim_matches(|c: char| c == ' ' || c == '\0'), 8)
    else {
        return false;
    };
    let sum: u64 = header
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    sum == stored
}

/// Reads up to `buf.len()` bytes; how many came (fewer only at the end of the stream).
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The members of a tar, read in order from `inner`, within `bound` bytes in all.
pub struct TarReader<R> {
    inner: R,
    limits: ArchiveLimits,
    /// Uncompressed bytes the archive may have (the total and ratio bounds).
    bound: u64,
    read: u64,
    seen: usize,
    done: bool,
}

impl<R: Read> TarReader<R> {
    /// Reads `inner`, refusing it past `bound` uncompressed bytes or `limits`' entry count.
    pub fn new(inner: R, limits: ArchiveLimits, bound: u64) -> Self {
        Self {
            inner,
            limits,
            bound,
            read: 0,
            seen: 0,
            done: false,
        }
    }

    /// Counts `bytes` more against the bound; refuses the archive past it.
    fn count(&mut self, bytes: u64) -> Result<(), ArchiveError> {
        self.read += bytes;
        if self.read > self.bound {
            return Err(ArchiveError::Bomb(format!(
                "it holds more than {} bytes (at most {} in all, {} times the archive)",
                self.bound, self.limits.max_total_bytes, self.limits.max_ratio
            )));
        }
        Ok(())
    }

    /// Reads and drops `bytes` bytes; `false` when the stream ended first.
    fn skip(&mut self, bytes: u64) -> std::io::Result<bool> {
        let copied = std::io::copy(&mut (&mut self.inner).take(bytes), &mut std::io::sink())?;
        Ok(copied == bytes)
    }

    /// The end of reading, with a last entry saying why when it is not the tar's own end.
    fn end(&mut self, why: Option<String>) -> Option<Result<Member, ArchiveError>> {
        self.done = true;
        why.map(|why| Ok(cut(why)))
    }

    /// The next file (a link comes refused); `None` after the last. An error refuses the
    /// archive (a bomb, or damage before any file); damage or a cut after some files ends
    /// the listing with an entry that says so, and the files before it stand.
    pub fn next_member(&mut self) -> Option<Result<Member, ArchiveError>> {
        let mut long_name: Option<String> = None;
        while !self.done {
            let mut header = [0u8; BLOCK];
            let at = self.read;
            let filled = match read_full(&mut self.inner, &mut header) {
                Ok(n) => n,
                Err(e) if self.seen == 0 => {
                    self.done = true;
                    return Some(Err(ArchiveError::Truncated(format!("{e}"))));
                }
                Err(e) => {
                    return self.end(Some(format!(
                        "the archive is cut or damaged at byte {at}: {e}"
                    )));
                }
            };
            if filled < BLOCK {
                if self.seen == 0 {
                    self.done = true;
                    return Some(Err(ArchiveError::Truncated(format!(
                        "{filled} bytes, less than one tar header"
                    ))));
                }
                return self.end(Some(format!(
                    "the archive ends at byte {} without its end-of-archive marker (a cut download?)",
                    at + filled as u64
                )));
            }
            if header.iter().all(|&b| b == 0) {
                // The end-of-archive marker. What follows (zeros to the end of the record) is
                // read so that a gzip stream cut after it still says so.
                let rest =
                    std::io::copy(&mut (&mut self.inner).take(1 << 20), &mut std::io::sink());
                return self.end(rest.err().map(|e| {
                    format!("the archive is cut after its last file ({e}); every file was read")
                }));
            }
            if !checksum_ok(&header) {
                if self.seen == 0 {
                    self.done = true;
                    return Some(Err(ArchiveError::Corrupt(
                        "bad tar header checksum at byte 0".into(),
                    )));
                }
                return self.end(Some(format!(
                    "damaged tar header at byte {at}; the files after it are not read"
                )));
            }
            self.seen += 1;
            if self.seen > self.limits.max_entries {
                self.done = true;
                return Some(Err(ArchiveError::Bomb(format!(
                    "more than {} entries",
                    self.limits.max_entries
                ))));
            }
            let length = match size(&header[124..136]) {
                Ok(length) => length,
                Err(e) => return self.end(Some(e.to_string())),
            };
            let padded = length.div_ceil(BLOCK as u64) * BLOCK as u64;
            if let Err(bomb) = self.count(BLOCK as u64 + padded) {
                self.done = true;
                return Some(Err(bomb));
            }
            let name = long_name.take().unwrap_or_else(|| {
                let prefix = text(&header[345..500]);
                let name = text(&header[0..100]);
                if header[257..262] == *b"ustar" && !prefix.is_empty() {
                    format!("{prefix}/{name}")
                } else {
                    name
                }
            });
            let path = name.trim_start_matches("./").to_string();
            let member = match header[156] {
                b'0' | 0 | b'7' => self.file(path, length, padded),
                kind @ (b'L' | b'x') if length <= MAX_NAME_RECORD => {
                    match self.file(String::new(), length, padded) {
                        Ok(Member { data: Ok(data), .. }) if kind == b'L' => {
                            long_name = Some(text(&data));
                            continue;
                        }
                        Ok(Member { data: Ok(data), .. }) => {
                            long_name = pax_path(&data);
                            continue;
                        }
                        other => other,
                    }
                }
                b'1' | b'2' => self.skip(padded).map(|_| Member {
                    path,
                    data: Err(SkipReason::Unreadable {
                        detail: "a link inside the archive (not followed)".into(),
                    }),
                }),
                // Folders, global pax headers, devices, FIFOs: nothing to read.
                _ => match self.skip(padded) {
                    Ok(true) => continue,
                    Ok(false) => {
                        return self.end(Some(format!(
                            "the archive ends inside the entry at byte {at}"
                        )));
                    }
                    Err(e) => return self.end(Some(e.to_string())),
                },
            };
            return match member {
                Ok(member) => Some(Ok(member)),
                Err(e) => self.end(Some(format!(
                    "the archive is cut or damaged inside {name}: {e}"
                ))),
            };
        }
        None
    }

    /// A regular file's bytes (dropped, and the file refused, over the per-file bound); a
    /// file the stream ends inside is refused as truncated and ends the reading.
    fn file(&mut self, path: String, length: u64, padded: u64) -> std::io::Result<Member> {
        if length > self.limits.max_entry_bytes {
            let whole = self.skip(padded)?;
            self.done |= !whole;
            let detail = format!(
                "{length} bytes, over the {} a file may have",
                self.limits.max_entry_bytes
            );
            return Ok(Member {
                path,
                data: Err(SkipReason::TooLarge { detail }),
            });
        }
        let mut data = vec![0u8; length as usize];
        let filled = read_full(&mut self.inner, &mut data)?;
        if filled < data.len() {
            self.done = true;
            let detail = format!("the archive ends inside this file ({filled} of {length} bytes)");
            return Ok(Member {
                path,
                data: Err(SkipReason::Truncated { detail }),
            });
        }
        if !self.skip(padded - length)? {
            self.done = true;
        }
        Ok(Member {
            path,
            data: Ok(data),
        })
    }
}
