//! The test set scored after every epoch (`medclassify train --test-every-epoch`): how long a
//! run takes to reach a test accuracy, for the benchmarks. A part of the terminal host, not a
//! wrapper around it, so that the host's other duties are not forwarded through it.

use burn::prelude::Device;

use crate::data::Dataset;
use crate::evaluation::{Evaluation, score_samples};
use crate::model::Classifier;

/// What to score after each epoch, and the accuracies so far.
pub struct EpochTest<'d> {
    dataset: &'d Dataset,
    test: Vec<usize>,
    /// Where the network computes (the CPU after a GPU loss).
    pub device: Device,
    /// `(epoch, test accuracy)`, in order.
    pub results: Vec<(usize, f64)>,
}

impl<'d> EpochTest<'d> {
    /// Scores `test` (samples of `dataset`) on `device` after each epoch.
    pub fn new(dataset: &'d Dataset, test: Vec<usize>, device: Device) -> Self {
        Self {
            dataset,
            test,
            device,
            results: Vec::new(),
        }
    }

    /// Scores the test set with the network after `epoch`; the accuracy, or `None` when the
    /// set is empty or the scoring failed (a benchmark figure missing, not a failed run).
    pub async fn score(&mut self, epoch: usize, model: &Classifier) -> Option<f64> {
        if self.test.is_empty() {
            return None;
        }
        let scores = score_samples(model, self.dataset, &self.test, &self.device)
            .await
            .ok()?;
        let labels: Vec<usize> = self
            .test
            .iter()
            .map(|&i| self.dataset.samples[i].label)
            .collect();
        let evaluation = Evaluation::from_probabilities(
            &self.dataset.classes,
            &scores.probabilities(1.0),
            &labels,
        );
        self.results.push((epoch, evaluation.accuracy));
        Some(evaluation.accuracy)
    }
}
