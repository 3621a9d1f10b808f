//! Model weights to bytes and back (Burn's burnpack record format).
//!
//! Burn's `into_record` reads every parameter synchronously, which a browser forbids for a
//! model on WebGPU. [`encode_weights`] reads all parameters in one asynchronous transaction,
//! copies them into a model on the Flex CPU backend and serialises that one, so the same
//! code works on every backend in every environment.

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

pub use crate::model::parameter_values;
use crate::model::{Classifier, ModelConfig, read_parameters};

struct Scatter {
    values: std::vec::IntoIter<TensorData>,
    device: Device,
}

impl ModuleMapper for Scatter {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let data = self
            .values
            .next()
            .expect("one value per parameter, visited in the same order");
        Param::initialized(param.id, Tensor::from_data(data, &self.device))
    }
}

/// Reads every parameter of `model` (any backend) without blocking and returns the weights
/// in burnpack form.
pub async fn encode_weights(model: &Classifier, config: &ModelConfig) -> Result<Vec<u8>, String> {
    let model = model.valid();
    let values = read_parameters(&model)
        .await
        .map_err(|error| format!("reading the weights from the device failed: {error}"))?;
    let cpu = Device::flex();
    let template = config.init(&cpu);
    let copy = template.map(&mut Scatter {
        values: values.into_iter(),
        device: cpu,
    });
    let bytes = copy
        .into_record()
        .into_bytes()
        .map_err(|error| format!("serialising the weights failed: {error}"))?;
    Ok(bytes.to_vec())
}

/// Builds a `config` network on `device` and loads `weights` into it.
pub fn decode_weights(
    config: &ModelConfig,
    weights: &[u8],
    device: &Device,
) -> Result<Classifier, String> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights.to_vec()))
        .map_err(|error| format!("the weights are damaged: {error}"))?;
    config
        .init(device)
        .try_load_record(record.validate(true))
        .map_err(|error| {
            format!(
                "the weights do not fit a {} network: {error}",
                config.preset()
            )
        })
}
