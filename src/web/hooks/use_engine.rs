//! Starts the engine worker, forwards its messages into the reducer, restarts it if it
//! crashes, and sends requests (queued until the worker has booted).

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};
use yew::prelude::*;

use futures::StreamExt;
use futures::future::join_all;

use crate::data::{DecodeLimits, SplitConfig};
use crate::web::platform::{download, files, js, time};
use crate::web::protocol::{FileContent, InputFile, Request, Response, decode, encode};
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
    /// The load being streamed to the engine: its number and the files the engine has done.
    load: Option<(u32, usize)>,
    /// Number of the last load started.
    last_load: u32,
}

/// Files read and sent per message while streaming a load.
const LOAD_CHUNK: usize = 64;
/// Chunks being read at once.
const LOAD_READS_AT_ONCE: usize = 4;
/// Files sent ahead of the engine's progress at most...
const LOAD_AHEAD_FILES: usize = 4096;
/// ...and bytes (the engine holds what it has not decoded yet).
const LOAD_AHEAD_BYTES: usize = 128 << 20;

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

    /// Starts a new data set from `files`: the page reads them and streams their bytes to the
    /// engine, a chunk at a time, never far ahead of the engine's progress. The main thread
    /// only awaits reads; a running load is cancelled first.
    pub fn load_files(&self, files: Vec<InputFile>, size: u32, split: SplitConfig) {
        let load = {
            let mut connection = self.0.borrow_mut();
            connection.last_load += 1;
            let load = connection.last_load;
            let running = connection.load.replace((load, 0)).is_some();
            drop(connection);
            if running {
                self.send(Request::CancelLoad);
            }
            load
        };
        self.send(Request::LoadFiles {
            load,
            size,
            split,
            total: files.len(),
        });
        let engine = self.clone();
        wasm_bindgen_futures::spawn_local(async move { engine.stream_load(load, files).await });
    }

    /// Files of load `load` the engine has done, or `None` once that load has ended.
    fn load_done(&self, load: u32) -> Option<usize> {
        match self.0.borrow().load {
            Some((current, done)) if current == load => Some(done),
            _ => None,
        }
    }

    async fn stream_load(&self, load: u32, inputs: Vec<InputFile>) {
        let limits = DecodeLimits::default();
        // Several chunks are read at once: one chunk's reads alone leave the browser's file
        // reading idle between chunks, and the page at a third of the speed.
        let mut reads = futures::stream::iter(inputs.chunks(LOAD_CHUNK).map(|chunk| {
            join_all(
                chunk
                    .iter()
                    .map(|input| files::read_for_load(input, &limits)),
            )
        }))
        .buffered(LOAD_READS_AT_ONCE);
        let mut sent = 0usize;
        // (files sent up to and including a chunk, its bytes) for chunks the engine may hold.
        let mut ahead: std::collections::VecDeque<(usize, usize)> = Default::default();
        let started = time::now_ms();
        let mut held_ms = 0.0;
        let mut read_ms = 0.0;
        loop {
            let turn = time::now_ms();
            let Some(read) = reads.next().await else {
                break;
            };
            read_ms += time::now_ms() - turn;
            let turn = time::now_ms();
            loop {
                let Some(done) = self.load_done(load) else {
                    return;
                };
                while ahead.front().is_some_and(|&(end, _)| end <= done) {
                    ahead.pop_front();
                }
                let bytes: usize = ahead.iter().map(|&(_, b)| b).sum();
                if ahead.is_empty()
                    || (sent.saturating_sub(done) < LOAD_AHEAD_FILES && bytes < LOAD_AHEAD_BYTES)
                {
                    break;
                }
                time::sleep(std::time::Duration::from_millis(10)).await;
            }
            held_ms += time::now_ms() - turn;
            let bytes = read
                .iter()
                .map(|f| match &f.content {
                    FileContent::Bytes(b) => b.len(),
                    FileContent::Skipped(_) => 0,
                })
                .sum();
            sent += read.len();
            ahead.push_back((sent, bytes));
            self.send(Request::LoadChunk { load, files: read });
        }
        gloo::console::debug!(format!(
            "page sent {sent} files in {:.1} s: waiting for reads {:.1} s, held back by the engine {:.1} s",
            (time::now_ms() - started) / 1e3,
            read_ms / 1e3,
            held_ms / 1e3
        ));
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
            Response::LoadProgress { done, .. } => {
                if let Some((_, seen)) = self.0.borrow_mut().load.as_mut() {
                    *seen = *done;
                }
            }
            Response::Loaded { .. } | Response::LoadStopped { .. } => {
                self.0.borrow_mut().load = None;
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
            connection.load = None;
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
            load: None,
            last_load: 0,
        })));
        handle.start();
        handle
    });
    (*handle).clone()
}
