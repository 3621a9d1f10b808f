//! Kernel tuning in the browser: when it runs, and the winners it keeps.
//!
//! CubeCL measures candidate kernels (matmul tilings, convolution algorithms, fused kernels)
//! for each new shape and keeps the fastest. In the browser that is safe only because of
//! MedClassify's patch to CubeCL (`vendor/README.md`): each candidate is measured inside its own
//! WebGPU error scopes, so a candidate the adapter refuses is dropped without touching real
//! work. Even so it is never run on a software adapter (SwiftShader, llvmpipe, WARP), where it
//! costs minutes and buys nothing, nor where the adapter cannot time work on the device.
//!
//! This module is the pure part, tested natively: the [`policy`] that decides, and the
//! [`ledger`] of winners that the page keeps in IndexedDB, keyed so that another adapter, driver
//! description or version of MedClassify, Burn or CubeCL never reuses them. The worker
//! connects the ledger to CubeCL (`web::worker::tuning`).

pub mod ledger;
pub mod policy;

pub use ledger::{TuningLedger, TuningSummary, Winner};
pub use policy::{TuningPolicy, TuningTestHook, policy_for};

/// The Burn and CubeCL versions the page is built with (checked against Cargo.lock by a test):
/// part of the key under which winners are kept, since a new version brings other candidates.
pub const BURN_VERSION: &str = "0.22.1";
/// See [`BURN_VERSION`].
pub const CUBECL_VERSION: &str = "0.11.3";
