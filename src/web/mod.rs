//! The web layer: a Yew page (components, hooks, one reducer state) and the engine worker
//! that runs the core library off the main thread. Only this module touches the DOM.

pub mod app;
pub mod bridge;
pub mod components;
pub mod hooks;
pub mod platform;
pub mod protocol;
pub mod state;
pub mod worker;
