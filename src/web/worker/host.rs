//! The training platform inside the worker: events to the page, checkpoint files to
//! IndexedDB, Pause and Stop between batches, and the switch to the CPU after a GPU loss.

use crate::page::protocol::Level;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::peer::{self, WorkerPeer};
use super::{Controls, RunState, notice, post};
use crate::model::pretrained::{BackboneInfo, WeightsFile};
use crate::session::{FoldEvent, FoldObserver, Platform};
use crate::training::{CheckpointSlot, GradientPeer, TrainingEvent, TrainingHost};
use crate::web::platform::{idb, time};
use crate::web::protocol::{BackendPreference, Response};

/// IndexedDB key of the `ModelCheckpoint` slot.
pub const BEST_KEY: &str = "checkpoint-best";
/// IndexedDB key of the resume point after the last completed epoch.
pub const LAST_KEY: &str = "checkpoint-last";
/// IndexedDB key of the last finished model.
pub const FINAL_KEY: &str = "model-final";

/// Lets queued messages in between steps of a long job and waits while paused.
pub struct Pacer {
    controls: Rc<Controls>,
    last_yield: f64,
}

impl Pacer {
    /// A pacer reading `controls`.
    pub fn new(controls: Rc<Controls>) -> Self {
        Self {
            controls,
            last_yield: 0.0,
        }
    }

    /// Yields to the event loop at most every 25 ms of work (so Pause and Stop are seen),
    /// waits while paused; `false` when the job must stop.
    pub async fn proceed(&mut self) -> bool {
        if time::now_ms() - self.last_yield > 25.0 {
            time::yield_now().await;
            self.last_yield = time::now_ms();
        }
        while self.controls.run.get() == RunState::Paused {
            time::sleep(Duration::from_millis(50)).await;
        }
        self.controls.run.get() != RunState::Stopping
    }
}

/// Streams events to the page and stores checkpoints in IndexedDB.
pub struct WorkerHost {
    pacer: Pacer,
    preference: BackendPreference,
    /// Set by the browser when the WebGPU device in use is lost.
    lost: Option<Arc<OnceLock<String>>>,
    /// The training helper for the next run (CPU training with a second core).
    peer: Option<Box<dyn GradientPeer>>,
    /// Whether the run moved to the CPU after a GPU loss.
    pub gpu_lost: bool,
}

impl WorkerHost {
    /// A host for a run on `backend` ("CPU" or "WebGPU", whose loss `lost` reports).
    pub async fn new(
        controls: Rc<Controls>,
        preference: BackendPreference,
        backend: &str,
        lost: Option<Arc<OnceLock<String>>>,
    ) -> Self {
        let peer = match backend {
            "CPU" => cpu_peer(preference).await,
            _ => None,
        };
        Self {
            pacer: Pacer::new(controls),
            preference,
            lost,
            peer,
            gpu_lost: false,
        }
    }
}

impl WorkerHost {
    /// Replicas a run on this host computes each batch with (2 with the training helper).
    pub fn replicas(&self) -> usize {
        1 + usize::from(self.peer.is_some())
    }
}

impl TrainingHost for WorkerHost {
    fn event(&mut self, event: TrainingEvent) {
        post(&Response::Training { event });
    }

    async fn proceed(&mut self) -> bool {
        self.pacer.proceed().await
    }

    fn now_ms(&self) -> f64 {
        time::now_ms()
    }

    fn take_peer(&mut self) -> Option<Box<dyn GradientPeer>> {
        self.peer.take()
    }

    async fn store(&mut self, slot: CheckpointSlot, bytes: &[u8]) -> Result<String, String> {
        let key = match slot {
            CheckpointSlot::Best => BEST_KEY,
            CheckpointSlot::Last => LAST_KEY,
        };
        idb::put(key, bytes).await?;
        Ok(format!("IndexedDB ({key})"))
    }
}

impl FoldObserver for WorkerHost {
    fn fold_event(&mut self, event: FoldEvent) {
        post(&Response::Fold { event });
    }
}

impl Platform for WorkerHost {
    async fn device_lost_reason(&mut self) -> Option<String> {
        let lost = self.lost.as_ref()?;
        // The browser's `lost` promise can settle just after the failed read.
        time::sleep(Duration::from_millis(100)).await;
        let reason = lost.get().cloned();
        if reason.is_some() {
            gloo::console::warn!("a read failed after the WebGPU device was lost");
        }
        reason
    }

    async fn pretrained_weights(
        &mut self,
        backbone: &'static BackboneInfo,
    ) -> Result<Arc<WeightsFile>, String> {
        super::weights::weights(backbone).await
    }

    async fn continue_on_cpu(&mut self, backend: &str, reason: &str, epochs: usize) -> String {
        let message = format!(
            "the GPU device was lost after epoch {epochs}; training continues on the CPU from the last completed epoch (the browser said: {reason})"
        );
        notice(Level::Warning, message.clone());
        post(&Response::BackendChosen {
            backend: "CPU".into(),
            reason: message,
        });
        self.gpu_lost = true;
        self.lost = None;
        self.pacer.controls.run.set(RunState::Running);
        self.peer = cpu_peer(self.preference).await;
        format!("{backend}, then CPU after a GPU device loss")
    }
}

/// A training helper for CPU training on a second core, unless one core was asked for or the
/// browser reports one; `None` (with a notice) when it cannot start.
async fn cpu_peer(preference: BackendPreference) -> Option<Box<dyn GradientPeer>> {
    if !peer::second_core_allowed(preference) {
        return None;
    }
    match WorkerPeer::launch().await {
        Ok(peer) => Some(Box::new(peer)),
        Err(error) => {
            notice(
                Level::Info,
                format!("training on one core: the training helper did not start ({error})"),
            );
            None
        }
    }
}
