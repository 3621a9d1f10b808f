//! Everything that defines a training run.

use burn::optim::{AdamConfig, decay::WeightDecayConfig};
use serde::{Deserialize, Serialize};

use super::{CallbackSettings, ClassWeighting, Sampling};
use crate::data::AugmentConfig;
use crate::model::pretrained::BACKBONE_LEARNING_RATE;
use crate::model::{ModelConfig, Preset, Transfer};

/// The largest batch the settings accept (far above what fits a browser's memory at 128 px).
pub const MAX_BATCH_SIZE: usize = 4096;

/// Adam settings as the model file and the page's form hold them. Burn's [`AdamConfig`] is
/// what trains ([`AdamSettings::adam`]); this copy exists because the model file's header must
/// keep its field names whatever Burn renames, and the learning rate (not part of
/// `AdamConfig`) belongs with the other optimiser settings in the form and the card.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamSettings {
    /// Initial learning rate.
    #[serde(with = "crate::json_float")]
    pub learning_rate: f64,
    /// Exponential decay of the first moment.
    pub beta_1: f32,
    /// Exponential decay of the second moment.
    pub beta_2: f32,
    /// Added to the denominator for stability.
    pub epsilon: f32,
    /// L2 penalty added to the gradient (0 = off).
    pub weight_decay: f32,
}

impl AdamSettings {
    /// Burn's optimiser configuration for these settings.
    pub fn adam(&self) -> AdamConfig {
        AdamConfig::new()
            .with_beta_1(self.beta_1)
            .with_beta_2(self.beta_2)
            .with_epsilon(self.epsilon)
            .with_weight_decay(
                (self.weight_decay > 0.0).then(|| WeightDecayConfig::new(self.weight_decay)),
            )
    }
}

impl Default for AdamSettings {
    fn default() -> Self {
        Self {
            learning_rate: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            weight_decay: 0.0,
        }
    }
}

/// A training run's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingConfig {
    /// Network preset.
    pub preset: Preset,
    /// Epochs to run (callbacks may stop earlier).
    pub epochs: usize,
    /// Images per training batch.
    pub batch_size: usize,
    /// Optimiser settings.
    pub optimizer: AdamSettings,
    /// Seed of weight initialisation, shuffling, dropout and augmentation.
    pub seed: u64,
    /// On-the-fly augmentation of training batches (`None` = off).
    pub augmentation: Option<AugmentConfig>,
    /// Callbacks.
    pub callbacks: CallbackSettings,
    /// Read the loss back every this many batches (1 = every batch). Larger values keep a
    /// GPU busier; batch events then carry the mean over the interval.
    pub log_every: usize,
    /// How the classes weigh in the training loss (files written before it existed: none).
    #[serde(default)]
    pub class_weighting: ClassWeighting,
    /// Which images an epoch visits (files written before it existed: all, shuffled).
    #[serde(default)]
    pub sampling: Sampling,
    /// Which part of a pretrained network trains (ignored by networks trained from scratch;
    /// files written before it existed: the head).
    #[serde(default)]
    pub transfer: Transfer,
    /// With a pretrained network that trains more than its head ([`Transfer::Top`],
    /// [`Transfer::All`]): train the new head alone first, on the frozen backbone's features,
    /// as a head-only run of these settings would, then the chosen layers from there (linear
    /// probing, then fine-tuning; `training::head_first`). Files written before it existed:
    /// off, as they were trained.
    #[serde(default)]
    pub head_first: bool,
    /// With a pretrained network that trains more than its head: the backbone's learning rate
    /// as a fraction of the head's (discriminative learning rates; files written before it
    /// existed: [`BACKBONE_LEARNING_RATE`], as they were trained).
    #[serde(default = "backbone_learning_rate")]
    pub backbone_lr: f64,
    /// With a pretrained network that trains its head alone or every layer
    /// ([`Transfer::fits_norm_statistics`]): before the first epoch, re-estimate the backbone's
    /// BatchNorm statistics on the training images (AdaBN; `training::adapt_norm` says why),
    /// then keep them frozen. Off unless asked: it helped on MedNIST's draws of 5 images a
    /// class and cost PneumoniaMNIST its AUC, either way (BENCHMARKS.md). Files written before
    /// it existed: off, as they were trained.
    #[serde(default)]
    pub adapt_norm: bool,
}

fn backbone_learning_rate() -> f64 {
    BACKBONE_LEARNING_RATE
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            preset: Preset::Seed,
            epochs: 10,
            batch_size: 64,
            optimizer: AdamSettings::default(),
            seed: 42,
            augmentation: None,
            callbacks: CallbackSettings::default(),
            log_every: 1,
            class_weighting: ClassWeighting::None,
            sampling: Sampling::Shuffle,
            transfer: Transfer::Head,
            head_first: false,
            backbone_lr: BACKBONE_LEARNING_RATE,
            adapt_norm: false,
        }
    }
}

impl TrainingConfig {
    /// Whether a run of these settings on `network` starting at `epochs_completed` trains the
    /// head alone first (`training::head_first`): a new fine-tuning of a pretrained network.
    pub fn trains_head_first(&self, network: &ModelConfig, epochs_completed: usize) -> bool {
        self.head_first
            && self.transfer != Transfer::Head
            && network.preset().pretrained().is_some()
            && epochs_completed == 0
    }

    /// Whether a run of these settings on `network` starting at `epochs_completed`
    /// re-estimates the backbone's BatchNorm statistics first (`training::adapt_norm`): asked,
    /// and a new run of a pretrained network that trains its head alone or every layer (the top
    /// blocks keep ImageNet's statistics: not measured). A resumed run has them in its weights.
    pub fn adapts_norm(&self, network: &ModelConfig, epochs_completed: usize) -> bool {
        self.adapt_norm
            && self.transfer.fits_norm_statistics()
            && network.preset().pretrained().is_some()
            && epochs_completed == 0
    }

    /// Checks the settings; returns a message naming the bad one.
    pub fn validate(&self) -> Result<(), String> {
        if self.epochs == 0 {
            return Err("epochs must be at least 1".into());
        }
        crate::data::parse_seed(&self.seed.to_string())?;
        if self.batch_size == 0 || self.batch_size > MAX_BATCH_SIZE {
            return Err(format!(
                "batch size {} is outside 1..={MAX_BATCH_SIZE}",
                self.batch_size
            ));
        }
        let lr = self.optimizer.learning_rate;
        if !(lr.is_finite() && lr > 0.0 && lr < 10.0) {
            return Err(format!("learning rate {lr} must be above 0 and below 10"));
        }
        if !(0.0..1.0).contains(&self.optimizer.beta_1)
            || !(0.0..1.0).contains(&self.optimizer.beta_2)
        {
            return Err("Adam betas must be in [0, 1)".into());
        }
        if !(self.backbone_lr > 0.0 && self.backbone_lr <= 1.0) {
            return Err(format!(
                "the backbone's learning rate, {} of the head's, must be above 0 and at most 1",
                self.backbone_lr
            ));
        }
        self.class_weighting.validate()?;
        if let Some(reduce) = &self.callbacks.reduce_lr
            && !(reduce.factor > 0.0 && reduce.factor < 1.0)
        {
            return Err(format!(
                "ReduceLROnPlateau factor {} must be between 0 and 1",
                reduce.factor
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backbones_learning_rate_is_a_fraction_of_the_heads() {
        let with = |backbone_lr| TrainingConfig {
            backbone_lr,
            ..TrainingConfig::default()
        };
        assert_eq!(TrainingConfig::default().backbone_lr, 0.1);
        assert!(with(1.0).validate().is_ok());
        assert!(with(0.01).validate().is_ok());
        for bad in [0.0, -0.1, 1.5, f64::NAN] {
            let error = with(bad).validate().unwrap_err();
            assert!(error.contains("backbone's learning rate"), "{error}");
        }
    }

    /// A model file written before the setting existed was trained at a tenth, and says so.
    #[test]
    fn settings_without_the_backbones_rate_read_as_a_tenth() {
        let mut json = serde_json::to_value(TrainingConfig::default()).unwrap();
        let object = json.as_object_mut().unwrap();
        object.remove("backbone_lr");
        object.remove("head_first");
        let read: TrainingConfig = serde_json::from_value(json).unwrap();
        assert_eq!(read.backbone_lr, 0.1);
        assert!(!read.head_first);
    }
}
