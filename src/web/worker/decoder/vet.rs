//! The helper's side of reading a container (an archive, a MedMNIST `.npz`) to its end before
//! the engine does. NOT USED by the engine at present: its first version left the engine
//! waiting in WebKitGTK 2.50 (the WebKit journey of `tests/e2e/engines.test.mjs`), so the
//! engine reads containers itself, as before, until that is understood.

use super::protocol::Container;
use crate::data::{ArchiveLimits, walk_archive, walk_npz};

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
