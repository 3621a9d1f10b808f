//! Step 3's state: the test-set assessment of the last run, its misclassified images and the
//! images of a clicked confusion-matrix cell.

use std::rc::Rc;

use crate::evaluation::Assessment;
use crate::page::protocol::SampleImage;

/// The `purpose` prefix of an image request for a confusion-matrix cell
/// (`cell:<true>,<predicted>`), echoed back by the engine with the images.
pub const CELL_PURPOSE: &str = "cell:";

/// What the Evaluate step shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvaluateState {
    /// Test assessment.
    pub assessment: Option<Rc<Assessment>>,
    /// Misclassified test images.
    pub misclassified: Vec<SampleImage>,
    /// Images of a clicked confusion-matrix cell: (true, predicted, images).
    pub cell_images: Option<(usize, usize, Vec<SampleImage>)>,
}

impl EvaluateState {
    /// A run ended with this assessment.
    pub fn assessed(&mut self, assessment: Assessment, misclassified: Vec<SampleImage>) {
        self.assessment = Some(Rc::new(assessment));
        self.misclassified = misclassified;
        self.cell_images = None;
    }

    /// Shows the images of a cell.
    pub fn show_cell(&mut self, cell: (usize, usize), images: Vec<SampleImage>) {
        self.cell_images = Some((cell.0, cell.1, images));
    }

    /// Closes the cell gallery.
    pub fn close_cell(&mut self) {
        self.cell_images = None;
    }
}

/// The cell (true, predicted) an image request's `purpose` names, if it names one.
pub fn cell_of(purpose: &str) -> Option<(usize, usize)> {
    let rest = purpose.strip_prefix(CELL_PURPOSE)?;
    let mut parts = rest.split(',').filter_map(|p| p.parse::<usize>().ok());
    Some((parts.next()?, parts.next()?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::evaluation::{
        CalibrationSummary, ECE_BINS, Evaluation, OperatingPoint, calibration,
        confidence_intervals, roc_curves,
    };

    /// A two-class assessment of two test images, one of them wrong.
    pub(crate) fn assessment() -> Assessment {
        let classes = ["a".to_string(), "b".to_string()];
        let probabilities = [0.9, 0.1, 0.3, 0.7];
        let labels = [0, 0];
        let calibrated = calibration(&probabilities, 2, &labels, ECE_BINS);
        Assessment {
            evaluation: Evaluation::from_probabilities(&classes, &probabilities, &labels),
            calibration: CalibrationSummary {
                before: calibrated.clone(),
                temperature: 1.0,
                after: calibrated,
            },
            predictions: Vec::new(),
            intervals: confidence_intervals(
                &probabilities,
                &labels,
                2,
                OperatingPoint::Argmax,
                50,
                1,
            ),
            curves: roc_curves(&probabilities, &labels, 2),
        }
    }

    pub(crate) fn image(sample: usize) -> SampleImage {
        SampleImage {
            sample,
            path: format!("a/{sample}.png"),
            label: 0,
            pixels: vec![sample as u8; 16],
        }
    }

    #[test]
    fn cell_purposes_parse() {
        assert_eq!(cell_of("cell:2,5"), Some((2, 5)));
        assert_eq!(cell_of("cell:2"), None);
        assert_eq!(cell_of("cell:x,1"), None);
        assert_eq!(cell_of("samples:1,2"), None);
    }

    #[test]
    fn an_assessment_replaces_the_last_and_closes_the_gallery() {
        let mut state = EvaluateState::default();
        state.show_cell((0, 1), vec![image(3)]);
        state.assessed(assessment(), vec![image(1), image(2)]);
        assert_eq!(state.cell_images, None);
        assert_eq!(state.misclassified.len(), 2);
        assert_eq!(
            state.assessment.as_ref().map(|a| a.evaluation.correct),
            Some(1)
        );
        state.show_cell((0, 1), vec![image(2)]);
        assert_eq!(
            state.cell_images.as_ref().map(|c| (c.0, c.1, c.2.len())),
            Some((0, 1, 1))
        );
        state.close_cell();
        assert_eq!(state.cell_images, None);
    }
}
