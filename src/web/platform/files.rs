//! Turning what the user picked or dropped into files with paths relative to the chosen
//! folder (page only).

use js_sys::{Array, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DataTransfer, File, FileList, FileSystemDirectoryEntry, FileSystemEntry, FileSystemFileEntry,
};

use super::js;
use crate::data::{DatasetBuilder, DecodeLimits, SkipReason};
use crate::web::protocol::{FileBytes, FileContent, InputFile};

/// File-name endings read without asking the file's size first.
const IMAGE_ENDINGS: &[&str] = &[".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"];

fn too_large(bytes: f64, limits: &DecodeLimits) -> FileContent {
    FileContent::Skipped(SkipReason::TooLarge {
        detail: format!(
            "file is {:.0} MB; the limit is {:.0} MB",
            bytes / 1e6,
            limits.max_file_bytes as f64 / 1e6
        ),
    })
}

/// Reads one file of a load in the page, so that the engine gets bytes, not `File` handles.
///
/// A file's place in the folder is checked first. Its size is asked only for files not named
/// like images: for a file from a folder picker, `File.size` is a synchronous look at the disk
/// (~0.25 ms on the main thread; 15 s for the 58,954 MedNIST files), while the bytes arrive
/// asynchronously; a file named like an image is read only up to one byte past the limit.
pub async fn read_for_load(
    input: &InputFile,
    limits: &DecodeLimits,
    with_table: bool,
) -> FileBytes {
    let lower = input.path.to_ascii_lowercase();
    let named_like_image = IMAGE_ENDINGS.iter().any(|ending| lower.ends_with(ending));
    let max_bytes = limits.max_file_bytes as f64;
    // With a label table (`labels.csv`), files outside class folders have classes too.
    let skip = DatasetBuilder::path_skip_reason(&input.path)
        .filter(|reason| !(with_table && *reason == SkipReason::OutsideClassFolder));
    let content = match skip {
        Some(reason) => FileContent::Skipped(reason),
        None if !named_like_image && input.file.size() > max_bytes => {
            too_large(input.file.size(), limits)
        }
        None => match read_at_most(&input.file, max_bytes).await {
            // One byte past the limit was read: the file is over it (its size asked only now).
            Ok(bytes) if bytes.len() as f64 > max_bytes => too_large(input.file.size(), limits),
            Ok(bytes) => FileContent::Bytes(bytes),
            Err(detail) => FileContent::Skipped(SkipReason::Unreadable { detail }),
        },
    };
    FileBytes {
        path: input.path.clone(),
        content,
    }
}

/// Reads at most `limit + 1` bytes of a file: a file named like an image but of gigabytes is
/// never read whole (`Blob.slice` reads only its range). Slicing a file from the disk looks at
/// it synchronously too (about 0.8 ms), which is why the page starts a load's reads a chunk
/// per task (`EngineHandle::stream_load`).
async fn read_at_most(file: &File, limit: f64) -> Result<Vec<u8>, String> {
    let part = file
        .slice_with_f64_and_f64(0.0, limit + 1.0)
        .map_err(|error| js::error_text(&error))?;
    let buffer = js::await_value(JsValue::from(part.array_buffer()))
        .await
        .map_err(|error| js::error_text(&error))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Drops the first path component when every path shares it (the chosen folder's own name).
fn strip_common_root(mut files: Vec<InputFile>) -> Vec<InputFile> {
    let first = files
        .first()
        .and_then(|f| f.path.split('/').next().map(str::to_string));
    if let Some(root) = first {
        let prefix = format!("{root}/");
        if files.iter().all(|f| f.path.starts_with(&prefix)) {
            for f in &mut files {
                f.path = f.path[prefix.len()..].to_string();
            }
        }
    }
    files
}

/// Files of an `<input type=file webkitdirectory>` (paths from `webkitRelativePath`).
pub fn from_file_list(list: &FileList) -> Vec<InputFile> {
    let files: Vec<InputFile> = (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|file| {
            // web-sys's `File` has no `webkitRelativePath`.
            let relative = js::get_string(&file, "webkitRelativePath");
            let path = if relative.is_empty() {
                file.name()
            } else {
                relative
            };
            InputFile { path, file }
        })
        .collect();
    strip_common_root(files)
}

/// Plain files (no folder structure), e.g. for Predict.
pub fn plain_files(list: &FileList) -> Vec<InputFile> {
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|file| InputFile {
            path: file.name(),
            file,
        })
        .collect()
}

/// The entries of a drop. Must be called inside the `drop` handler: the browser empties
/// the `DataTransfer` afterwards.
pub fn drop_entries(data: &DataTransfer) -> (Vec<FileSystemEntry>, Vec<File>) {
    let items = data.items();
    let mut entries = Vec::new();
    let mut loose = Vec::new();
    for i in 0..items.length() {
        let Some(item) = items.get(i) else { continue };
        if item.kind() != "file" {
            continue;
        }
        match item.webkit_get_as_entry() {
            Ok(Some(entry)) => entries.push(entry),
            _ => {
                if let Ok(Some(file)) = item.get_as_file() {
                    loose.push(file);
                }
            }
        }
    }
    (entries, loose)
}

async fn entry_file(entry: &FileSystemFileEntry) -> Result<File, JsValue> {
    let promise = Promise::new(&mut |resolve, reject| {
        entry.file_with_callback_and_callback(&resolve, &reject);
    });
    Ok(JsFuture::from(promise).await?.unchecked_into())
}

async fn read_batch(reader: &web_sys::FileSystemDirectoryReader) -> Result<Array, JsValue> {
    let promise = Promise::new(&mut |resolve, reject| {
        let _ = reader.read_entries_with_callback_and_callback(&resolve, &reject);
    });
    Ok(JsFuture::from(promise).await?.unchecked_into())
}

/// Walks dropped entries recursively. A single dropped folder is the chosen folder; several
/// dropped items are treated as the contents of a folder.
pub async fn walk_drop(
    entries: Vec<FileSystemEntry>,
    loose: Vec<File>,
    errors: &mut Vec<(String, String)>,
) -> Vec<InputFile> {
    let single_root = entries.len() == 1 && entries[0].is_directory() && loose.is_empty();
    let mut out: Vec<InputFile> = loose
        .into_iter()
        .map(|file| InputFile {
            path: file.name(),
            file,
        })
        .collect();
    let mut stack: Vec<FileSystemEntry> = entries;
    while let Some(entry) = stack.pop() {
        let full = entry.full_path();
        let path = full.trim_start_matches('/').to_string();
        if entry.is_file() {
            match entry_file(entry.unchecked_ref::<FileSystemFileEntry>()).await {
                Ok(file) => out.push(InputFile { path, file }),
                Err(error) => errors.push((path, js::error_text(&error))),
            }
        } else if entry.is_directory() {
            let reader = entry
                .unchecked_ref::<FileSystemDirectoryEntry>()
                .create_reader();
            loop {
                match read_batch(&reader).await {
                    Ok(batch) if batch.length() > 0 => {
                        for value in batch.iter() {
                            stack.push(value.unchecked_into());
                        }
                    }
                    Ok(_) => break,
                    Err(error) => {
                        errors.push((path.clone(), js::error_text(&error)));
                        break;
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    if single_root {
        strip_common_root(out)
    } else {
        out
    }
}

/// True when the browser offers `showDirectoryPicker` (Chromium-based browsers).
pub fn has_directory_picker() -> bool {
    // web-sys has no `showDirectoryPicker` outside `web_sys_unstable_apis`.
    let picker = js::get(&js_sys::global(), "showDirectoryPicker");
    picker.is_function()
}

/// Why [`pick_directory`] returned no folder.
#[derive(Debug, PartialEq)]
pub enum PickError {
    /// The user closed the picker without choosing (the promise's `AbortError`): nothing to
    /// say.
    Cancelled,
    /// The browser refused or failed (permission, a folder it will not open): the reason.
    Failed(String),
}

impl PickError {
    /// The picker's rejection as a refusal by the user or a failure, by the DOMException's
    /// `name` (the standard's "AbortError" when the user dismisses the picker).
    fn from_js(error: &JsValue) -> Self {
        match js::get_string(error, "name").as_str() {
            "AbortError" => Self::Cancelled,
            _ => Self::Failed(js::error_text(error)),
        }
    }
}

/// Lets the user choose a folder with the File System Access API and lists its files.
///
/// By property (`js::call`): the picker and the handles' async iterators are typed in web-sys
/// only behind `web_sys_unstable_apis`.
pub async fn pick_directory(
    errors: &mut Vec<(String, String)>,
) -> Result<Vec<InputFile>, PickError> {
    let picker = js::call(&js_sys::global(), "showDirectoryPicker", &[])
        .map_err(|e| PickError::from_js(&e))?;
    let handle = js::await_value(picker)
        .await
        .map_err(|e| PickError::from_js(&e))?;
    let mut out = Vec::new();
    let mut stack: Vec<(String, JsValue)> = vec![(String::new(), handle)];
    while let Some((prefix, directory)) = stack.pop() {
        let iterator = js::call(&directory, "values", &[])
            .map_err(|e| PickError::Failed(js::error_text(&e)))?;
        loop {
            let step = match js::call(&iterator, "next", &[]) {
                Ok(p) => js::await_value(p).await,
                Err(e) => Err(e),
            };
            let step = match step {
                Ok(step) => step,
                Err(error) => {
                    errors.push((prefix.clone(), js::error_text(&error)));
                    break;
                }
            };
            if js::get(&step, "done").as_bool().unwrap_or(true) {
                break;
            }
            let entry = js::get(&step, "value");
            let name = js::get_string(&entry, "name");
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            match js::get_string(&entry, "kind").as_str() {
                "directory" => stack.push((path, entry)),
                "file" => match js::call(&entry, "getFile", &[]) {
                    Ok(p) => match js::await_value(p).await {
                        Ok(file) => out.push(InputFile {
                            path,
                            file: file.unchecked_into(),
                        }),
                        Err(error) => errors.push((path, js::error_text(&error))),
                    },
                    Err(error) => errors.push((path, js::error_text(&error))),
                },
                _ => {}
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
