//! Head-only transfer learning on cached features. With the backbone frozen (its weights and
//! its BatchNorm statistics) and no augmentation, an image's pooled backbone features are the
//! same in every epoch: they are computed once, before the first epoch, and every epoch then
//! trains the head alone on them. The backbone's pass, nearly all of a step's time, is paid
//! once per image instead of once per image and epoch. (With augmentation each epoch's images
//! differ, so the backbone runs every epoch.)

use burn::prelude::*;

use super::PassOutput;
use super::inputs::Inputs;
use super::shared_pass::{SharedPass, pooled_tensor};
use super::{GradientPeer, TrainingConfig, TrainingError, TrainingEvent, TrainingHost};
use crate::data::{Dataset, make_batch};
use crate::model::{Classifier, ModelConfig, Transfer};

/// Images per batch of the feature pass (a progress report after each).
const FEATURE_BATCH: usize = 64;

/// The pooled backbone features of some samples, on the inference device.
pub struct FeatureCache {
    /// Row of each sample in `features` (`None` for samples not cached).
    rows: Vec<Option<i64>>,
    /// `[rows, features, 1, 1]`.
    features: Tensor<4>,
}

/// Whether a run of `config` on `network` trains on cached features.
pub fn applies(config: &TrainingConfig, network: &ModelConfig) -> bool {
    network.preset().pretrained().is_some()
        && config.transfer == Transfer::Head
        && config.augmentation.is_none()
}

impl FeatureCache {
    /// The features of `samples` by `model` (inference mode) on `device`, a batch at a time,
    /// with progress to `host`, which may stop the run between batches (`Ok(None)`). With a
    /// `peer` (the page's second core) each step is shared with it ([`SharedPass`]); a peer
    /// that fails is dropped, with a notice, and its share computed here.
    pub async fn compute<H: TrainingHost>(
        model: &Classifier,
        dataset: &Dataset,
        samples: &[usize],
        device: &Device,
        peer: &mut Option<Box<dyn GradientPeer>>,
        host: &mut H,
    ) -> Result<Option<Self>, TrainingError> {
        let start = host.now_ms();
        let mut rows = vec![None; dataset.len()];
        let mut parts = Vec::new();
        let mut done = 0;
        let batch = model.inference_batch(dataset.shape.size() as usize, FEATURE_BATCH);
        let mut pass = SharedPass::new(model, peer, PassOutput::Pooled).await;
        for chunk in samples.chunks(pass.step(batch)) {
            if !host.proceed().await {
                return Ok(None);
            }
            let (theirs, ours) = pass.split(chunk);
            let share = pass.hand_over(dataset, theirs);
            let own = pooled(model, dataset, ours, device);
            if !theirs.is_empty() {
                parts.push(match pass.collect(share, None).await {
                    Some(values) => pooled_tensor(values, theirs.len(), device),
                    None => pooled(model, dataset, theirs, device),
                });
            }
            if let Some(why) = pass.take_failure() {
                host.event(TrainingEvent::ReplicaLost {
                    message: format!(
                        "the second replica failed ({why}); the features are computed on one core"
                    ),
                });
            }
            parts.push(own);
            for &sample in theirs.iter().chain(ours) {
                rows[sample] = Some(done as i64);
                done += 1;
            }
            host.event(TrainingEvent::Features {
                done,
                total: samples.len(),
                seconds: (host.now_ms() - start) / 1000.0,
            });
        }
        if parts.is_empty() {
            return Err(TrainingError::Invalid(
                "no image to compute features of".into(),
            ));
        }
        Ok(Some(Self {
            rows,
            features: Tensor::cat(parts, 0),
        }))
    }

    /// The cached features of `samples`, on `device`.
    pub fn inputs(&self, samples: &[usize], device: &Device) -> Inputs {
        let rows: Vec<i64> = samples
            .iter()
            .map(|&s| self.rows[s].expect("only cached samples are asked for"))
            .collect();
        let index = Tensor::<1, Int>::from_data(
            TensorData::new(rows, [samples.len()]),
            &self.features.device(),
        );
        Inputs::Features(self.features.clone().select(0, index).to_device(device))
    }
}

/// `[n, features, 1, 1]`: the pooled features of `samples`.
fn pooled(model: &Classifier, dataset: &Dataset, samples: &[usize], device: &Device) -> Tensor<4> {
    let (images, _) = make_batch(dataset, samples, None, device);
    let features = model.features(images);
    features.mean_dim(3).mean_dim(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::InputShape;
    use crate::model::Preset;

    #[test]
    fn only_a_head_only_run_without_augmentation_uses_the_cache() {
        let shape = InputShape::square(64);
        let pretrained = ModelConfig::new(Preset::EfficientNetLite0, 2, shape);
        let mut config = TrainingConfig {
            transfer: Transfer::Head,
            ..TrainingConfig::default()
        };
        assert!(applies(&config, &pretrained));
        assert!(!applies(
            &config,
            &ModelConfig::new(Preset::Strong, 2, shape)
        ));
        config.transfer = Transfer::Top;
        assert!(!applies(&config, &pretrained));
        config.transfer = Transfer::Head;
        config.augmentation = Some(Default::default());
        assert!(!applies(&config, &pretrained));
    }
}
