//! Starts the engine worker, forwards its messages into the reducer, restarts it if it
//! crashes, and sends requests (queued until the worker has booted).

use crate::page::protocol::Level;
use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

use futures::StreamExt;
use futures::future::join_all;

use crate::data::{DecodeLimits, DicomOptions, InputShape, SplitConfig};
use crate::web::bridge::{Bridge, Script, WorkerEvent};
pub use crate::web::platform::js::asset_url;
use crate::web::platform::{download, files, time};
use crate::web::protocol::{FileContent, InputFile, Response};
use crate::web::state::{Action, AppState};
use crate::web::worker::protocol::{Control, Job, ToEngine};

/// The worker's script (www/engine.js); it loads the same module as the page.
pub const WORKER_SCRIPT: &str = "engine.js";
/// The bundled ready model.
pub const BUNDLED_MODEL: &str = "models/seed-mednist.mcmodel";

struct Connection {
    /// The running engine worker (what is sent before it has booted waits in the bridge).
    bridge: Option<Bridge<ToEngine, Response>>,
    dispatcher: UseReducerDispatcher<AppState>,
    restarts: u32,
    /// The load being streamed to the engine: its number and the files the engine has done.
    load: Option<(u32, usize)>,
    /// Number of the last load started.
    last_load: u32,
    /// The container (archive or `.npz`) the engine is reading, which the engine reads itself:
    /// named if the engine stops while reading it.
    reading: Option<String>,
}

/// Times the engine is restarted after it stopped, at most (a page that keeps stopping it is
/// not restarted in a loop).
const MAX_RESTARTS: u32 = 3;
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

impl EngineHandle {
    /// Sends a [`Control`] or a [`Job`] (queued until the worker has booted; dropped, with a
    /// message to reload, while no worker runs: after a stop beyond the restarts).
    pub fn send(&self, message: impl Into<ToEngine>) {
        let message = message.into();
        if let ToEngine::Job(Job::LoadNpz { name, .. } | Job::LoadArchive { name, .. }) = &message {
            self.0.borrow_mut().reading = Some(name.clone());
        }
        let connection = self.0.borrow();
        let Some(bridge) = &connection.bridge else {
            // Only after the last restart (or a worker that could not start): say it again.
            connection.dispatcher.dispatch(Action::Notify {
                level: Level::Error,
                message: "the engine is not running: reload the page to start it".into(),
            });
            return;
        };
        if let Err(error) = bridge.post(&message) {
            // Encoding failed (posting to a live worker does not).
            connection.dispatcher.dispatch(Action::Notify {
                level: Level::Error,
                message: error,
            });
        }
    }

    /// Starts a new data set from `files`: the page reads them and streams their bytes to the
    /// engine, a chunk at a time, never far ahead of the engine's progress. The main thread
    /// only awaits reads; a running load is cancelled first.
    pub fn load_files(
        &self,
        files: Vec<InputFile>,
        shape: InputShape,
        split: SplitConfig,
        dicom: DicomOptions,
    ) {
        // A label table goes first, so that the engine routes every image by it.
        let mut files = files;
        files.sort_by_key(|f| f.path != crate::data::LABELS_FILE);
        let load = {
            let mut connection = self.0.borrow_mut();
            connection.last_load += 1;
            let load = connection.last_load;
            let running = connection.load.replace((load, 0)).is_some();
            drop(connection);
            if running {
                self.send(Control::CancelLoad);
            }
            load
        };
        self.send(Job::LoadFiles {
            load,
            shape,
            split,
            total: files.len(),
            dicom,
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
        let with_table = inputs.iter().any(|f| f.path == crate::data::LABELS_FILE);
        // Several chunks are read at once: one chunk's reads alone leave the browser's file
        // reading idle between chunks, and the page at a third of the speed.
        // Each chunk's reads start in a task of their own: starting a read (`Blob.slice`) looks
        // at the disk synchronously (about 0.8 ms a file), so the first chunks started together
        // held the main thread for 0.2-0.5 s right after the pick.
        let mut reads = futures::stream::iter(inputs.chunks(LOAD_CHUNK).map(|chunk| async {
            time::yield_now().await;
            join_all(
                chunk
                    .iter()
                    .map(|input| files::read_for_load(input, &limits, with_table)),
            )
            .await
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
            self.send(Control::LoadChunk { load, files: read });
        }
        gloo::console::debug!(format!(
            "page sent {sent} files in {:.1} s: waiting for reads {:.1} s, held back by the engine {:.1} s",
            (time::now_ms() - started) / 1e3,
            read_ms / 1e3,
            held_ms / 1e3
        ));
    }

    fn start(&self) {
        let weak = Rc::downgrade(&self.0);
        let bridge = Bridge::spawn(Script::Engine(&asset_url(WORKER_SCRIPT)), move |event| {
            let Some(connection) = weak.upgrade() else {
                return;
            };
            let handle = EngineHandle(connection);
            match event {
                // The bridge has sent what was queued.
                WorkerEvent::Booted => {}
                WorkerEvent::Message(response) => handle.receive(response),
                WorkerEvent::Unreadable(error) => {
                    handle.0.borrow().dispatcher.dispatch(Action::Notify {
                        level: Level::Error,
                        message: error,
                    })
                }
                WorkerEvent::Crashed(message) => handle.crashed(message),
            }
        });
        match bridge {
            Ok(bridge) => self.0.borrow_mut().bridge = Some(bridge),
            Err(error) => {
                self.0.borrow().dispatcher.dispatch(Action::Crashed(format!(
                    "the engine worker could not start: {error}"
                )));
                return;
            }
        }
        self.send(Job::Hello {
            bundled_model_url: asset_url(BUNDLED_MODEL),
        });
    }

    fn receive(&self, response: Response) {
        match &response {
            // The bridge takes the boot message itself.
            Response::Booted => return,
            Response::LoadProgress { done, .. } => {
                if let Some((_, seen)) = self.0.borrow_mut().load.as_mut() {
                    *seen = *done;
                }
            }
            Response::Loaded { .. } | Response::LoadStopped { .. } => {
                let mut connection = self.0.borrow_mut();
                connection.load = None;
                connection.reading = None;
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
        let (restarts, reading) = {
            let mut connection = self.0.borrow_mut();
            // Dropping the bridge terminates the worker and drops what it had queued.
            connection.bridge = None;
            connection.load = None;
            connection.restarts += 1;
            (connection.restarts, connection.reading.take())
        };
        let dispatcher = self.0.borrow().dispatcher.clone();
        let restart = restarts <= MAX_RESTARTS;
        dispatcher.dispatch(Action::Crashed(crash_message(
            &message,
            reading.as_deref(),
            restart,
        )));
        if restart {
            self.start();
        }
    }
}

/// What the page says when the engine stopped: which file it was reading, if it was reading a
/// container (a crafted archive that stops the engine is named, like a crafted image that stops
/// a helper), and what was restored.
fn crash_message(message: &str, reading: Option<&str>, restarted: bool) -> String {
    if !restarted {
        let file = reading
            .map(|name| format!(" while reading {name}"))
            .unwrap_or_default();
        return format!(
            "the engine stopped unexpectedly{file} ({message}), and it has stopped {} times on this page: \
             it is not restarted again. Reload the page to start it; the model saved in this browser is kept",
            MAX_RESTARTS + 1
        );
    }
    let restored = "It was restarted and the model saved in this browser was restored";
    match reading {
        Some(name) => format!(
            "{name}: the engine stopped unexpectedly while reading this file ({message}), so nothing was loaded from it; \
             the file is damaged or not what its name says. {restored}; the data loaded before it must be loaded again"
        ),
        None => format!(
            "the engine stopped unexpectedly ({message}). {restored}; \
             load the data again and press Resume to continue from the last completed epoch"
        ),
    }
}

/// The engine connection for this page (started once).
#[hook]
pub fn use_engine(dispatcher: UseReducerDispatcher<AppState>) -> EngineHandle {
    let handle = use_memo((), move |_| {
        let handle = EngineHandle(Rc::new(RefCell::new(Connection {
            bridge: None,
            dispatcher,
            restarts: 0,
            load: None,
            last_load: 0,
            reading: None,
        })));
        handle.start();
        handle
    });
    (*handle).clone()
}
