//! Reading a network's parameters without blocking (a browser forbids synchronous reads from
//! a GPU): one asynchronous transaction for all of them.

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::{ExecutionError, Transaction};

use super::Classifier;

#[derive(Default)]
struct Gather(Option<Transaction>);

impl ModuleVisitor for Gather {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let transaction = self.0.take().unwrap_or_default();
        self.0 = Some(transaction.register(param.val()));
    }
}

/// Every float parameter of `model`, in visiting order, read in one transaction.
pub async fn read_parameters(model: &Classifier) -> Result<Vec<TensorData>, ExecutionError> {
    let mut gather = Gather::default();
    model.visit(&mut gather);
    match gather.0 {
        Some(transaction) => transaction.execute_async().await,
        None => Ok(Vec::new()),
    }
}

/// Every float parameter of `model`, flattened, in visiting order (read without blocking).
pub async fn parameter_values(model: &Classifier) -> Result<Vec<Vec<f32>>, String> {
    read_parameters(model)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|v| v.try_into_vec_as::<f32>().map_err(|e| format!("{e:?}")))
        .collect()
}
