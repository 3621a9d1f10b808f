//! The head first, then the layers it fine-tunes: linear probing, then fine-tuning (LP-FT,
//! Kumar et al., "Fine-Tuning can Distort Pretrained Features and Underperform
//! Out-of-Distribution", ICLR 2022; fast.ai's `fine_tune` trains the head alone for an epoch
//! first for the same reason). A new head starts random: its first gradients are large and
//! point anywhere, and in fine-tuning they flow into the pretrained backbone and move it before
//! the head has learnt anything. With very few images (5 a class) that is what costs most: the
//! backbone's features are what the images cannot teach again.
//!
//! So a run of [`TrainingConfig::head_first`] trains the head alone first, exactly as a
//! head-only run of the same settings would (on the frozen backbone's features computed once,
//! its own early stopping and learning-rate reduction, no augmentation, no checkpoint), then
//! starts its own epoch 1 from that head. Only the feature pass's progress and the outcome
//! reach the host: the chart and the history are the fine-tuning's.

use burn::prelude::*;

use super::epochs::run_epochs;
use super::run::{Run, Start};
use super::{
    CheckpointSlot, GradientPeer, NoCheckpoints, StopReason, TrainingConfig, TrainingError,
    TrainingEvent, TrainingHost,
};
use crate::model::Transfer;

/// The settings of the head's own run: `config` as a head-only run on cached features.
fn head_config(config: &TrainingConfig) -> TrainingConfig {
    let mut callbacks = config.callbacks.clone();
    callbacks.checkpoint = None;
    TrainingConfig {
        transfer: Transfer::Head,
        augmentation: None,
        head_first: false,
        // The run around it has fitted the statistics already, if asked (the same sample).
        adapt_norm: false,
        callbacks,
        ..config.clone()
    }
}

/// Trains `run`'s head alone and puts the result in `run` (its weights, its starting point).
/// `Ok(false)`: the host stopped it (the run ends there).
pub(super) async fn train_head<H: TrainingHost>(
    run: &mut Run<'_>,
    device: &Device,
    host: &mut H,
) -> Result<bool, TrainingError> {
    let config = head_config(run.config);
    // The training copy, so that what trains keeps tracking gradients (an inference
    // snapshot's parameters track none); the head's run freezes the backbone on its own copy.
    let start = Start::Weights(run.model.clone());
    let mut quiet = Quiet {
        inner: host,
        peer: run.peer.take(),
    };
    let head_run = Run::begin(run.data, &config, run.network, start, device, &mut quiet);
    let outcome = run_epochs(head_run, device, (&mut quiet, &mut NoCheckpoints)).await?;
    if let Some(peer) = outcome.peer {
        run.adopt_peer(peer, host);
    }
    if outcome.reason == StopReason::Stopped {
        return Ok(false);
    }
    // The epoch whose weights were kept (none when the head's run fell back to its start).
    let history = &outcome.record.history;
    let best = (outcome.weights_from_epoch.checked_sub(1)).and_then(|i| history.get(i));
    host.event(TrainingEvent::HeadTrained {
        message: describe(best, outcome.record.history.len(), run.config.transfer),
    });
    run.restart_from(outcome.model);
    Ok(true)
}

/// What the head's run did, for people.
fn describe(best: Option<&super::EpochMetrics>, epochs: usize, transfer: Transfer) -> String {
    let what = match transfer {
        Transfer::Top => "the top blocks and the head now train",
        _ => "every layer now trains",
    };
    let epochs = match epochs {
        1 => "1 epoch".to_string(),
        n => format!("{n} epochs"),
    };
    match best {
        Some(m) => format!(
            "the new head was trained first, alone on the frozen backbone's features ({epochs}; \
             kept epoch {}: validation loss {:.4}, accuracy {:.2} %); {what} from there",
            m.epoch,
            m.val_loss,
            m.val_accuracy * 100.0
        ),
        None => format!("the new head was trained first ({epochs}); {what}"),
    }
}

/// The host of the head's run: passes Stop, the clock, the feature pass's progress, notices
/// and the second replica on, and nothing of the head's own epochs.
struct Quiet<'h, H> {
    inner: &'h mut H,
    peer: Option<Box<dyn GradientPeer>>,
}

impl<H: TrainingHost> TrainingHost for Quiet<'_, H> {
    fn event(&mut self, event: TrainingEvent) {
        if matches!(
            event,
            TrainingEvent::Features { .. }
                | TrainingEvent::Notice { .. }
                | TrainingEvent::ReplicaLost { .. }
        ) {
            self.inner.event(event);
        }
    }

    async fn proceed(&mut self) -> bool {
        self.inner.proceed().await
    }

    fn now_ms(&self) -> f64 {
        self.inner.now_ms()
    }

    async fn store(&mut self, _: CheckpointSlot, _: &[u8]) -> Result<String, String> {
        Ok("not kept".into())
    }

    fn take_peer(&mut self) -> Option<Box<dyn GradientPeer>> {
        self.peer.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::InputShape;
    use crate::model::{ModelConfig, Preset};

    #[test]
    fn only_a_new_fine_tuning_of_a_pretrained_network_trains_the_head_first() {
        let shape = InputShape::square(64);
        let pretrained = ModelConfig::new(Preset::EfficientNetLite0, 2, shape);
        let mut config = TrainingConfig {
            transfer: Transfer::All,
            head_first: true,
            ..TrainingConfig::default()
        };
        assert!(config.trains_head_first(&pretrained, 0));
        assert!(
            !config.trains_head_first(&pretrained, 3),
            "a resumed run has its head"
        );
        assert!(!config.trains_head_first(&ModelConfig::new(Preset::Strong, 2, shape), 0));
        config.transfer = Transfer::Top;
        assert!(config.trains_head_first(&pretrained, 0));
        config.transfer = Transfer::Head;
        assert!(!config.trains_head_first(&pretrained, 0));
        config.transfer = Transfer::All;
        config.head_first = false;
        assert!(!config.trains_head_first(&pretrained, 0));
    }

    #[test]
    fn the_outcome_reads_as_english_in_both_modes() {
        assert_eq!(
            describe(None, 1, Transfer::All),
            "the new head was trained first (1 epoch); every layer now trains"
        );
        assert_eq!(
            describe(None, 3, Transfer::Top),
            "the new head was trained first (3 epochs); the top blocks and the head now train"
        );
    }

    #[test]
    fn the_head_trains_as_a_head_only_run_of_the_same_settings() {
        let config = TrainingConfig {
            transfer: Transfer::All,
            head_first: true,
            augmentation: Some(Default::default()),
            epochs: 17,
            ..TrainingConfig::default()
        };
        let head = head_config(&config);
        assert_eq!(head.transfer, Transfer::Head);
        assert_eq!(head.augmentation, None);
        assert!(!head.head_first);
        assert_eq!(head.callbacks.checkpoint, None);
        assert_eq!(
            head.callbacks.early_stopping,
            config.callbacks.early_stopping
        );
        assert_eq!(head.epochs, 17);
        assert_eq!(head.optimizer, config.optimizer);
    }
}
