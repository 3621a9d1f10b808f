//! The one typed bridge across every worker boundary: the page's engine worker, the engine's
//! decoding helpers and its training helper all start, hand-shake, crash and talk through
//! [`Bridge`]; inside a worker, [`listen`] and [`post_to_parent`] are the other end.
//!
//! A worker runs the page's own module (one cdylib, several entry points): the engine worker
//! is `engine.js`, told the hashed module names by its first message; a helper is started by
//! the engine through `self.medclassifySpawnHelper` (defined by `www/engine.js`) with the
//! engine's compiled `WebAssembly.Module`, so it neither downloads nor compiles anything.
//! Messages are serde values ([`encode`] / [`decode`]), so `File` handles and byte buffers
//! ride along as they are.
//!
//! Why not `gloo-worker` (yew's `web_worker_prime` reactor): its spawner creates the worker
//! itself from a script URL whose module it loads again (no way to go through
//! `medclassifySpawnHelper` with the already compiled module, nor to send `engine.js` the
//! module names first); its codec trait encodes to bytes by default; it reports no `error`
//! event (a crashed worker is silent, and the page must restart the engine) and has no boot
//! time-out; and its worker side answers one message at a time through its own scope, where
//! the engine must act on Pause / Stop / Cancel synchronously in the middle of a long job.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::mpsc::{UnboundedReceiver, unbounded};
use futures::{FutureExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{DedicatedWorkerGlobalScope, ErrorEvent, MessageEvent, Worker};

use crate::web::platform::{js, time};
use crate::web::protocol::{decode, encode};

/// How long a helper may take to load the module before the engine gives up on it.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(20);

/// A message a worker sends; one kind of it says the worker has booted (its code is loaded
/// and listening), before which nothing posted to it would be heard.
pub trait FromWorker: DeserializeOwned + 'static {
    /// Whether this is the worker's boot message.
    fn is_boot(&self) -> bool;
}

/// Which script a worker runs.
pub enum Script<'a> {
    /// `engine.js` at this URL, started by the page, sent the module names of
    /// `<meta name="medclassify-app">` as its first message.
    Engine(&'a str),
    /// A helper of the engine in this role (`decoder` or `peer`), given the engine's compiled
    /// module through `medclassifySpawnHelper`.
    Helper(&'a str),
}

/// What the owner of a [`Bridge`] hears from its worker.
pub enum WorkerEvent<T> {
    /// The boot message arrived; what was posted before it has been sent now.
    Booted,
    /// Any other message.
    Message(T),
    /// A message that could not be decoded (why).
    Unreadable(String),
    /// The worker raised an `error` event (it failed to load, or threw / panicked): its
    /// message, empty when the event carried none.
    Crashed(String),
}

/// Messages posted before the boot message, and whether it came.
#[derive(Default)]
struct Handshake {
    booted: bool,
    queue: Vec<JsValue>,
}

/// The parent's side of one worker: typed `post` (queued until the worker has booted), events
/// to a callback. Dropping it terminates the worker.
pub struct Bridge<In, Out> {
    worker: Worker,
    handshake: Rc<RefCell<Handshake>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
    _types: PhantomData<fn(In) -> Out>,
}

impl<In: Serialize, Out: FromWorker> Bridge<In, Out> {
    /// Starts a worker running `script`; everything it sends, and its crash, goes to
    /// `on_event` (called from the worker's message and error handlers).
    pub fn spawn(
        script: Script<'_>,
        on_event: impl FnMut(WorkerEvent<Out>) + 'static,
    ) -> Result<Self, String> {
        let worker = start(&script)?;
        let handshake = Rc::new(RefCell::new(Handshake::default()));
        let on_event = Rc::new(RefCell::new(on_event));
        let on_message = {
            let (worker, handshake, on_event) =
                (worker.clone(), handshake.clone(), on_event.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let event = match decode::<Out>(event.data()) {
                    Ok(message) if message.is_boot() => {
                        let queue = {
                            let mut handshake = handshake.borrow_mut();
                            handshake.booted = true;
                            std::mem::take(&mut handshake.queue)
                        };
                        for value in queue {
                            let _ = worker.post_message(&value);
                        }
                        WorkerEvent::Booted
                    }
                    Ok(message) => WorkerEvent::Message(message),
                    Err(error) => WorkerEvent::Unreadable(error),
                };
                (on_event.borrow_mut())(event);
            })
        };
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            event.prevent_default();
            // A script that fails to load raises a plain `Event`, an exception an `ErrorEvent`.
            let message = event
                .dyn_ref::<ErrorEvent>()
                .map(ErrorEvent::message)
                .unwrap_or_default();
            (on_event.borrow_mut())(WorkerEvent::Crashed(message));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self {
            worker,
            handshake,
            _on_message: on_message,
            _on_error: on_error,
            _types: PhantomData,
        })
    }

    /// Starts a worker and waits (up to `timeout`) for its boot message; its later events
    /// arrive on the returned channel.
    pub async fn launch(
        script: Script<'_>,
        timeout: Duration,
    ) -> Result<(Self, UnboundedReceiver<WorkerEvent<Out>>), String> {
        let (sender, mut events) = unbounded();
        let bridge = Self::spawn(script, move |event| {
            let _ = sender.unbounded_send(event);
        })?;
        let mut timeout_timer = Box::pin(time::sleep(timeout).fuse());
        let event = futures::select! {
            event = events.next() => event,
            _ = timeout_timer => return Err(format!("it did not start within {} s", timeout.as_secs())),
        };
        match event {
            Some(WorkerEvent::Booted) => Ok((bridge, events)),
            Some(WorkerEvent::Message(_)) => Err("it answered out of turn".into()),
            Some(WorkerEvent::Unreadable(error) | WorkerEvent::Crashed(error)) => Err(error),
            None => Err("it stopped".into()),
        }
    }

    /// Sends `message`, or queues it until the worker has booted.
    pub fn post(&self, message: &In) -> Result<(), String> {
        let value = encode(message)?;
        let mut handshake = self.handshake.borrow_mut();
        if handshake.booted {
            drop(handshake);
            self.worker
                .post_message(&value)
                .map_err(|e| js::error_text(&e))
        } else {
            handshake.queue.push(value);
            Ok(())
        }
    }

    /// Whether the boot message has arrived.
    pub fn is_booted(&self) -> bool {
        self.handshake.borrow().booted
    }
}

impl<In, Out> Drop for Bridge<In, Out> {
    fn drop(&mut self) {
        // Unhooked first: a message already queued on the page must not reach the handlers
        // freed with this bridge (calling a freed closure throws on the page).
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

/// The module names `engine.js` waits for: `{medclassifyModule: {js, wasm}}`, absolute URLs.
#[derive(Serialize)]
struct ModuleMessage {
    #[serde(rename = "medclassifyModule")]
    module: ModuleNames,
}

#[derive(Serialize)]
struct ModuleNames {
    js: String,
    wasm: String,
}

/// The hashed names Trunk wrote into `<meta name="medclassify-app">`, as absolute URLs (sent
/// by message, not in the URL: a service worker answering from its cache would give the
/// worker the cached URL without its query string).
fn module_message() -> Result<JsValue, String> {
    let meta = gloo::utils::document()
        .query_selector(r#"meta[name="medclassify-app"]"#)
        .ok()
        .flatten();
    let attribute = |name: &str| {
        meta.as_ref()
            .and_then(|m| m.get_attribute(name))
            .map(|v| js::asset_url(&v))
            .unwrap_or_default()
    };
    encode(&ModuleMessage {
        module: ModuleNames {
            js: attribute("data-js"),
            wasm: attribute("data-wasm"),
        },
    })
}

/// Creates the worker for `script` and gives it what it needs to load the module.
fn start(script: &Script<'_>) -> Result<Worker, String> {
    match script {
        Script::Engine(url) => {
            let options = web_sys::WorkerOptions::new();
            options.set_type(web_sys::WorkerType::Module);
            let worker = Worker::new_with_options(url, &options).map_err(|e| js::error_text(&e))?;
            let _ = worker.post_message(&module_message()?);
            Ok(worker)
        }
        Script::Helper(role) => {
            // `medclassifySpawnHelper` is ours, set on the global by `engine.js`: no typed API.
            let spawner: js_sys::Function = js::get(&js_sys::global(), "medclassifySpawnHelper")
                .dyn_into()
                .map_err(|_| "this engine script cannot start helper workers".to_string())?;
            spawner
                .call2(
                    &JsValue::NULL,
                    &wasm_bindgen::module(),
                    &JsValue::from_str(role),
                )
                .map_err(|e| format!("a helper worker could not start: {}", js::error_text(&e)))?
                .dyn_into::<Worker>()
                .map_err(|_| "a helper worker could not start".to_string())
        }
    }
}

/// Inside a worker: hands every message from the parent, decoded, to `handler` (for the life
/// of the worker). Called once by each worker's entry point.
pub fn listen<T: DeserializeOwned + 'static>(mut handler: impl FnMut(Result<T, String>) + 'static) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let closure = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        handler(decode::<T>(event.data()));
    });
    scope.set_onmessage(Some(closure.as_ref().unchecked_ref()));
    closure.forget();
}

/// Inside a worker: posts a message to whoever started it (the page for the engine, the
/// engine for a helper).
pub fn post_to_parent<T: Serialize>(message: &T) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    match encode(message) {
        Ok(value) => {
            let _ = scope.post_message(&value);
        }
        Err(error) => gloo::console::error!(error),
    }
}
