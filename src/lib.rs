//! MedClassify: train and run a medical-image classifier entirely in the browser.
pub mod data;
pub mod evaluation;
pub mod model;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
pub mod storage;
pub mod training;
#[cfg(target_arch = "wasm32")]
pub mod web;
