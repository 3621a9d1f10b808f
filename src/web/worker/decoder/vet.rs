//! A container the engine reads whole (an archive, a MedMNIST `.npz`) is first read by a
//! decoding helper with the same readers. A reader that panics on a crafted file aborts the
//! worker it runs in (a panic in wasm is an abort): in a helper that costs the helper, and the
//! engine refuses the file by name instead of reading it; the readers are deterministic, so a
//! file the helper read to its end will not stop the engine. Without helpers (a browser that
//! cannot start one) the engine reads it as before.

use std::time::Duration;

use futures::{FutureExt, StreamExt};
use serde::Serialize;

use super::protocol::{Container, DecoderReply};
use crate::data::{ArchiveLimits, walk_archive, walk_npz};
use crate::web::bridge::{BOOT_TIMEOUT, Bridge, Script, WorkerEvent};
use crate::web::platform::time;

/// Bytes that make a helper's reader panic when a container holds them anywhere: the drill by
/// which the tests show that a container that aborts its reader is refused by name while the
/// engine goes on. To the engine, the command line and every reader it is plain data.
pub const CONTAINER_DRILL: &[u8] = b"MedClassify crash drill: this container stops its reader\n";

/// The helper's side: reads every file of `bytes` and drops them (a refusal is the engine's
/// to report when it reads the container itself).
pub fn walk(container: Container, bytes: &[u8]) {
    if bytes
        .windows(CONTAINER_DRILL.len())
        .any(|window| window == CONTAINER_DRILL)
    {
        panic!("crash drill: a container holds the drill");
    }
    match container {
        Container::Archive => drop(walk_archive(bytes, ArchiveLimits::default())),
        Container::Npz => drop(walk_npz(bytes)),
    }
}

/// [`super::protocol::DecoderRequest::Walk`] as the engine sends it: the bytes copied once,
/// straight from wasm memory into a JavaScript buffer, which `postMessage` clones. (Moving it
/// instead, with a transfer list, left WebKitGTK 2.50's engine waiting for ever.)
#[derive(Serialize)]
enum WalkRequest {
    Walk {
        container: Container,
        #[serde(with = "serde_wasm_bindgen::preserve")]
        bytes: js_sys::Uint8Array,
    },
}

/// The largest container read by a helper first: the bytes are copied for it (a JavaScript
/// buffer, its clone, and the helper's own copy while it reads), which a file of gigabytes
/// cannot afford.
const VET_MAX_BYTES: usize = 512 << 20;

/// Has a helper read `bytes` (the file `name`) to its end first: `Err` with the message
/// that refuses the file when the reader stopped the helper or took too long. A file over
/// [`VET_MAX_BYTES`], or one no helper can start for, is left to the engine as before.
pub async fn vet(name: &str, container: Container, bytes: &[u8]) -> Result<(), String> {
    if bytes.len() > VET_MAX_BYTES {
        gloo::console::warn!(format!(
            "{name} is read without a helper first (over 512 MB)"
        ));
        return Ok(());
    }
    let launched =
        Bridge::<WalkRequest, DecoderReply>::launch(Script::Helper("decoder"), BOOT_TIMEOUT);
    let (bridge, mut events) = match launched.await {
        Ok(started) => started,
        Err(error) => {
            gloo::console::warn!(format!("{name} is read without a helper first ({error})"));
            return Ok(());
        }
    };
    let request = WalkRequest::Walk {
        container,
        bytes: js_sys::Uint8Array::from(bytes),
    };
    if let Err(error) = bridge.post(&request) {
        gloo::console::warn!(format!("{name} is read without a helper first ({error})"));
        return Ok(());
    }
    // Generous: a slow device inflating a large .tar.gz.
    let limit = Duration::from_secs(60 + 2 * (bytes.len() as u64 >> 20));
    let mut timer = Box::pin(time::sleep(limit).fuse());
    let event = futures::select! {
        event = events.next() => event,
        _ = timer => return Err(format!(
            "{name}: reading it took over {} s, so it was not opened; nothing was loaded from it",
            limit.as_secs()
        )),
    };
    match event {
        Some(WorkerEvent::Message(DecoderReply::Walked)) => Ok(()),
        Some(WorkerEvent::Crashed(_) | WorkerEvent::Unreadable(_)) | None => Err(format!(
            "{name}: its reader stopped on this file (a crafted or damaged {}), so the engine did not open it; nothing was loaded from it",
            match container {
                Container::Archive => "archive",
                Container::Npz => "MedMNIST file",
            }
        )),
        Some(WorkerEvent::Booted | WorkerEvent::Message(_)) => Err(format!(
            "{name}: the helper that read it first answered out of turn"
        )),
    }
}
