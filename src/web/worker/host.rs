//! The training host inside the worker: events to the page, checkpoints to IndexedDB.

use std::rc::Rc;
use std::time::Duration;

use super::{Controls, RunState, post};
use crate::training::{CheckpointSlot, GradientPeer, TrainingEvent, TrainingHost};
use crate::web::platform::{idb, time};
use crate::web::protocol::Response;

/// IndexedDB key of the `ModelCheckpoint` slot.
pub const BEST_KEY: &str = "checkpoint-best";
/// IndexedDB key of the resume point after the last completed epoch.
pub const LAST_KEY: &str = "checkpoint-last";
/// IndexedDB key of the last finished model.
pub const FINAL_KEY: &str = "model-final";

/// Streams events to the page and honours Pause / Stop between batches.
pub struct WorkerHost {
    controls: Rc<Controls>,
    last_yield: f64,
    /// The last `Last` checkpoint, kept in memory to continue on the CPU after a GPU loss.
    pub last_checkpoint: Option<Vec<u8>>,
    /// The last epoch that completed in this run (0 before the first).
    pub epochs_completed: usize,
    /// The training helper for the next run (CPU training with a second core).
    pub peer: Option<Box<dyn GradientPeer>>,
}

impl WorkerHost {
    /// A host reading `controls`.
    pub fn new(controls: Rc<Controls>) -> Self {
        Self {
            controls,
            last_yield: 0.0,
            last_checkpoint: None,
            epochs_completed: 0,
            peer: None,
        }
    }
}

impl TrainingHost for WorkerHost {
    fn event(&mut self, event: TrainingEvent) {
        if let TrainingEvent::Epoch(metrics) = &event {
            self.epochs_completed = metrics.epoch;
        }
        post(&Response::Training { event });
    }

    async fn proceed(&mut self) -> bool {
        // Let queued messages in (Pause/Stop), at most every 25 ms of work.
        if time::now_ms() - self.last_yield > 25.0 {
            time::yield_now().await;
            self.last_yield = time::now_ms();
        }
        while self.controls.run.get() == RunState::Paused {
            time::sleep(Duration::from_millis(50)).await;
        }
        self.controls.run.get() != RunState::Stopping
    }

    fn now_ms(&self) -> f64 {
        time::now_ms()
    }

    fn take_peer(&mut self) -> Option<Box<dyn GradientPeer>> {
        self.peer.take()
    }

    async fn save_checkpoint(
        &mut self,
        slot: CheckpointSlot,
        bytes: Vec<u8>,
    ) -> Result<String, String> {
        let key = match slot {
            CheckpointSlot::Best => BEST_KEY,
            CheckpointSlot::Last => {
                self.last_checkpoint = Some(bytes.clone());
                LAST_KEY
            }
        };
        idb::put(key, &bytes).await?;
        Ok(format!("IndexedDB ({key})"))
    }
}
