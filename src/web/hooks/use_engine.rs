//! Starts the engine worker, forwards its messages into the reducer, restarts it if it
//! crashes, and sends requests (queued until the worker has booted).

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};
use yew::prelude::*;

use crate::web::platform::{download, js};
use crate::web::protocol::{Request, Response, decode, encode};
use crate::web::state::{Action, AppState};

/// The worker's script (www/engine.js); it loads the same module as the page.
pub const WORKER_SCRIPT: &str = "engine.js";
/// The bundled ready model.
pub const BUNDLED_MODEL: &str = "models/seed-mednist.mcmodel";

struct Connection {
    worker: Option<Worker>,
    booted: bool,
    queue: Vec<JsValue>,
    dispatcher: UseReducerDispatcher<AppState>,
    on_message: Option<Closure<dyn FnMut(MessageEvent)>>,
    on_error: Option<Closure<dyn FnMut(ErrorEvent)>>,
    restarts: u32,
}

/// A handle to send requests to the engine.
#[derive(Clone)]
pub struct EngineHandle(Rc<RefCell<Connection>>);

impl PartialEq for EngineHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// URL of `path` relative to the page's base (works under any sub-path).
pub fn asset_url(path: &str) -> String {
    let base = gloo::utils::document()
        .base_uri()
        .ok()
        .flatten()
        .unwrap_or_default();
    js::resolve_url(path, &base)
}

/// The module the worker must load: the hashed names Trunk wrote into
/// `<meta name="medclassify-app">`, as absolute URLs (sent to `engine.js` as its first message).
fn module_names() -> JsValue {
    let meta = gloo::utils::document()
        .query_selector(r#"meta[name="medclassify-app"]"#)
        .ok()
        .flatten();
    let attribute = |name: &str| {
        meta.as_ref()
            .and_then(|m| m.get_attribute(name))
            .map(|v| asset_url(&v))
            .unwrap_or_default()
    };
    let names = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&names, &"js".into(), &attribute("data-js").into());
    let _ = js_sys::Reflect::set(&names, &"wasm".into(), &attribute("data-wasm").into());
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"medclassifyModule".into(), &names);
    message.into()
}

impl EngineHandle {
    /// Sends a request (queued until the worker has booted).
    pub fn send(&self, request: Request) {
        let value = match encode(&request) {
            Ok(value) => value,
            Err(error) => {
                self.0.borrow().dispatcher.dispatch(Action::Notify {
                    level: "error".into(),
                    message: error,
                });
                return;
            }
        };
        let mut connection = self.0.borrow_mut();
        match (&connection.worker, connection.booted) {
            (Some(worker), true) => {
                let _ = worker.post_message(&value);
            }
            _ => connection.queue.push(value),
        }
    }

    fn start(&self) {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = match Worker::new_with_options(&asset_url(WORKER_SCRIPT), &options) {
            Ok(worker) => worker,
            Err(error) => {
                self.0.borrow().dispatcher.dispatch(Action::Crashed(format!(
                    "the engine worker could not start: {}",
                    js::error_text(&error)
                )));
                return;
            }
        };
        let weak = Rc::downgrade(&self.0);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(connection) = weak.upgrade() else {
                return;
            };
            let handle = EngineHandle(connection);
            match decode::<Response>(event.data()) {
                Ok(response) => handle.receive(response),
                Err(error) => handle.0.borrow().dispatcher.dispatch(Action::Notify {
                    level: "error".into(),
                    message: error,
                }),
            }
        });
        let weak = Rc::downgrade(&self.0);
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            let Some(connection) = weak.upgrade() else {
                return;
            };
            EngineHandle(connection).crashed(event.message());
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let _ = worker.post_message(&module_names());
        let mut connection = self.0.borrow_mut();
        connection.worker = Some(worker);
        connection.booted = false;
        connection.on_message = Some(on_message);
        connection.on_error = Some(on_error);
        drop(connection);
        self.send(Request::Hello {
            bundled_model_url: asset_url(BUNDLED_MODEL),
        });
    }

    fn receive(&self, response: Response) {
        match &response {
            Response::Booted => {
                let mut connection = self.0.borrow_mut();
                connection.booted = true;
                let queue = std::mem::take(&mut connection.queue);
                if let Some(worker) = &connection.worker {
                    for value in queue {
                        let _ = worker.post_message(&value);
                    }
                }
                return;
            }
            Response::ManifestCsv { csv } => {
                let _ = download::download_text("split-manifest.csv", "text/csv", csv);
            }
            Response::ModelFile { file_name, bytes } => {
                let _ = download::download_bytes(file_name, "application/octet-stream", bytes);
            }
            _ => {}
        }
        let dispatcher = self.0.borrow().dispatcher.clone();
        dispatcher.dispatch(Action::Engine(response));
    }

    fn crashed(&self, message: String) {
        let restarts = {
            let mut connection = self.0.borrow_mut();
            if let Some(worker) = connection.worker.take() {
                worker.terminate();
            }
            connection.booted = false;
            connection.queue.clear();
            connection.restarts += 1;
            connection.restarts
        };
        let dispatcher = self.0.borrow().dispatcher.clone();
        dispatcher.dispatch(Action::Crashed(format!(
            "the engine stopped unexpectedly ({message}). It was restarted and the model saved in this browser was restored; \
             load the data again and press Resume to continue from the last completed epoch"
        )));
        if restarts <= 3 {
            self.start();
        }
    }
}

/// The engine connection for this page (started once).
#[hook]
pub fn use_engine(dispatcher: UseReducerDispatcher<AppState>) -> EngineHandle {
    let handle = use_memo((), move |_| {
        let handle = EngineHandle(Rc::new(RefCell::new(Connection {
            worker: None,
            booted: false,
            queue: Vec::new(),
            dispatcher,
            on_message: None,
            on_error: None,
            restarts: 0,
        })));
        handle.start();
        handle
    });
    (*handle).clone()
}
