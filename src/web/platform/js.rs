//! Small helpers over `js_sys::Reflect` (for what web-sys has no type for) and typed
//! helpers valid in the page and in workers.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// `target[name]`, or `undefined`.
pub fn get(target: &JsValue, name: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// `target[name]` as a string ("" when missing).
pub fn get_string(target: &JsValue, name: &str) -> String {
    get(target, name).as_string().unwrap_or_default()
}

/// Calls `target[name](args...)`.
pub fn call(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let function: Function = get(target, name)
        .dyn_into()
        .map_err(|_| JsValue::from_str(&format!("{name} is not a function here")))?;
    let array = js_sys::Array::new();
    for arg in args {
        array.push(arg);
    }
    function.apply(target, &array)
}

/// Awaits `value` if it is a promise.
pub async fn await_value(value: JsValue) -> Result<JsValue, JsValue> {
    match value.dyn_into::<Promise>() {
        Ok(promise) => JsFuture::from(promise).await,
        Err(value) => Ok(value),
    }
}

/// A JS error as readable text (by property: what is thrown need not be an `Error`).
pub fn error_text(error: &JsValue) -> String {
    if let Some(text) = error.as_string() {
        return text;
    }
    let message = get_string(error, "message");
    let name = get_string(error, "name");
    match (name.is_empty(), message.is_empty()) {
        (_, false) if !name.is_empty() => format!("{name}: {message}"),
        (_, false) => message,
        _ => format!("{error:?}"),
    }
}

/// Fetches `url` (same origin): the response, once its status says it is there.
async fn fetch_ok(url: &str) -> Result<web_sys::Response, String> {
    let promise = match js_sys::global().dyn_into::<web_sys::WorkerGlobalScope>() {
        Ok(scope) => scope.fetch_with_str(url),
        Err(global) => global
            .unchecked_into::<web_sys::Window>()
            .fetch_with_str(url),
    };
    let response: web_sys::Response = JsFuture::from(promise)
        .await
        .map_err(|e| format!("{url}: {}", error_text(&e)))?
        .unchecked_into();
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    Ok(response)
}

/// Fetches `url` (same origin) chunk by chunk, calling `progress(received)` after each, and
/// stops with a message past `limit` bytes (a server cannot make the engine hold more).
pub async fn fetch_bytes_with_progress(
    url: &str,
    limit: usize,
    mut progress: impl FnMut(usize),
) -> Result<Vec<u8>, String> {
    let response = fetch_ok(url).await?;
    let failed = |e: JsValue| format!("{url}: {}", error_text(&e));
    let reader = call(&get(&response, "body"), "getReader", &[]).map_err(failed)?;
    let mut bytes = Vec::new();
    loop {
        let step = await_value(call(&reader, "read", &[]).map_err(failed)?)
            .await
            .map_err(failed)?;
        if get(&step, "done").is_truthy() {
            return Ok(bytes);
        }
        let chunk: js_sys::Uint8Array = get(&step, "value").unchecked_into();
        if bytes.len() + chunk.length() as usize > limit {
            let _ = call(&reader, "cancel", &[]);
            return Err(format!("{url}: larger than the expected {limit} bytes"));
        }
        let start = bytes.len();
        bytes.resize(start + chunk.length() as usize, 0);
        chunk.copy_to(&mut bytes[start..]);
        progress(bytes.len());
    }
}

/// Fetches `url` (same origin) and returns its bytes.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = fetch_ok(url).await?;
    let buffer = JsFuture::from(response.array_buffer().map_err(|e| error_text(&e))?)
        .await
        .map_err(|e| format!("{url}: {}", error_text(&e)))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Resolves `relative` against `base` (both URLs or paths).
pub fn resolve_url(relative: &str, base: &str) -> String {
    web_sys::Url::new_with_base(relative, base)
        .map(|u| u.href())
        .unwrap_or_else(|_| relative.to_string())
}

/// URL of `path` relative to the page's base (works under any sub-path; page only).
pub fn asset_url(path: &str) -> String {
    let base = gloo::utils::document()
        .base_uri()
        .ok()
        .flatten()
        .unwrap_or_default();
    resolve_url(path, &base)
}
