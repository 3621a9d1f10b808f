//! Hooks: the engine worker connection.

mod use_engine;

pub use use_engine::{BUNDLED_MODEL, EngineHandle, WORKER_SCRIPT, asset_url, use_engine};
