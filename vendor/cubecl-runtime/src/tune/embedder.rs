//! What a program embedding CubeCL decides about tuning at run time (MedClassify's patch; see
//! `vendor/README.md` in MedClassify).
//!
//! Upstream decides at compile time whether to tune, and keeps its winners in memory or in its
//! own database. A browser page built once for every adapter needs three things that cannot be
//! decided that way: to leave tuning off on a software adapter while the same build tunes on a
//! GPU, to keep the winners in the browser's own storage under a key it chooses, and, for its
//! tests, to make the device refuse a candidate on purpose so that the refusal path is proven.
//! Without hooks installed every function here answers as upstream behaves.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use cubecl_environment::sync::{Mutex, RwLock};

/// A candidate while it is being measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its index in its tunable set.
    pub index: usize,
    /// Its name (`conv_direct`, a matmul strategy ...).
    pub name: String,
}

/// A key whose winner was measured in this process.
#[derive(Debug, Clone)]
pub struct Settled {
    /// The tuner (its module and device), as [`TuneHooks::recall`] receives it.
    pub tuner: String,
    /// The key, as its `Display` writes it.
    pub key: String,
    /// The checksum of the candidate set's names: a result for another set is never recalled.
    pub checksum: String,
    /// The winner's index.
    pub fastest: usize,
    /// The winner's name.
    pub winner: String,
    /// Candidates that failed while measured, with the reason (a refusal by the device among
    /// them): none of them can win.
    pub failed: Vec<(String, String)>,
}

/// The embedding program's side of tuning.
pub trait TuneHooks: Send + Sync {
    /// Whether candidates may be measured now. When false every tunable set runs its first
    /// candidate that launches, as a wasm build does while a tune is pending.
    fn tuning_enabled(&self) -> bool;

    /// A winner kept from an earlier session for this tuner, key and candidate set.
    fn recall(&self, tuner: &str, key: &str, checksum: &str) -> Option<usize>;

    /// A key's tune began: it ends with [`settled`](Self::settled) or
    /// [`unsettled`](Self::unsettled), once, so that the embedder can count tunes in flight
    /// (on wasm they resolve later, on the event loop).
    fn started(&self, tuner: &str, key: &str) {
        let _ = (tuner, key);
    }

    /// A winner measured now, to be kept.
    fn settled(&self, settled: Settled);

    /// A key's tune ended with no winner measured (every candidate failed: `failed`, each with
    /// the reason): the set's default runs for this process and nothing is to be kept.
    fn unsettled(&self, tuner: &str, key: &str, failed: &[(String, String)]) {
        let _ = (tuner, key, failed);
    }

    /// Whether the device is to be made to refuse what it compiles for `candidate` (a test
    /// hook: a real refusal, by a real device, of a shader made invalid on purpose).
    fn refuse(&self, candidate: &Candidate) -> bool {
        let _ = candidate;
        false
    }

    /// The device refused a candidate while it was measured (reported by a runtime that can only
    /// learn of it later, as a browser does); the candidate is disqualified.
    fn device_refused(&self, reason: &str) {
        let _ = reason;
    }
}

static HOOKS: RwLock<Option<Arc<dyn TuneHooks>>> = RwLock::new(None);
static MEASURING: Mutex<Option<Candidate>> = Mutex::new(None);

/// Installs (or, with `None`, removes) the embedding program's hooks for every tuner.
pub fn set_tune_hooks(hooks: Option<Arc<dyn TuneHooks>>) {
    *HOOKS.write() = hooks;
}

pub(crate) fn hooks() -> Option<Arc<dyn TuneHooks>> {
    HOOKS.read().clone()
}

/// Whether tuning runs: true unless hooks say otherwise.
pub(crate) fn tuning_enabled() -> bool {
    hooks().is_none_or(|hooks| hooks.tuning_enabled())
}

/// Runs `measure` with `candidate` recorded as the one being measured. Measurements nest (a
/// candidate can run an operation that is tuned in turn): the outer candidate is recorded again
/// once the inner one is done, so what it launches next is still its own.
pub(crate) fn measuring<R>(candidate: Candidate, measure: impl FnOnce() -> R) -> R {
    let outer = MEASURING.lock().replace(candidate);
    let result = measure();
    *MEASURING.lock() = outer;
    result
}

/// Whether what a runtime compiles now is to be refused on purpose: a candidate is being
/// measured and the hooks ask for its refusal. Read by a runtime's compiler.
pub fn injected_refusal() -> bool {
    let Some(candidate) = MEASURING.lock().clone() else {
        return false;
    };
    hooks().is_some_and(|hooks| hooks.refuse(&candidate))
}

/// Reports a refusal by the device of a candidate being measured (see
/// [`TuneHooks::device_refused`]).
pub fn device_refused(reason: &str) {
    if let Some(hooks) = hooks() {
        hooks.device_refused(reason);
    }
}
