//! A pretrained backbone's weights in the page: a static file of the app itself (never
//! another host), downloaded when a run first needs it, with progress, checked against the
//! published SHA-256 and kept while the engine lives. The service worker keeps the file, so
//! the next visit (and an offline one) does not download it again.

use std::cell::RefCell;
use std::sync::Arc;

use super::post;
use crate::model::pretrained::{BackboneInfo, WeightsFile};
use crate::web::platform::{js, time};
use crate::web::protocol::Response;

thread_local! {
    /// Weights already read in this engine, by backbone name.
    static KEPT: RefCell<Vec<(&'static str, Arc<WeightsFile>)>> = const { RefCell::new(Vec::new()) };
}

/// Where the page serves `backbone`'s weights, relative to the engine's script (the app's
/// root). The checksum in the query names this exact file to the service worker's cache, so
/// a new file is never answered with an old one; static servers ignore it.
pub fn weights_url(backbone: &BackboneInfo) -> String {
    format!(
        "weights/{}?sha256={}",
        backbone.weights_file,
        &backbone.weights_sha256[..16]
    )
}

/// `backbone`'s weights: kept ones, else downloaded (progress to the page) and checked.
pub async fn weights(backbone: &'static BackboneInfo) -> Result<Arc<WeightsFile>, String> {
    let kept = KEPT.with_borrow(|kept| {
        kept.iter()
            .find(|(name, _)| *name == backbone.name)
            .map(|(_, w)| w.clone())
    });
    if let Some(weights) = kept {
        return Ok(weights);
    }
    let total = backbone.weights_bytes;
    let what = format!("the {} weights", backbone.label);
    let report = |received: usize| {
        post(&Response::Download {
            what: what.clone(),
            received: received as u64,
            total,
        })
    };
    report(0);
    let mut last_report = time::now_ms();
    let url = weights_url(backbone);
    let limit = usize::try_from(total).unwrap_or(usize::MAX);
    let fetched = js::fetch_bytes_with_progress(&url, limit, |received| {
        // A report per 100 ms at most: the page redraws on each.
        if time::now_ms() - last_report > 100.0 {
            last_report = time::now_ms();
            report(received);
        }
    })
    .await;
    report(limit);
    let bytes = fetched.map_err(|e| {
        format!(
            "{what} could not be downloaded from this page's server ({e}); whoever hosts the page runs scripts/weights.sh before building it"
        )
    })?;
    let weights = Arc::new(backbone.read_weights(bytes)?);
    KEPT.with_borrow_mut(|kept| kept.push((backbone.name, weights.clone())));
    Ok(weights)
}
