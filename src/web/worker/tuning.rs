//! The worker's side of kernel tuning: the ledger ([`crate::tuning`]) answering CubeCL's
//! tuners through the hooks of MedClassify's patch, and kept in IndexedDB.

use std::sync::Arc;

use cubecl_runtime::tune::{Candidate, Settled, TuneHooks, set_tune_hooks};

use crate::page::protocol::GpuReport;
use crate::tuning::{TuningLedger, TuningPolicy, TuningTestHook, Winner, policy_for};
use crate::web::platform::idb;

/// CubeCL's view of the ledger.
struct Hooks(Arc<TuningLedger>);

impl TuneHooks for Hooks {
    fn tuning_enabled(&self) -> bool {
        self.0.policy().enabled
    }

    fn recall(&self, tuner: &str, key: &str, checksum: &str) -> Option<usize> {
        self.0.recall(tuner, key, checksum)
    }

    fn started(&self, _tuner: &str, _key: &str) {
        self.0.started();
    }

    fn unsettled(&self, _tuner: &str, _key: &str, failed: &[(String, String)]) {
        self.0.unsettled(failed.len());
    }

    fn settled(&self, settled: Settled) {
        let winner = Winner {
            fastest: settled.fastest,
            name: settled.winner,
        };
        let failed = settled.failed.len();
        self.0.settle(
            &settled.tuner,
            &settled.key,
            &settled.checksum,
            winner,
            failed,
        );
    }

    fn refuse(&self, candidate: &Candidate) -> bool {
        self.0.refuses(candidate.index)
    }

    fn device_refused(&self, reason: &str) {
        self.0.refused(reason);
    }
}

/// Switches tuning off (every tunable operation runs its default kernel), as it must be until
/// the adapter is known: the build has autotuning compiled in, and CubeCL without hooks tunes.
pub fn switch_off() {
    let policy = TuningPolicy {
        enabled: false,
        reason: "no adapter chosen yet".into(),
        refuse_odd_candidates: false,
        least_effort: false,
        store_key: String::new(),
    };
    install(Arc::new(TuningLedger::new(policy, None)));
}

/// Installs `ledger` for every tuner.
pub fn install(ledger: Arc<TuningLedger>) {
    set_tune_hooks(Some(Arc::new(Hooks(ledger))));
}

/// The ledger for `gpu` under the test hook, holding the winners this browser kept for that
/// adapter, installed for every tuner.
pub async fn start(gpu: &GpuReport, hook: TuningTestHook) -> Arc<TuningLedger> {
    let policy = policy_for(gpu, hook);
    let stored = match policy.enabled {
        true => idb::get_in(idb::TUNING, &policy.store_key)
            .await
            .ok()
            .flatten(),
        false => None,
    };
    if policy.least_effort {
        least_effort();
    }
    let ledger = Arc::new(TuningLedger::new(policy, stored.as_deref()));
    install(ledger.clone());
    ledger
}

/// One measured sample per candidate and CubeCL's smallest candidate sets. Takes effect only
/// before CubeCL first reads its configuration, that is before the first WebGPU device starts.
pub fn least_effort() {
    use cubecl_runtime::config::autotune::AutotuneLevel;
    use cubecl_runtime::config::{CubeClRuntimeConfig, RuntimeConfig};
    let mut config = CubeClRuntimeConfig::default();
    config.autotune.level = AutotuneLevel::Minimal;
    config.autotune.bench.max_samples = 1;
    config.autotune.bench.min_samples = 1;
    CubeClRuntimeConfig::try_set(config);
}

/// Stores the winners measured since the last save.
pub async fn save(ledger: &TuningLedger) -> Result<(), String> {
    match ledger.take_unsaved() {
        Some(bytes) => idb::put_in(idb::TUNING, &ledger.policy().store_key, &bytes).await,
        None => Ok(()),
    }
}
