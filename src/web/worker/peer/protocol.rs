//! The engine <-> training helper protocol.

use serde::{Deserialize, Serialize};

/// Engine -> training helper (the second replica of data-parallel CPU training).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum PeerRequest {
    /// Build the replica.
    Setup(crate::training::PeerSetup),
    /// Compute the gradient of these images at these weights; answer with
    /// [`PeerReply::Gradients`] or [`PeerReply::Failed`].
    Step {
        /// The weights, flat, as little-endian `f32`s.
        #[serde(with = "serde_bytes")]
        weights: Vec<u8>,
        /// The images' raw intensities.
        #[serde(with = "serde_bytes")]
        pixels: Vec<u8>,
        /// Their class indices.
        labels: Vec<i32>,
    },
    /// Compute the pooled features (a frozen backbone's feature pass) or the logits (a test
    /// set's scores) of these images; answer with [`PeerReply::Features`] or
    /// [`PeerReply::Failed`].
    Features {
        /// The weights, flat, as little-endian `f32`s; empty: the ones sent before.
        #[serde(with = "serde_bytes")]
        weights: Vec<u8>,
        /// The images' raw intensities.
        #[serde(with = "serde_bytes")]
        pixels: Vec<u8>,
        /// What to compute for each image.
        #[serde(default)]
        output: crate::training::PassOutput,
    },
}

/// Training helper -> engine.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum PeerReply {
    /// The helper has loaded its module and takes requests.
    Ready,
    /// The answer to a step.
    Gradients {
        /// The gradient, flat, as little-endian `f32`s.
        #[serde(with = "serde_bytes")]
        gradients: Vec<u8>,
        /// Sum of the images' losses.
        loss_sum: f64,
        /// Images classified correctly.
        correct: usize,
        /// Milliseconds the helper computed.
        compute_ms: f64,
    },
    /// The answer to a feature pass's share.
    Features {
        /// Each image's pooled features, flat, as little-endian `f32`s.
        #[serde(with = "serde_bytes")]
        features: Vec<u8>,
    },
    /// A step (or the setup) failed.
    Failed {
        /// Why.
        message: String,
    },
}

/// `f32`s as little-endian bytes (for [`PeerRequest`] and [`PeerReply`]).
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Little-endian bytes back to `f32`s (a trailing partial value is dropped).
pub fn bytes_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}
