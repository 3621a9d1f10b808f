//! Decoding the user's files (or the bundled sample) in chunks, with progress and cancel.

use std::rc::Rc;

use futures::future::join_all;
use wasm_bindgen::JsValue;

use super::{Controls, post};
use crate::data::{Dataset, DatasetBuilder, LoadReport, SkipReason};
use crate::web::platform::{js, time};
use crate::web::protocol::{InputFile, Response};

/// Files read concurrently before decoding.
const CHUNK: usize = 64;

/// Why a load ended without a data set.
pub struct LoadStopped(pub String);

fn progress(done: usize, total: usize, started: f64, last: &mut f64) {
    let now = time::now_ms();
    if now - *last > 100.0 || done == total {
        *last = now;
        post(&Response::LoadProgress {
            done,
            total,
            elapsed_ms: now - started,
        });
    }
}

async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = js::await_value(JsValue::from(file.array_buffer()))
        .await
        .map_err(|e| js::error_text(&e))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Decodes `files` at `size`.
pub async fn load_files(
    files: Vec<InputFile>,
    size: u32,
    controls: &Rc<Controls>,
) -> Result<(Dataset, LoadReport), LoadStopped> {
    let total = files.len();
    let started = time::now_ms();
    let mut last = 0.0;
    let mut builder = DatasetBuilder::new(size);
    builder.reserve(total);
    let max_bytes = builder.limits().max_file_bytes as f64;
    for (chunk_index, chunk) in files.chunks(CHUNK).enumerate() {
        if controls.cancel_load.get() {
            return Err(LoadStopped(format!(
                "loading cancelled after {} of {total} files",
                chunk_index * CHUNK
            )));
        }
        let reads = chunk.iter().map(|input| async move {
            if let Some(reason) = DatasetBuilder::path_skip_reason(&input.path) {
                return Err(reason);
            }
            if input.file.size() > max_bytes {
                return Err(SkipReason::TooLarge {
                    detail: format!(
                        "file is {:.0} MB; the limit is {:.0} MB",
                        input.file.size() / 1e6,
                        max_bytes / 1e6
                    ),
                });
            }
            read_file(&input.file)
                .await
                .map_err(|detail| SkipReason::Unreadable { detail })
        });
        for (input, bytes) in chunk.iter().zip(join_all(reads).await) {
            match bytes {
                Ok(bytes) => {
                    builder.add_file(&input.path, &bytes);
                }
                Err(reason) => {
                    builder.add_prepared(&input.path, Err(reason));
                }
            }
        }
        progress(builder.files_seen(), total, started, &mut last);
    }
    Ok(builder.finish())
}

/// Fetches the bundled sample set listed at `index_url` and decodes it at `size`.
pub async fn load_sample(
    index_url: &str,
    size: u32,
    controls: &Rc<Controls>,
) -> Result<(Dataset, LoadReport), LoadStopped> {
    let index = js::fetch_bytes(index_url).await.map_err(LoadStopped)?;
    let index: serde_json::Value =
        serde_json::from_slice(&index).map_err(|e| LoadStopped(format!("sample index: {e}")))?;
    let root = index["root"].as_str().unwrap_or("").to_string();
    let files: Vec<String> = index["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let total = files.len();
    let started = time::now_ms();
    let mut last = 0.0;
    let mut builder = DatasetBuilder::new(size);
    for chunk in files.chunks(16) {
        if controls.cancel_load.get() {
            return Err(LoadStopped("loading the sample was cancelled".into()));
        }
        let fetches = chunk.iter().map(|path| {
            let url = js::resolve_url(&format!("{root}/{path}"), index_url);
            async move { js::fetch_bytes(&url).await }
        });
        for (path, bytes) in chunk.iter().zip(join_all(fetches).await) {
            match bytes {
                Ok(bytes) => {
                    builder.add_file(path, &bytes);
                }
                Err(error) => {
                    builder.add_unreadable(path, &error);
                }
            }
        }
        progress(builder.files_seen(), total, started, &mut last);
    }
    Ok(builder.finish())
}
