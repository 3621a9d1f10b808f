//! The winners of kernel tuning on one adapter: recalled from, and written back to, the
//! browser's storage as one JSON document.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::TuningPolicy;

/// The winner of one tuner's key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Winner {
    /// Its index in the candidate set whose checksum is part of the entry's name.
    pub fastest: usize,
    /// Its name, for people reading the store.
    pub name: String,
}

/// What is stored: the key it was made under, and the winners.
#[derive(Serialize, Deserialize)]
struct Stored {
    store_key: String,
    winners: BTreeMap<String, Winner>,
}

/// What tuning did in this session, for the user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TuningSummary {
    /// Keys answered by a winner kept from an earlier session.
    pub recalled: usize,
    /// Keys measured now.
    pub tuned: usize,
    /// Candidates the device refused while measured (dropped).
    pub refused: usize,
    /// The first refusal's message.
    pub first_refusal: Option<String>,
    /// Candidates that failed while measured for any reason (refusals among them).
    pub failed: usize,
    /// Keys whose every candidate failed: their default kernel runs, nothing is kept.
    pub unsettled: usize,
}

impl TuningSummary {
    /// One sentence, or `None` when tuning did nothing.
    pub fn sentence(&self) -> Option<String> {
        if self.recalled + self.tuned + self.refused + self.unsettled == 0 {
            return None;
        }
        let mut text = format!(
            "Kernel tuning: {} shapes tuned now, {} from this browser's earlier runs",
            self.tuned, self.recalled
        );
        if self.refused > 0 {
            text += &format!(
                "; {} candidate kernels refused by the device were skipped (first: {})",
                self.refused,
                self.first_refusal.as_deref().unwrap_or("no message")
            );
        }
        if self.unsettled > 0 {
            text += &format!(
                "; {} shapes run their default kernel (no candidate could be measured)",
                self.unsettled
            );
        }
        Some(text + ".")
    }
}

#[derive(Default)]
struct State {
    winners: BTreeMap<String, Winner>,
    summary: TuningSummary,
    unsaved: bool,
    /// Tunes begun and not yet ended, and begun in all (not part of the summary, which a run
    /// takes and resets).
    in_flight: usize,
    begun: usize,
}

/// The winners on one adapter, shared by CubeCL's tuners (which may call from any thread
/// natively, hence the lock) and the worker that stores them.
pub struct TuningLedger {
    policy: TuningPolicy,
    state: Mutex<State>,
}

/// The name of one winner: the tuner (module and device), the key and the candidates' checksum.
fn entry(tuner: &str, key: &str, checksum: &str) -> String {
    format!("{tuner}\u{1f}{key}\u{1f}{checksum}")
}

impl TuningLedger {
    /// A ledger under `policy`, holding the winners of `stored` when it is a readable document
    /// made under the policy's key (anything else is ignored: it costs one tuning run).
    pub fn new(policy: TuningPolicy, stored: Option<&[u8]>) -> Self {
        let winners = stored
            .and_then(|bytes| serde_json::from_slice::<Stored>(bytes).ok())
            .filter(|stored| stored.store_key == policy.store_key)
            .map(|stored| stored.winners)
            .unwrap_or_default();
        Self {
            policy,
            state: Mutex::new(State {
                winners,
                ..State::default()
            }),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &TuningPolicy {
        &self.policy
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The winner kept for this tuner, key and candidate set.
    pub fn recall(&self, tuner: &str, key: &str, checksum: &str) -> Option<usize> {
        if !self.policy.enabled {
            return None;
        }
        let mut state = self.state();
        let fastest = state.winners.get(&entry(tuner, key, checksum))?.fastest;
        state.summary.recalled += 1;
        Some(fastest)
    }

    /// A key's tune began (it ends with [`settle`](Self::settle) or
    /// [`unsettled`](Self::unsettled)).
    pub fn started(&self) {
        let mut state = self.state();
        state.in_flight += 1;
        state.begun += 1;
    }

    /// Tunes begun since the ledger began.
    pub fn begun(&self) -> usize {
        self.state().begun
    }

    /// Tunes begun and not yet ended: on the browser's event loop they end after the work
    /// that started them.
    pub fn in_flight(&self) -> usize {
        self.state().in_flight
    }

    /// A winner measured now; `failed` candidates could not be measured.
    pub fn settle(&self, tuner: &str, key: &str, checksum: &str, winner: Winner, failed: usize) {
        let mut state = self.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.winners.insert(entry(tuner, key, checksum), winner);
        state.summary.tuned += 1;
        state.summary.failed += failed;
        state.unsaved = true;
    }

    /// A key's tune ended with no winner: every one of its `failed` candidates failed.
    pub fn unsettled(&self, failed: usize) {
        let mut state = self.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.summary.unsettled += 1;
        state.summary.failed += failed;
    }

    /// The device refused a candidate being measured.
    pub fn refused(&self, reason: &str) {
        let mut state = self.state();
        state.summary.refused += 1;
        let first = reason.lines().find(|line| !line.trim().is_empty());
        let first = first.unwrap_or(reason).trim().trim_end_matches('.');
        state
            .summary
            .first_refusal
            .get_or_insert_with(|| first.to_string());
    }

    /// Whether the test hook has the device refuse the candidate at `index` of its set.
    pub fn refuses(&self, index: usize) -> bool {
        self.policy.refuse_odd_candidates && index % 2 == 1
    }

    /// The document to store when winners were added since the last call.
    pub fn take_unsaved(&self) -> Option<Vec<u8>> {
        let mut state = self.state();
        if !state.unsaved {
            return None;
        }
        state.unsaved = false;
        let stored = Stored {
            store_key: self.policy.store_key.clone(),
            winners: state.winners.clone(),
        };
        serde_json::to_vec(&stored).ok()
    }

    /// What tuning did since the ledger began or [`TuningLedger::take_summary`] last took it.
    pub fn summary(&self) -> TuningSummary {
        self.state().summary.clone()
    }

    /// What tuning did since the last call (one run's worth: the page reports after each
    /// run, and a second run must not repeat the first one's counts).
    pub fn take_summary(&self) -> TuningSummary {
        std::mem::take(&mut self.state().summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(enabled: bool, refuse: bool, key: &str) -> TuningPolicy {
        TuningPolicy {
            enabled,
            reason: String::new(),
            refuse_odd_candidates: refuse,
            least_effort: false,
            store_key: key.into(),
        }
    }

    fn winner(fastest: usize) -> Winner {
        Winner {
            fastest,
            name: format!("candidate {fastest}"),
        }
    }

    #[test]
    fn a_winner_kept_in_one_session_answers_the_next_under_the_same_key_only() {
        let first = TuningLedger::new(policy(true, false, "gpu A"), None);
        assert_eq!(first.recall("conv", "32x32", "c1"), None);
        first.settle("conv", "32x32", "c1", winner(3), 1);
        let stored = first.take_unsaved().expect("a new winner is unsaved");
        assert_eq!(first.take_unsaved(), None, "saved once");

        let next = TuningLedger::new(policy(true, false, "gpu A"), Some(&stored));
        assert_eq!(next.recall("conv", "32x32", "c1"), Some(3));
        assert_eq!(next.recall("conv", "32x32", "another set"), None);
        assert_eq!(next.recall("matmul", "32x32", "c1"), None);
        assert_eq!(next.take_summary().recalled, 1);
        // A second run that recalls the same winner reports that run only.
        assert_eq!(next.recall("conv", "32x32", "c1"), Some(3));
        assert_eq!(next.take_summary().recalled, 1);
        assert_eq!(next.take_summary(), TuningSummary::default());

        let other_gpu = TuningLedger::new(policy(true, false, "gpu B"), Some(&stored));
        assert_eq!(other_gpu.recall("conv", "32x32", "c1"), None);
        let untuned = TuningLedger::new(policy(false, false, "gpu A"), Some(&stored));
        assert_eq!(untuned.recall("conv", "32x32", "c1"), None);
    }

    #[test]
    fn every_tune_begun_ends_settled_or_unsettled_and_an_unsettled_one_keeps_nothing() {
        let ledger = TuningLedger::new(policy(true, false, "k"), None);
        ledger.started();
        ledger.started();
        assert_eq!(ledger.in_flight(), 2);
        ledger.settle("conv", "a", "c", winner(0), 0);
        assert_eq!(ledger.in_flight(), 1);
        ledger.unsettled(4);
        assert_eq!(ledger.in_flight(), 0);
        let summary = ledger.take_summary();
        assert_eq!(
            (summary.tuned, summary.unsettled, summary.failed),
            (1, 1, 4)
        );
        let sentence = summary.sentence().unwrap();
        assert!(
            sentence.contains("1 shapes run their default kernel"),
            "{sentence}"
        );
        let stored: serde_json::Value =
            serde_json::from_slice(&ledger.take_unsaved().unwrap()).unwrap();
        assert_eq!(stored["winners"].as_object().unwrap().len(), 1, "{stored}");
        // The count is not part of a run's summary: taking the summary leaves it.
        ledger.started();
        let _ = ledger.take_summary();
        assert_eq!((ledger.in_flight(), ledger.begun()), (1, 3));
    }

    #[test]
    fn an_unreadable_store_costs_a_tuning_run_not_an_error() {
        for bytes in [&b"{"[..], b"[]", b"\xff\xfe", b"{\"store_key\":\"gpu A\"}"] {
            let ledger = TuningLedger::new(policy(true, false, "gpu A"), Some(bytes));
            assert_eq!(ledger.recall("conv", "k", "c"), None);
        }
    }

    #[test]
    fn the_hook_refuses_odd_candidates_only_and_refusals_are_counted_and_named() {
        let ledger = TuningLedger::new(policy(true, true, "k"), None);
        assert_eq!(
            (0..5).map(|i| ledger.refuses(i)).collect::<Vec<_>>(),
            [false, true, false, true, false]
        );
        assert!(!TuningLedger::new(policy(true, false, "k"), None).refuses(1));
        ledger.refused("\nShader parse error: expected ';'.\n more");
        ledger.refused("second");
        let summary = ledger.take_summary();
        assert_eq!(summary.refused, 2);
        assert_eq!(
            summary.first_refusal.as_deref(),
            Some("Shader parse error: expected ';'")
        );
        let sentence = summary.sentence().unwrap();
        assert!(
            sentence.contains("2 candidate kernels refused"),
            "{sentence}"
        );
        assert!(sentence.ends_with("expected ';')."), "{sentence}");
        assert_eq!(TuningSummary::default().sentence(), None);
    }
}
