//! Which class a file belongs to, judged from its path alone.

use super::SkipReason;

/// File names that operating systems and tools leave in folders; never images.
/// (`__MACOSX` is the folder of resource forks that macOS adds to every zip it makes.)
const SYSTEM_FILES: &[&str] = &[
    "thumbs.db",
    "desktop.ini",
    "ehthumbs.db",
    "icon\r",
    "__macosx",
];

/// True for names that are hidden (`.DS_Store`, `._foo.jpeg`, `.git`) or system files.
pub fn is_hidden_name(name: &str) -> bool {
    name.starts_with('.') || SYSTEM_FILES.contains(&name.to_ascii_lowercase().as_str())
}

/// The class of a file from its path relative to the chosen folder (`/`-separated).
///
/// The class is the first-level folder, however deep the file sits below it. Files at the
/// top level and hidden or system files (or files inside hidden folders) are skipped.
/// Only `/` separates folders (the browser's paths and the native walk use it); a backslash
/// is part of a name, as it is on Linux, so a folder `Hand\x` is not the class `Hand`.
pub fn classify_path(relative_path: &str) -> Result<&str, SkipReason> {
    let parts: Vec<&str> = relative_path
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    let Some((file_name, folders)) = parts.split_last() else {
        return Err(SkipReason::Unreadable {
            detail: "empty path".into(),
        });
    };
    if parts.iter().any(|part| is_hidden_name(part)) {
        return Err(SkipReason::Hidden);
    }
    match folders.first() {
        Some(class) => Ok(class),
        None => {
            let _ = file_name;
            Err(SkipReason::OutsideClassFolder)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_is_first_level_folder() {
        let cases: &[(&str, Result<&str, SkipReason>)] = &[
            ("AbdomenCT/000001.jpeg", Ok("AbdomenCT")),
            ("Hand/left/deep/x.png", Ok("Hand")),
            ("./CXR/a.jpg", Ok("CXR")),
            ("CXR\\windows\\a.jpg", Err(SkipReason::OutsideClassFolder)),
            ("Hand\\x/a.jpg", Ok("Hand\\x")),
            ("readme.txt", Err(SkipReason::OutsideClassFolder)),
            (".DS_Store", Err(SkipReason::Hidden)),
            ("Hand/.DS_Store", Err(SkipReason::Hidden)),
            ("Hand/._000001.jpeg", Err(SkipReason::Hidden)),
            ("Hand/Thumbs.db", Err(SkipReason::Hidden)),
            (".git/objects/ab", Err(SkipReason::Hidden)),
            ("Hand/.cache/a.jpeg", Err(SkipReason::Hidden)),
        ];
        for (path, expected) in cases {
            assert_eq!(&classify_path(path), expected, "path {path}");
        }
    }
}
