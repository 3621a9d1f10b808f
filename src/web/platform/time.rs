//! Clocks and yielding to the event loop.

use std::time::Duration;

use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{Performance, Window, WorkerGlobalScope};

thread_local! {
    /// This global's `performance` (looked up once: `now_ms` runs between training steps).
    static PERFORMANCE: Option<Performance> = match js_sys::global().dyn_into::<WorkerGlobalScope>() {
        Ok(scope) => scope.performance(),
        Err(global) => global.unchecked_into::<Window>().performance(),
    };
}

/// Milliseconds from `performance.now()` (page or worker).
pub fn now_ms() -> f64 {
    PERFORMANCE.with(|performance| performance.as_ref().map_or(0.0, Performance::now))
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
    let turn = Turn {
        port: channel.port1(),
        _callback: callback,
    };
    turn.port
        .set_onmessage(Some(turn._callback.as_ref().unchecked_ref()));
    let _ = channel.port2().post_message(&wasm_bindgen::JsValue::NULL);
    let _ = receiver.await;
}

/// The port `yield_now` listens on and its handler, unhooked together when the wait ends or
/// is dropped. A future dropped mid-wait (a cancelled load drops its pending reads) must take
/// the handler off the port before freeing it: the posted message still arrives, and calling
/// a freed closure throws "closure invoked recursively or after being dropped" on the page.
struct Turn {
    port: web_sys::MessagePort,
    _callback: Closure<dyn FnMut()>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.port.set_onmessage(None);
        self.port.close();
    }
}

/// Waits `duration` (a timer; used while paused).
pub async fn sleep(duration: Duration) {
    gloo::timers::future::sleep(duration).await;
}
