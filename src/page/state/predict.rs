//! Step 4's state: the results of the last Predict batch and the heatmap on screen (which the
//! Evaluate step also shows, for a test image).

use std::rc::Rc;

use crate::evaluation::Heatmap;
use crate::page::protocol::{ExplainTarget, PredictionRow};

/// A heatmap to show.
#[derive(Clone, Debug, PartialEq)]
pub struct ExplanationView {
    /// What.
    pub target: ExplainTarget,
    /// Values 0..1.
    pub heatmap: Heatmap,
    /// Image.
    pub pixels: Vec<u8>,
}

/// What the Predict step shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PredictState {
    /// Predict results, one per file. Behind an `Rc` so that showing a heatmap does not copy
    /// every classified image.
    pub predictions: Rc<Vec<PredictionRow>>,
    /// Heatmap on screen.
    pub explanation: Option<ExplanationView>,
    /// Files of the batch being classified: (done, total); `None` when none is.
    pub progress: Option<(usize, usize)>,
}

impl PredictState {
    /// New results; a heatmap of the previous batch no longer applies.
    pub fn predicted(&mut self, results: Vec<PredictionRow>) {
        self.predictions = Rc::new(results);
        self.explanation = None;
        self.progress = None;
    }

    /// The engine stopped: a batch it was classifying will not end (its progress goes).
    pub fn lost(&mut self) {
        self.progress = None;
    }

    /// A batch is being classified: `done` of `total` files so far.
    pub fn predicting(&mut self, done: usize, total: usize) {
        self.progress = Some((done, total));
    }

    /// A heatmap arrived.
    pub fn explained(&mut self, target: ExplainTarget, heatmap: Heatmap, pixels: Vec<u8>) {
        self.explanation = Some(ExplanationView {
            target,
            heatmap,
            pixels,
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::InputShape;
    use crate::evaluation::ExplainMethod;

    pub(crate) fn row(name: &str) -> PredictionRow {
        PredictionRow {
            name: name.into(),
            probabilities: vec![0.25, 0.75],
            error: None,
            pixels: vec![1; 16],
        }
    }

    pub(crate) fn heatmap() -> Heatmap {
        Heatmap {
            method: ExplainMethod::GradCam,
            class: 1,
            shape: InputShape::square(4),
            values: vec![0.5; 16],
            grid: Some(2),
        }
    }

    #[test]
    fn new_results_clear_the_heatmap_and_a_heatmap_keeps_the_results() {
        let mut state = PredictState::default();
        state.predicted(vec![row("a.png"), row("b.png")]);
        let results = Rc::clone(&state.predictions);
        state.explained(ExplainTarget::Upload { index: 1 }, heatmap(), vec![2; 16]);
        assert!(Rc::ptr_eq(&results, &state.predictions));
        assert_eq!(
            state.explanation.as_ref().map(|e| e.target),
            Some(ExplainTarget::Upload { index: 1 })
        );
        state.predicted(vec![row("c.png")]);
        assert_eq!(state.explanation, None);
        assert_eq!(state.predictions.len(), 1);
    }

    #[test]
    fn progress_shows_while_a_batch_is_classified_and_ends_with_its_results() {
        let mut state = PredictState::default();
        state.predicted(vec![row("old.png")]);
        state.predicting(16, 40);
        assert_eq!(state.progress, Some((16, 40)));
        // The previous batch's results stay on screen until the new ones arrive.
        assert_eq!(state.predictions.len(), 1);
        state.predicting(32, 40);
        state.predicted(vec![row("a.png"); 40]);
        assert_eq!(state.progress, None);
        assert_eq!(state.predictions.len(), 40);
    }
}
