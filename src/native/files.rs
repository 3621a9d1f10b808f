//! Reading untrusted files with a size bound, and writing files so that a crash never leaves
//! half of one behind.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::data::SkipReason;

/// `text` with every control character but line breaks and tabs shown as an escape
/// (`\u{1b}`), so a file or class name cannot move the cursor, recolour or retitle the
/// user's terminal.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// What kind of non-regular file `meta` describes, for the report ("a FIFO", ...).
pub fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    let _ = meta;
    "not a regular file"
}

/// Reads `path` if it is a regular file of at most `limit` bytes. The size is checked before
/// reading, and the read itself stops after `limit + 1` bytes (a file that grows meanwhile,
/// or a special file that lies about its size), so nothing unbounded is ever allocated and
/// nothing blocks on a FIFO.
pub fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, SkipReason> {
    let unreadable = |detail: String| SkipReason::Unreadable { detail };
    let meta = std::fs::metadata(path).map_err(|e| unreadable(e.to_string()))?;
    if !meta.is_file() {
        return Err(unreadable(format!(
            "not a regular file: {}",
            special_kind(&meta)
        )));
    }
    let too_large = |size: u64| SkipReason::TooLarge {
        detail: format!("the file has {size} bytes; the limit is {limit}"),
    };
    if meta.len() > limit as u64 {
        return Err(too_large(meta.len()));
    }
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(e.to_string()))?;
    if bytes.len() > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// The temporary name `write_atomic` writes to before renaming (same folder, so the rename
/// is atomic).
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.partial", std::process::id()));
    path.with_file_name(name)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over `path`. A crash or a full disk leaves the old file (or none), never half
/// of the new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let partial = partial_path(path);
    let result = (|| {
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&partial, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        format!("{}: {e}", path.display())
    })
}

/// Checks, before any long work, that `path` can be written: its folder exists and a file
/// can be created there. Nothing is left behind.
pub fn check_writable(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!("{} is a folder, not a file name", path.display()));
    }
    let partial = partial_path(path);
    std::fs::File::create(&partial)
        .map(|_| {
            let _ = std::fs::remove_file(&partial);
        })
        .map_err(|e| format!("{}: cannot write there: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mc-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn control_characters_are_escaped_for_the_terminal() {
        assert_eq!(
            terminal_safe("Hand\u{1b}]0;owned\u{7}"),
            "Hand\\u{1b}]0;owned\\u{7}"
        );
        assert_eq!(terminal_safe("a\tb\nc"), "a\tb\nc");
        assert_eq!(terminal_safe("CXR\r"), "CXR\\u{d}");
    }

    #[test]
    fn reads_are_bounded_and_special_files_refused() {
        let dir = temp("bounded");
        let file = dir.join("a.bin");
        std::fs::write(&file, vec![7u8; 100]).unwrap();
        assert_eq!(read_bounded(&file, 100).unwrap().len(), 100);
        assert_eq!(read_bounded(&file, 99).unwrap_err().code(), "too_large");
        assert_eq!(read_bounded(&dir, 99).unwrap_err().code(), "unreadable");
        #[cfg(target_os = "linux")]
        {
            // /dev/zero says it has 0 bytes and never ends: refused without reading.
            let error = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
            assert!(error.to_string().contains("device"), "{error}");
        }
    }

    #[test]
    fn atomic_write_replaces_whole_and_leaves_nothing_on_failure() {
        let dir = temp("atomic");
        let file = dir.join("m.mcmodel");
        write_atomic(&file, b"old").unwrap();
        write_atomic(&file, b"new contents").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new contents");
        let error = write_atomic(&dir.join("missing").join("x"), b"y").unwrap_err();
        assert!(error.contains("missing"), "{error}");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        assert!(check_writable(&dir.join("missing").join("x")).is_err());
        assert!(check_writable(&dir).is_err());
        assert!(check_writable(&dir.join("ok.mcmodel")).is_ok());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }
}
