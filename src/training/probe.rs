//! A short timing probe: how fast does a device train a network?

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution;

use super::TrainingHost;
use crate::model::ModelConfig;

/// Milliseconds per training step of `config` at `batch` on `device`, measured over `steps`
/// steps after `warmup` untimed ones (random data; each step ends with an async readback, so
/// the time includes the device's work).
pub async fn measure_step_ms<H: TrainingHost>(
    config: &ModelConfig,
    batch: usize,
    warmup: usize,
    steps: usize,
    device: &Device,
    host: &mut H,
) -> Result<f64, String> {
    let device = device.clone().autodiff();
    let shape = config.input_shape();
    let mut model = config.init(&device);
    let mut optimizer = AdamConfig::new().init();
    let mut start = host.now_ms();
    for step in 0..warmup + steps {
        if step == warmup {
            start = host.now_ms();
        }
        let images = Tensor::<4>::random(
            shape.dims(batch),
            Distribution::Uniform(0.0, 255.0),
            &device,
        );
        let labels = Tensor::<1, Int>::random(
            [batch],
            Distribution::Uniform(0.0, config.num_classes() as f64),
            &device,
        );
        let loss = super::weighting::cross_entropy(model.forward(images), labels, None);
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-3, model, gradients);
        loss.inner()
            .into_data_async()
            .await
            .map_err(|error| format!("probe step failed: {error}"))?;
        if !host.proceed().await {
            return Err("stopped".into());
        }
    }
    Ok((host.now_ms() - start) / steps.max(1) as f64)
}
