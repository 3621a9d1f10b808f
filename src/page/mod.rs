//! The page's plain parts: what the engine answers ([`protocol`]) and the page state that its
//! answers and the user's actions change ([`state`]).
//!
//! Why a module of its own, outside the `web` module: the `web` module is compiled for wasm32 only (it
//! needs the DOM, Yew and `web_sys` handles), so nothing in it can run under a native
//! `cargo test`. Everything here is plain data and plain functions over it, with no browser
//! dependency, so it is compiled on every target and its reducers are unit-tested natively.
//! the `web` module renders this state and wraps its reducer in Yew's `Reducible`; this module
//! never imports the `web` module.

pub mod protocol;
pub mod state;
