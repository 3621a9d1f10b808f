//! The training host of the native command: a terminal renderer and checkpoint files.

use std::path::PathBuf;
use std::time::Instant;

use crate::training::{CheckpointSlot, GradientPeer, TrainingEvent, TrainingHost};

/// Prints progress to stderr (unless quiet), collects events, writes checkpoints to files.
pub struct TerminalHost {
    start: Instant,
    /// Print nothing (JSON mode).
    pub quiet: bool,
    /// Where `ModelCheckpoint` writes (`None` = keep in memory only).
    pub best_path: Option<PathBuf>,
    /// Where the resume point after each epoch goes (`None` = keep in memory only).
    pub last_path: Option<PathBuf>,
    /// Every event, in order.
    pub events: Vec<TrainingEvent>,
    /// The last `Last` checkpoint, kept in memory (used to continue on the CPU after a GPU loss).
    pub last_checkpoint: Option<Vec<u8>>,
    /// A second replica for the next run (data parallelism; natively the Flex backend already
    /// uses every core, so the command leaves this empty).
    pub peer: Option<Box<dyn GradientPeer>>,
}

impl TerminalHost {
    /// A host writing checkpoints next to `out` (`<out>.best`, `<out>.last`).
    pub fn new(out: Option<PathBuf>, quiet: bool) -> Self {
        let with_suffix = |suffix: &str| {
            out.as_ref().map(|p| {
                let mut name = p.file_stem().unwrap_or_default().to_os_string();
                name.push(suffix);
                p.with_file_name(name)
            })
        };
        Self {
            start: Instant::now(),
            quiet,
            best_path: with_suffix(".best.mcmodel"),
            last_path: with_suffix(".last.mcmodel"),
            events: Vec::new(),
            last_checkpoint: None,
            peer: None,
        }
    }
}

impl TrainingHost for TerminalHost {
    fn event(&mut self, event: TrainingEvent) {
        if !self.quiet {
            match &event {
                TrainingEvent::Started {
                    first_epoch,
                    epochs,
                    batches,
                    train_images,
                    validation_images,
                    parameters,
                    replicas,
                } => eprintln!(
                    "training epochs {first_epoch}..={epochs}: {train_images} training / {validation_images} validation images, {batches} batches per epoch, {parameters} parameters, {replicas} replica(s)"
                ),
                TrainingEvent::Notice { message } => eprintln!("  {message}"),
                TrainingEvent::Batch(b) if b.batch == b.batches || b.batch % 100 == 0 => eprintln!(
                    "  epoch {} batch {}/{}: loss {:.4} accuracy {:.4} ({:.0} images/s)",
                    b.epoch, b.batch, b.batches, b.loss, b.accuracy, b.images_per_second
                ),
                TrainingEvent::Batch(_) => {}
                TrainingEvent::Epoch(e) => eprintln!(
                    "epoch {}: loss {:.4} accuracy {:.4} val_loss {:.4} val_accuracy {:.4} lr {:.2e} ({:.1} s, {:.0} images/s)",
                    e.epoch,
                    e.loss,
                    e.accuracy,
                    e.val_loss,
                    e.val_accuracy,
                    e.learning_rate,
                    e.seconds,
                    e.images_per_second
                ),
                TrainingEvent::Callback(c) => eprintln!("  [{}] {}", c.callback, c.message),
                TrainingEvent::Finished {
                    reason,
                    epochs_completed,
                    weights_from_epoch,
                } => {
                    eprintln!(
                        "finished ({reason:?}) after {epochs_completed} epochs; weights from epoch {weights_from_epoch}"
                    )
                }
            }
        }
        self.events.push(event);
    }

    async fn proceed(&mut self) -> bool {
        true
    }

    fn take_peer(&mut self) -> Option<Box<dyn GradientPeer>> {
        self.peer.take()
    }

    fn now_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    async fn save_checkpoint(
        &mut self,
        slot: CheckpointSlot,
        bytes: Vec<u8>,
    ) -> Result<String, String> {
        let path = match slot {
            CheckpointSlot::Best => self.best_path.clone(),
            CheckpointSlot::Last => {
                self.last_checkpoint = Some(bytes.clone());
                self.last_path.clone()
            }
        };
        match path {
            Some(path) => super::write_atomic(&path, &bytes).map(|_| path.display().to_string()),
            None => Ok("memory".into()),
        }
    }
}
