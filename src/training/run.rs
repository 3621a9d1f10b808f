//! The state of a run between steps: the network, the optimiser, the optional second replica,
//! the callbacks' states and the weights kept for restoring.

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;

use super::weighting::ClassWeighting;
use super::{
    CallbackStates, Checkpoint, CheckpointSink, CheckpointSlot, GradientPeer, PeerSetup,
    ResumeState, RunRecord, StopReason, TrainingConfig, TrainingEvent, TrainingHost,
};
use crate::data::Dataset;
use crate::model::{Classifier, ModelConfig};

/// Mixes a seed with a number so each epoch gets its own stream (splitmix64).
pub(super) fn mix(seed: u64, salt: u64) -> u64 {
    let mut z = seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What a run trains and validates on.
pub struct TrainingData<'a> {
    /// All images.
    pub dataset: &'a Dataset,
    /// Indices of training samples.
    pub train: Vec<usize>,
    /// Indices of validation samples.
    pub validation: Vec<usize>,
}

impl TrainingData<'_> {
    /// The class weights `weighting` gives this training split (an error where they do not
    /// fit its classes: the run's check says so before anything starts).
    pub fn class_weights(&self, weighting: &ClassWeighting) -> Result<Option<Vec<f32>>, String> {
        let labels: Vec<usize> = self
            .train
            .iter()
            .map(|&i| self.dataset.samples[i].label)
            .collect();
        weighting.weights(&labels, self.dataset.classes.len())
    }
}

/// Where a run starts.
// Unboxed although `Fresh` holds nothing: one `Start` per run, moved once into it.
#[allow(clippy::large_enum_variant)]
pub enum Start {
    /// New weights from the network's initialiser.
    Fresh,
    /// A new run from these weights (a pretrained backbone with a new head).
    Weights(Classifier),
    /// Continue from a checkpoint at the epoch after the one it saved: its weights, history and
    /// callback states (the optimiser's moments start afresh).
    Resume {
        /// The checkpoint's weights (any device; they are copied to the training device).
        model: Classifier,
        /// Its history.
        record: RunRecord,
        /// Its resume point.
        state: ResumeState,
    },
}

/// A finished run.
pub struct TrainingOutcome {
    /// The trained network, in inference mode (dropout off, batch-norm running statistics).
    pub model: Classifier,
    /// History and callback events (the checkpoint's, then this run's).
    pub record: RunRecord,
    /// Where the run ended (a later run can resume from here).
    pub resume: ResumeState,
    /// Why it ended.
    pub reason: StopReason,
    /// The epoch whose weights `model` holds.
    pub weights_from_epoch: usize,
    /// The second replica, when the run had one: it can share the scoring of the test set.
    pub peer: Option<Box<dyn GradientPeer>>,
}

/// A run in progress.
pub(super) struct Run<'a> {
    pub data: &'a TrainingData<'a>,
    pub config: &'a TrainingConfig,
    pub network: &'a ModelConfig,
    /// The device of inference (validation, snapshots).
    pub device: Device,
    /// The same device with automatic differentiation.
    pub train_device: Device,
    pub model: Classifier,
    pub optimizer: ModuleOptimizer,
    /// The second replica (data parallelism), while it works.
    pub peer: Option<Box<dyn GradientPeer>>,
    /// A second replica kept for after the run, not for its steps (a head-only run's, once
    /// its feature pass is done).
    pub spare_peer: Option<Box<dyn GradientPeer>>,
    pub state: ResumeState,
    pub record: RunRecord,
    /// The best epoch's weights, kept when `restore_best_weights` asks for them.
    pub best: Option<(usize, Classifier)>,
    /// The last completed epoch's weights (restored when the loss turns non-finite).
    pub last_good: Option<(usize, Classifier)>,
    /// The weights the run started from.
    pub start_weights: (usize, Classifier),
    pub weights_from_epoch: usize,
    /// Trainable values (what the peer's gradients must count).
    pub parameters: usize,
    /// The loss's class weights (`None`: every image counts the same).
    pub class_weights: Option<Vec<f32>>,
    /// The frozen backbone's features of the training and validation images, when the run
    /// trains the head alone on them ([`super::features`]).
    pub features: Option<super::features::FeatureCache>,
}

impl<'a> Run<'a> {
    /// Builds the network (fresh or from the checkpoint), the optimiser and the peer, and
    /// announces the run.
    pub fn begin<H: TrainingHost>(
        data: &'a TrainingData<'a>,
        config: &'a TrainingConfig,
        network: &'a ModelConfig,
        start: Start,
        device: &Device,
        host: &mut H,
    ) -> Self {
        let train_device = device.clone().autodiff();
        device.seed(config.seed);
        let (model, state, record) = match start {
            Start::Resume {
                model,
                record,
                state,
            } => {
                device.seed(mix(config.seed, state.epochs_completed as u64));
                (model.fork(&train_device), state, record)
            }
            Start::Fresh => (
                network.init(&train_device),
                Self::first_state(config),
                RunRecord::default(),
            ),
            Start::Weights(model) => (
                model.fork(&train_device),
                Self::first_state(config),
                RunRecord::default(),
            ),
        };
        // Freezing is not part of the weights: applied to a resumed network as to a new one.
        let model = model.prepare_transfer(config.transfer);
        let model = if config.adapts_norm(network, state.epochs_completed) {
            let images = (data.dataset, data.train.as_slice());
            let seed = mix(config.seed, 0xADAB_0001);
            super::adapt_norm::adapt_norm(model, images, config.transfer, seed, &train_device)
        } else {
            model
        };
        let optimizer = config.optimizer.adam().init();
        let start_weights = (state.epochs_completed, model.valid());
        let parameters = super::parameter_count(&model);
        let mut run = Self {
            data,
            config,
            network,
            device: device.clone(),
            train_device,
            model,
            optimizer,
            peer: None,
            spare_peer: None,
            weights_from_epoch: state.epochs_completed,
            state,
            record,
            best: None,
            last_good: None,
            start_weights,
            parameters,
            class_weights: None,
            features: None,
        };
        run.class_weights = run.weights_of_classes();
        run.peer = host.take_peer();
        // A run that trains the head first hands the replica to the head's run, which sets it
        // up for itself, and takes it back after (`adopt_peer`): set up once for each.
        if !config.trains_head_first(network, run.state.epochs_completed) {
            run.start_peer(host);
        }
        run.announce(host);
        run
    }

    /// The state of a run at its start.
    fn first_state(config: &TrainingConfig) -> ResumeState {
        ResumeState {
            epochs_completed: 0,
            learning_rate: config.optimizer.learning_rate,
            callbacks: CallbackStates::new(&config.callbacks),
        }
    }

    /// The class weights of the settings for the training split (checked before the run).
    fn weights_of_classes(&self) -> Option<Vec<f32>> {
        self.data
            .class_weights(&self.config.class_weighting)
            .ok()
            .flatten()
    }

    /// Data parallelism where the host offered a second replica (the page's CPU path): sets
    /// it up for this run.
    fn start_peer<H: TrainingHost>(&mut self, host: &mut H) {
        // A pretrained network's replica freezes what this run freezes (`PeerSetup::transfer`);
        // a head-only run on cached features uses it for the feature pass alone.
        let pretrained = self.network.preset().pretrained().is_some();
        let setup = PeerSetup {
            model: self.network.clone(),
            // 53 bits, so that a JavaScript number carries it to the page's helper.
            seed: mix(
                self.config.seed,
                0x7065_6572 + self.state.epochs_completed as u64,
            ) >> 11,
            class_weights: self.class_weights.clone(),
            transfer: pretrained.then_some(self.config.transfer),
        };
        if let Some(helper) = self.peer.as_mut()
            && let Err(error) = helper.start(&setup)
        {
            self.drop_peer(host, error);
        }
    }

    /// Takes back the second replica that another run used (the head's, trained first) and
    /// sets it up for this one.
    pub fn adopt_peer<H: TrainingHost>(&mut self, peer: Box<dyn GradientPeer>, host: &mut H) {
        self.peer = Some(peer);
        self.start_peer(host);
    }

    /// Starts this run's epochs from `model` (the head trained first): its weights, what a
    /// loss that turns non-finite in the first epoch falls back to, and a fresh optimiser.
    pub fn restart_from(&mut self, model: Classifier) {
        self.start_weights = (0, model.clone());
        // `train()`: `model` is an inference snapshot, whose parameters track no gradient
        // until put back in training mode (each as it was configured: the head's run froze
        // the backbone, and preparing for this run's mode thaws what it trains).
        self.model = model
            .fork(&self.train_device)
            .train()
            .prepare_transfer(self.config.transfer);
        self.optimizer = self.config.optimizer.adam().init();
    }

    fn announce<H: TrainingHost>(&self, host: &mut H) {
        host.event(TrainingEvent::Started {
            first_epoch: self.state.epochs_completed + 1,
            epochs: self.config.epochs,
            batches: self.batches(),
            train_images: self.data.train.len(),
            validation_images: self.data.validation.len(),
            parameters: self.model.num_params(),
            replicas: self.replicas(),
        });
    }

    /// Replicas computing each batch now: 2 with the second replica (the page's helper).
    pub fn replicas(&self) -> usize {
        1 + usize::from(self.peer.is_some())
    }

    /// Batches per epoch.
    pub fn batches(&self) -> usize {
        self.data.train.len().div_ceil(self.config.batch_size)
    }

    /// Says why the peer is no longer used and drops it (training goes on, on one core).
    pub fn drop_peer<H: TrainingHost>(&mut self, host: &mut H, why: String) {
        if self.peer.take().is_some() {
            host.event(TrainingEvent::ReplicaLost {
                message: format!(
                    "the second training replica failed ({why}); training goes on, on one core"
                ),
            });
        }
    }

    /// Hands `model` with the run's record to `sink` for `slot`.
    pub async fn save<H: TrainingHost, S: CheckpointSink>(
        &self,
        slot: CheckpointSlot,
        model: &Classifier,
        (host, sink): (&mut H, &mut S),
    ) -> Result<String, String> {
        let checkpoint = Checkpoint {
            slot,
            model,
            record: &self.record,
            resume: &self.state,
        };
        sink.save(checkpoint, host).await
    }

    /// Records and reports a callback's action.
    pub fn callback_event<H: TrainingHost>(&mut self, event: super::CallbackEvent, host: &mut H) {
        self.record.callback_events.push(event.clone());
        host.event(TrainingEvent::Callback(event));
    }

    /// Ends the run: the final event and the outcome.
    pub fn finish<H: TrainingHost>(self, reason: StopReason, host: &mut H) -> TrainingOutcome {
        host.event(TrainingEvent::Finished {
            reason,
            epochs_completed: self.state.epochs_completed,
            weights_from_epoch: self.weights_from_epoch,
        });
        TrainingOutcome {
            model: self.model.valid(),
            record: self.record,
            resume: self.state,
            reason,
            weights_from_epoch: self.weights_from_epoch,
            peer: self.peer.or(self.spare_peer),
        }
    }
}
