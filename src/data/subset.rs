//! Which subset an image belongs to: what the split assigns, a `.npz` file can carry and the
//! data set keeps, so a leaf that all of them name.

use serde::{Deserialize, Serialize};

/// Which subset an image belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subset {
    /// Used to fit the weights.
    Train,
    /// Used by the callbacks (early stopping, LR schedule, checkpoints) and calibration.
    Validation,
    /// Held out for the final evaluation.
    Test,
    /// A redundant duplicate removed because the user chose to drop duplicates.
    Dropped,
}

impl Subset {
    /// Name used in the manifest (`train`, `validation`, `test`, `dropped`).
    pub fn name(self) -> &'static str {
        match self {
            Subset::Train => "train",
            Subset::Validation => "validation",
            Subset::Test => "test",
            Subset::Dropped => "dropped",
        }
    }
}
