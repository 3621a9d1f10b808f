//! The training platform of the native command: a terminal renderer and checkpoint files.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::EpochTest;
use crate::model::Classifier;
use crate::model::pretrained::{BackboneInfo, WeightsFile};
use crate::session::{FoldEvent, FoldObserver, Platform};
use crate::training::{CheckpointSlot, GradientPeer, TrainingEvent, TrainingHost};

/// Prints progress to stderr (unless quiet), collects events, writes checkpoints to files.
pub struct TerminalHost<'d> {
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
    /// The batches of the current epoch as a bar (on a terminal, unless quiet).
    bar: Option<ProgressBar>,
    /// Pretrained weights read so far (once per backbone, for every fold of a
    /// cross-validation).
    weights: Vec<(&'static str, Arc<WeightsFile>)>,
    /// The test set to score after each epoch (`train --test-every-epoch`), if any.
    pub epoch_test: Option<EpochTest<'d>>,
}

impl TerminalHost<'_> {
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
            bar: None,
            weights: Vec::new(),
            epoch_test: None,
        }
    }
}

impl TerminalHost<'_> {
    /// Prints a line above the bar (or plainly when there is none).
    fn say(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// A bar for an epoch's batches, on a terminal only (logs get the plain lines).
    fn epoch_bar(&mut self, epoch: usize, batches: usize) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            ProgressBar::new(batches as u64).with_style(
                ProgressStyle::with_template("epoch {prefix} {bar:40} {pos}/{len} batches {msg}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            )
        });
        if bar.prefix() != epoch.to_string() {
            bar.reset();
            bar.set_prefix(epoch.to_string());
            bar.set_length(batches as u64);
        }
    }

    fn show(&mut self, event: &TrainingEvent) {
        match event {
            TrainingEvent::Started {
                first_epoch,
                epochs,
                batches,
                train_images,
                validation_images,
                parameters,
                replicas,
            } => self.say(format!(
                "training epochs {first_epoch}..={epochs}: {train_images} training / {validation_images} validation images, {batches} batches per epoch, {parameters} parameters, {replicas} replica(s)"
            )),
            TrainingEvent::Notice { message }
            | TrainingEvent::ReplicaLost { message }
            | TrainingEvent::HeadTrained { message } => {
                self.say(format!("  {message}"))
            }
            TrainingEvent::Features {
                done,
                total,
                seconds,
            } => {
                if done == total {
                    self.say(format!(
                        "  the frozen backbone's features of {total} images computed once ({seconds:.1} s); the head trains alone on them"
                    ))
                } else if *done <= 64 {
                    self.say(format!(
                        "  computing the frozen backbone's features of {total} training and validation images, once"
                    ))
                }
            }
            TrainingEvent::Batch(b) => {
                self.epoch_bar(b.epoch, b.batches);
                match &self.bar {
                    Some(bar) => {
                        bar.set_position(b.batch as u64);
                        bar.set_message(format!("loss {:.4} ({:.0} images/s)", b.loss, b.images_per_second));
                    }
                    None if b.batch == b.batches || b.batch % 100 == 0 => eprintln!(
                        "  epoch {} batch {}/{}: loss {:.4} accuracy {:.4} ({:.0} images/s)",
                        b.epoch, b.batch, b.batches, b.loss, b.accuracy, b.images_per_second
                    ),
                    None => {}
                }
            }
            TrainingEvent::Epoch(e) => self.say(format!(
                "epoch {}: loss {:.4} accuracy {:.4} val_loss {:.4} val_accuracy {:.4}{} lr {:.2e} ({:.1} s, {:.0} images/s)",
                e.epoch, e.loss, e.accuracy, e.val_loss, e.val_accuracy,
                e.val_auc.map(|auc| format!(" val_auc {auc:.4}")).unwrap_or_default(),
                e.learning_rate, e.seconds, e.images_per_second
            )),
            TrainingEvent::Callback(c) => self.say(format!("  [{}] {}", c.callback, c.message)),
            TrainingEvent::Finished {
                reason,
                epochs_completed,
                weights_from_epoch,
            } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                eprintln!(
                    "finished ({reason:?}) after {epochs_completed} epochs; weights from epoch {weights_from_epoch}"
                )
            }
        }
    }
}

impl TrainingHost for TerminalHost<'_> {
    fn event(&mut self, event: TrainingEvent) {
        if !self.quiet {
            self.show(&event);
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

    async fn epoch_end(&mut self, epoch: usize, model: &Classifier) {
        let Some(test) = self.epoch_test.as_mut() else {
            return;
        };
        if let Some(accuracy) = test.score(epoch, model).await
            && !self.quiet
        {
            self.say(format!(
                "  test accuracy after epoch {epoch}: {accuracy:.4}"
            ));
        }
    }

    async fn store(&mut self, slot: CheckpointSlot, bytes: &[u8]) -> Result<String, String> {
        let path = match slot {
            CheckpointSlot::Best => self.best_path.clone(),
            CheckpointSlot::Last => {
                self.last_checkpoint = Some(bytes.to_vec());
                self.last_path.clone()
            }
        };
        match path {
            Some(path) => super::write_atomic(&path, bytes).map(|_| path.display().to_string()),
            None => Ok("memory".into()),
        }
    }
}

impl Platform for TerminalHost<'_> {
    async fn pretrained_weights(
        &mut self,
        backbone: &'static BackboneInfo,
    ) -> Result<Arc<WeightsFile>, String> {
        if let Some((_, weights)) = self.weights.iter().find(|(n, _)| *n == backbone.name) {
            return Ok(weights.clone());
        }
        let weights = Arc::new(super::read_weights(backbone)?);
        self.weights.push((backbone.name, weights.clone()));
        Ok(weights)
    }

    async fn continue_on_cpu(
        &mut self,
        backend: &str,
        reason: &str,
        epochs_completed: usize,
    ) -> String {
        if let Some(test) = self.epoch_test.as_mut() {
            test.device = burn::prelude::Device::flex();
        }
        eprintln!(
            "the GPU was lost after epoch {epochs_completed} ({reason}); continuing on the CPU from the last completed epoch"
        );
        format!("{backend}, then CPU (Burn Flex) after a device loss")
    }
}

impl FoldObserver for TerminalHost<'_> {
    fn fold_event(&mut self, event: FoldEvent) {
        if self.quiet {
            return;
        }
        match event {
            FoldEvent::Started {
                fold,
                k,
                train,
                validation,
                held_out,
            } => eprintln!(
                "fold {}/{k}: training on {train} images, validating on {validation}, holding out {held_out}",
                fold + 1
            ),
            FoldEvent::Finished(s) => eprintln!(
                "fold {}: held-out accuracy {:.4}, balanced accuracy {:.4}, macro AUC {:.4} ({} epochs)",
                s.fold + 1,
                s.accuracy,
                s.balanced_accuracy,
                s.macro_auc,
                s.epochs
            ),
        }
    }
}
