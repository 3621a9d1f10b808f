//! Keras-style training callbacks as plain state machines, fed one epoch at a time.

mod checkpoint;
mod early_stopping;
mod monitor;
mod reduce_lr;
mod slow_start;

pub use checkpoint::{CheckpointConfig, ModelCheckpoint};
pub use early_stopping::{EarlyStopping, EarlyStoppingConfig, EarlyStoppingDecision};
pub use monitor::Monitor;
pub use reduce_lr::{ReduceLrConfig, ReduceLrOnPlateau};
pub use slow_start::slow_start_hint;

use serde::{Deserialize, Serialize};

/// Which callbacks run, with their settings (`None` = off).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallbackSettings {
    /// `EarlyStopping`.
    pub early_stopping: Option<EarlyStoppingConfig>,
    /// `ReduceLROnPlateau`.
    pub reduce_lr: Option<ReduceLrConfig>,
    /// `ModelCheckpoint`.
    pub checkpoint: Option<CheckpointConfig>,
}

impl Default for CallbackSettings {
    fn default() -> Self {
        Self {
            early_stopping: Some(EarlyStoppingConfig::default()),
            reduce_lr: Some(ReduceLrConfig::default()),
            checkpoint: Some(CheckpointConfig::default()),
        }
    }
}

impl CallbackSettings {
    /// The metrics the callbacks that are on watch.
    pub fn monitors(&self) -> Vec<Monitor> {
        let early = self.early_stopping.as_ref().map(|c| c.monitor);
        let reduce = self.reduce_lr.as_ref().map(|c| c.monitor);
        let checkpoint = self.checkpoint.as_ref().map(|c| c.monitor);
        [early, reduce, checkpoint].into_iter().flatten().collect()
    }

    /// Points every callback that is on at `monitor`.
    pub fn watch(&mut self, monitor: Monitor) {
        if let Some(c) = self.early_stopping.as_mut() {
            c.monitor = monitor;
        }
        if let Some(c) = self.reduce_lr.as_mut() {
            c.monitor = monitor;
        }
        if let Some(c) = self.checkpoint.as_mut() {
            c.monitor = monitor;
        }
    }

    /// Refuses a watched metric these data cannot give: `val_auc` needs two classes (with
    /// more, a callback watching it would never see an improvement) and an image of each in
    /// the validation split (without one there is no AUC, so the callback would wait in vain).
    /// `validation` is each class's name and its validation images, in class order.
    pub fn check_for(&self, validation: &[(&str, usize)]) -> Result<(), String> {
        if !self.monitors().contains(&Monitor::ValAuc) {
            return Ok(());
        }
        let classes = validation.len();
        if classes != 2 {
            return Err(format!(
                "a callback watches val_auc, the validation AUC of two classes, and these data have {classes} classes: watch val_loss or val_accuracy instead"
            ));
        }
        if let Some((class, _)) = validation.iter().find(|(_, images)| *images == 0) {
            return Err(format!(
                "a callback watches val_auc, and the validation split has no image of class \"{class}\", so there is no AUC to watch: give validation a larger fraction, or watch val_loss"
            ));
        }
        Ok(())
    }
}

/// The state of all callbacks, saved with a checkpoint so training can resume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallbackStates {
    /// `EarlyStopping` state.
    pub early_stopping: Option<EarlyStopping>,
    /// `ReduceLROnPlateau` state.
    pub reduce_lr: Option<ReduceLrOnPlateau>,
    /// `ModelCheckpoint` state.
    pub checkpoint: Option<ModelCheckpoint>,
}

impl CallbackStates {
    /// Fresh states for `settings`.
    pub fn new(settings: &CallbackSettings) -> Self {
        Self {
            early_stopping: settings.early_stopping.clone().map(EarlyStopping::new),
            reduce_lr: settings.reduce_lr.clone().map(ReduceLrOnPlateau::new),
            checkpoint: settings.checkpoint.clone().map(ModelCheckpoint::new),
        }
    }
}
