//! Browser plumbing shared by the page and the worker: time, yielding, fetch, IndexedDB,
//! files, downloads, the WebGPU adapter and what the page's address asks for.

pub mod address;
pub mod download;
pub mod files;
pub mod gpu;
pub mod idb;
pub mod js;
pub mod time;
