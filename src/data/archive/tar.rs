//! The members of a tar (POSIX ustar, with GNU long names and pax `path` records): each
//! regular file's path and where its bytes are. Nothing is copied.

use super::{ArchiveError, ArchiveLimits, Entry, SkipReason};

const BLOCK: usize = 512;

/// A NUL-terminated field.
fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// An octal size field (or GNU's base-256 form, first byte 0x80).
fn size(field: &[u8]) -> Result<u64, ArchiveError> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        return Ok(field[1..].iter().fold(0u64, |n, &b| n.saturating_mul(256) | u64::from(b)));
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
        .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u64::from(b) })
        .sum();
    sum == stored
}

/// The last entry of a tar cut short between files.
pub(super) fn cut(detail: String) -> Entry {
    Entry {
        path: "(end of archive)".into(),
        location: (0, 0),
        refused: Some(SkipReason::Truncated { detail }),
    }
}

/// Every regular file of the tar in `bytes`, in order. A tar cut short keeps the files before
/// the cut; the file it falls in (or a last `(end of archive)` entry) is refused as truncated.
pub(super) fn members(bytes: &[u8], limits: &ArchiveLimits) -> Result<Vec<Entry>, ArchiveError> {
    let mut entries = Vec::new();
    let (mut at, mut seen) = (0usize, 0usize);
    let mut long_name: Option<String> = None;
    while at + BLOCK <= bytes.len() {
        let header = &bytes[at..at + BLOCK];
        if header.iter().all(|&b| b == 0) {
            return Ok(entries); // the end-of-archive blocks
        }
        if !checksum_ok(header) {
            if entries.is_empty() {
                return Err(ArchiveError::Corrupt(format!("bad header checksum at byte {at}")));
            }
            entries.push(cut(format!("damaged tar header at byte {at}; the files after it are not read")));
            return Ok(entries);
        }
        seen += 1;
        if seen > limits.max_entries {
            return Err(ArchiveError::Bomb(format!(
                "more than {} entries",
                limits.max_entries
            )));
        }
        let length = size(&header[124..136])?;
        let name = match long_name.take() {
            Some(name) => name,
            None => {
                let prefix = text(&header[345..500]);
                let name = text(&header[0..100]);
                if header[257..262] == *b"ustar" && !prefix.is_empty() {
                    format!("{prefix}/{name}")
                } else {
                    name
                }
            }
        };
        let path = name.trim_start_matches("./").to_string();
        let start = at + BLOCK;
        let end = usize::try_from(length).ok().and_then(|l| start.checked_add(l));
        let Some(end) = end.filter(|&end| end <= bytes.len()) else {
            entries.push(Entry {
                path,
                location: (start, 0),
                refused: Some(SkipReason::Truncated {
                    detail: format!(
                        "the archive ends inside this file ({} of {length} bytes)",
                        bytes.len().saturating_sub(start)
                    ),
                }),
            });
            return Ok(entries);
        };
        let data = &bytes[start..end];
        match header[156] {
            b'0' | 0 | b'7' => entries.push(Entry {
                path,
                location: (start, data.len()),
                refused: (length > limits.max_entry_bytes).then(|| SkipReason::TooLarge {
                    detail: format!(
                        "{length} bytes, over the {} a file may have",
                        limits.max_entry_bytes
                    ),
                }),
            }),
            b'L' => long_name = Some(text(data)),
            b'x' => long_name = pax_path(data),
            b'1' | b'2' => entries.push(Entry {
                path,
                location: (start, 0),
                refused: Some(SkipReason::Unreadable {
                    detail: "a link inside the archive (not followed)".into(),
                }),
            }),
            // Folders, global pax headers, devices, FIFOs: nothing to read.
            _ => {}
        }
        at = start + length.div_ceil(BLOCK as u64) as usize * BLOCK;
    }
    if entries.is_empty() && at == 0 {
        return Err(ArchiveError::Truncated(format!(
            "{} bytes, less than one tar header",
            bytes.len()
        )));
    }
    // No end-of-archive blocks: cut short between files (or inside a header).
    entries.push(cut(format!(
        "the archive ends at byte {} without its end-of-archive marker (a cut download?)",
        bytes.len()
    )));
    Ok(entries)
}
