//! Clocks and yielding to the event loop.

use std::time::Duration;

use super::js;
use wasm_bindgen::{JsCast, closure::Closure};

/// Milliseconds from `performance.now()` (page or worker).
pub fn now_ms() -> f64 {
    let performance = js::get(&js_sys::global(), "performance");
    js::call(&performance, "now", &[])
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

/// Gives the event loop one turn (a macrotask), so messages are received and sent.
///
/// Uses a `MessageChannel` rather than `setTimeout(0)`, which browsers clamp to 4 ms when
/// nested and throttle in background tabs.
pub async fn yield_now() {
    let Ok(channel) = web_sys::MessageChannel::new() else {
        sleep(Duration::ZERO).await;
        return;
    };
    let (sender, receiver) = futures::channel::oneshot::channel::<()>();
    let mut sender = Some(sender);
    let callback = Closure::<dyn FnMut()>::new(move || {
        if let Some(sender) = sender.take() {
            let _ = sender.send(());
        }
    });
    channel
        .port1()
        .set_onmessage(Some(callback.as_ref().unchecked_ref()));
    let _ = channel.port2().post_message(&wasm_bindgen::JsValue::NULL);
    let _ = receiver.await;
    channel.port1().set_onmessage(None);
    drop(callback);
}

/// Waits `duration` (a timer; used while paused).
pub async fn sleep(duration: Duration) {
    gloo::timers::future::sleep(duration).await;
}
