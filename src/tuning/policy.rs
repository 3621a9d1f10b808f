//! Whether the page tunes kernels on an adapter, and under which key it keeps the winners.

use serde::{Deserialize, Serialize};

use crate::page::protocol::GpuReport;

/// The test hook for tuning (offered with `?debug=1`): the only adapter the tests have is
/// SwiftShader, where tuning is off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TuningTestHook {
    /// Decide from the adapter.
    #[default]
    Normal,
    /// Tune even on a software adapter, as on a GPU.
    TreatAsHardware,
    /// As [`TuningTestHook::TreatAsHardware`], and have the device refuse every candidate at an
    /// odd index of its set: a real refusal of a shader made invalid on purpose.
    TreatAsHardwareAndRefuse,
}

/// What the page does about tuning on this adapter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TuningPolicy {
    /// Candidates are measured.
    pub enabled: bool,
    /// Why (or why not), for the user.
    pub reason: String,
    /// The test hook's injected refusals are on.
    pub refuse_odd_candidates: bool,
    /// Each candidate measured once (after CubeCL's three warm-up runs) rather than ten times:
    /// the test hook's tuning of a software adapter, which would otherwise take minutes.
    pub least_effort: bool,
    /// The IndexedDB key of this adapter's winners.
    pub store_key: String,
}

/// The policy for `gpu` under the test hook `hook`.
pub fn policy_for(gpu: &GpuReport, hook: TuningTestHook) -> TuningPolicy {
    let forced = hook != TuningTestHook::Normal;
    let (enabled, reason) = if !gpu.available {
        (false, "no WebGPU adapter".to_string())
    } else if !gpu.timestamp_query {
        (
            false,
            "the adapter cannot time work on the device (no timestamp-query)".to_string(),
        )
    } else if gpu.software && !forced {
        (
            false,
            "the adapter is a software emulation, where tuning costs minutes and gains nothing"
                .to_string(),
        )
    } else if gpu.software {
        (
            true,
            "test hook: the software adapter is tuned as a GPU".to_string(),
        )
    } else {
        (
            true,
            "each candidate is measured in its own WebGPU error scope; the winners are kept in this browser"
                .to_string(),
        )
    };
    TuningPolicy {
        enabled,
        reason,
        refuse_odd_candidates: enabled && hook == TuningTestHook::TreatAsHardwareAndRefuse,
        least_effort: enabled && gpu.software,
        store_key: store_key(gpu),
    }
}

/// The adapter as the browser describes it, and the versions that choose the candidates.
fn store_key(gpu: &GpuReport) -> String {
    format!(
        "kernel-tuning|{}|{}|{}|medclassify {}|burn {}|cubecl {}",
        gpu.vendor,
        gpu.architecture,
        gpu.description,
        env!("CARGO_PKG_VERSION"),
        super::BURN_VERSION,
        super::CUBECL_VERSION,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(software: bool, timestamp_query: bool) -> GpuReport {
        GpuReport {
            available: true,
            vendor: "nvidia".into(),
            architecture: "hopper".into(),
            description: "NVIDIA H200".into(),
            software,
            timestamp_query,
            ..GpuReport::default()
        }
    }

    #[test]
    fn a_hardware_adapter_that_times_work_is_tuned() {
        let policy = policy_for(&adapter(false, true), TuningTestHook::Normal);
        assert!(policy.enabled);
        assert!(!policy.refuse_odd_candidates && !policy.least_effort);
    }

    #[test]
    fn a_software_adapter_is_not_tuned_unless_the_test_hook_says_so() {
        let gpu = adapter(true, true);
        assert!(!policy_for(&gpu, TuningTestHook::Normal).enabled);
        assert!(policy_for(&gpu, TuningTestHook::TreatAsHardware).enabled);
        let refusing = policy_for(&gpu, TuningTestHook::TreatAsHardwareAndRefuse);
        assert!(refusing.enabled && refusing.refuse_odd_candidates && refusing.least_effort);
    }

    #[test]
    fn without_device_timing_or_an_adapter_nothing_is_tuned_even_by_the_hook() {
        let hook = TuningTestHook::TreatAsHardwareAndRefuse;
        let untimed = policy_for(&adapter(false, false), hook);
        assert!(!untimed.enabled && !untimed.refuse_odd_candidates);
        assert!(!policy_for(&GpuReport::default(), hook).enabled);
    }

    #[test]
    fn the_key_names_the_adapter_and_every_version_that_chooses_candidates() {
        let key = policy_for(&adapter(false, true), TuningTestHook::Normal).store_key;
        for part in [
            "nvidia",
            "hopper",
            "NVIDIA H200",
            env!("CARGO_PKG_VERSION"),
            "burn 0.22.1",
        ] {
            assert!(key.contains(part), "{key} lacks {part}");
        }
        let mut other = adapter(false, true);
        other.description = "NVIDIA H100".into();
        assert_ne!(
            key,
            policy_for(&other, TuningTestHook::Normal).store_key,
            "another GPU never shares winners"
        );
    }

    /// The oracle is the lock file, which cargo writes: the key changes when Burn or CubeCL do.
    #[test]
    fn the_versions_in_the_key_are_the_locked_ones() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
            .expect("Cargo.lock");
        for (name, version) in [
            ("burn", super::super::BURN_VERSION),
            ("cubecl-runtime", super::super::CUBECL_VERSION),
        ] {
            let entry = format!("name = \"{name}\"\nversion = \"{version}\"");
            assert!(lock.contains(&entry), "Cargo.lock has no {entry}");
        }
    }
}
