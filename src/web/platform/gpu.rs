//! The WebGPU adapter, as the browser describes it.

use wasm_bindgen::JsValue;

use super::js;
use crate::web::protocol::GpuReport;

/// Asks `navigator.gpu` for an adapter and describes it (page or worker).
///
/// By property (`js::get`): web-sys types WebGPU only behind `web_sys_unstable_apis`.
pub async fn adapter_report() -> GpuReport {
    let navigator = js::get(&js_sys::global(), "navigator");
    let gpu = js::get(&navigator, "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return GpuReport {
            problem: Some("this browser has no WebGPU (navigator.gpu is missing)".into()),
            ..Default::default()
        };
    }
    let adapter = match js::call(&gpu, "requestAdapter", &[]) {
        Ok(promise) => js::await_value(promise).await,
        Err(error) => Err(error),
    };
    let adapter = match adapter {
        Ok(adapter) if !adapter.is_null() && !adapter.is_undefined() => adapter,
        Ok(_) => {
            return GpuReport {
                problem: Some("WebGPU returned no adapter (disabled or unsupported GPU)".into()),
                ..Default::default()
            };
        }
        Err(error) => {
            return GpuReport {
                problem: Some(format!(
                    "requesting a WebGPU adapter failed: {}",
                    js::error_text(&error)
                )),
                ..Default::default()
            };
        }
    };
    let info = js::get(&adapter, "info");
    let vendor = js::get_string(&info, "vendor");
    let architecture = js::get_string(&info, "architecture");
    let description = js::get_string(&info, "description");
    let fallback = js::get(&info, "isFallbackAdapter")
        .as_bool()
        .unwrap_or(false)
        || js::get(&adapter, "isFallbackAdapter")
            .as_bool()
            .unwrap_or(false);
    let text = format!("{vendor} {architecture} {description}").to_ascii_lowercase();
    let software = fallback
        || [
            "swiftshader",
            "llvmpipe",
            "lavapipe",
            "software",
            "warp",
            "microsoft basic render",
        ]
        .iter()
        .any(|s| text.contains(s));
    let _ = JsValue::NULL;
    let features = js::get(&adapter, "features");
    let timestamp_query = js::call(&features, "has", &[JsValue::from_str("timestamp-query")])
        .ok()
        .and_then(|has| has.as_bool())
        .unwrap_or(false);
    GpuReport {
        available: true,
        vendor,
        architecture,
        description,
        software,
        timestamp_query,
        problem: None,
        lost: false,
    }
}
