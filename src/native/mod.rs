//! Native-only glue for the command-line tool: files, terminal, device choice.

mod device;
mod epoch_test;
mod files;
mod folder;
mod host;
mod kernel_cache;
mod peer;
mod weights;

pub use device::{BackendChoice, active_kernel_cache, select_device};
pub use epoch_test::EpochTest;
pub use files::{check_writable, read_bounded, terminal_safe, write_atomic};
pub use folder::{LoadProgress, list_files, load_folder, load_folder_with_progress, load_source};
pub use host::TerminalHost;
pub use kernel_cache::{AdapterFacts, cache_dir, cache_root};
pub use peer::ThreadPeer;
pub use weights::{read_weights, weights_path};
