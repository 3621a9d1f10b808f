//! Browser plumbing shared by the page and the worker: time, yielding, fetch, IndexedDB,
//! files, downloads and the WebGPU adapter.

pub mod address;
pub mod download;
pub mod files;
pub mod gpu;
pub mod idb;
pub mod js;
pub mod time;
