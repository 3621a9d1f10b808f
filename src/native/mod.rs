//! Native-only glue for the command-line tool: files, terminal, device choice.

mod device;
mod folder;
mod host;
mod peer;

pub use device::{BackendChoice, select_device};
pub use folder::{list_files, load_folder, load_source};
pub use host::TerminalHost;
pub use peer::ThreadPeer;
