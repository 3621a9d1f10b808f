//! Step 3's state: the test-set assessment of the last run, its misclassified images and the
//! images of a clicked confusion-matrix cell.

use std::rc::Rc;

use crate::evaluation::{Assessment, ThresholdMetrics};
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
    /// For two classes: the positive class and the decision threshold on its probability.
    pub threshold: Threshold,
}

/// A two-class decision rule: call `positive` when its probability is at least `value`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold {
    /// The class called positive (0 or 1).
    pub positive: usize,
    /// The threshold on its probability.
    pub value: f32,
}

impl Default for Threshold {
    /// Class 1 (MedMNIST's convention: label 1 is the finding) at 0.5.
    fn default() -> Self {
        Self {
            positive: 1,
            value: 0.5,
        }
    }
}

impl EvaluateState {
    /// A run ended with this assessment.
    pub fn assessed(&mut self, assessment: Assessment, misclassified: Vec<SampleImage>) {
        self.assessment = Some(Rc::new(assessment));
        self.misclassified = misclassified;
        self.cell_images = None;
        self.threshold = Threshold::default();
    }

    /// The heading of the misclassified images: how many the gallery shows and, where the
    /// engine sent only the most confident ones, of how many (a test set of 8,843 images at
    /// 97.9 % has 182 mistakes; "48" alone would read as all of them).
    pub fn misclassified_heading(&self) -> String {
        let shown = self.misclassified.len();
        let wrong = self
            .assessment
            .as_ref()
            .map_or(shown, |a| a.evaluation.total - a.evaluation.correct);
        match shown < wrong {
            true => format!("Misclassified test images (the {shown} most confident of {wrong})"),
            false => format!("Misclassified test images ({shown})"),
        }
    }

    /// Shows the images of a cell.
    pub fn show_cell(&mut self, cell: (usize, usize), images: Vec<SampleImage>) {
        self.cell_images = Some((cell.0, cell.1, images));
    }

    /// Moves the threshold (clamped to 0..=1) or changes the positive class.
    pub fn set_threshold(&mut self, threshold: Threshold) {
        self.threshold = Threshold {
            positive: threshold.positive.min(1),
            value: threshold.value.clamp(0.0, 1.0),
        };
    }

    /// The threshold that maximises Youden's J on the validation set, for the current
    /// positive class, if the assessment has one.
    pub fn youden(&self) -> Option<f32> {
        let two = self.assessment.as_ref()?.two_class.as_ref()?;
        two.youden_validation[self.threshold.positive.min(1)]
    }

    /// The counts and rates at the current threshold (two classes only).
    pub fn at_threshold(&self) -> Option<ThresholdMetrics> {
        let two = self.assessment.as_ref()?.two_class.as_ref()?;
        Some(two.at(self.threshold.positive, self.threshold.value))
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
                not_applied: None,
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
            two_class: None,
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
    fn the_threshold_moves_the_counts_and_youden_comes_from_validation() {
        use crate::evaluation::TwoClassScores;
        let mut state = EvaluateState::default();
        let mut a = assessment();
        // P(class 1) of four test images: 0.9 (label 1), 0.6 (0), 0.4 (1), 0.1 (0).
        a.two_class = Some(TwoClassScores {
            probabilities: vec![0.1, 0.9, 0.4, 0.6, 0.6, 0.4, 0.9, 0.1],
            labels: vec![1, 0, 1, 0],
            youden_validation: [Some(0.7), Some(0.35)],
        });
        state.assessed(a, Vec::new());
        let at = state.at_threshold().unwrap();
        // At 0.5: 0.9 and 0.6 called positive -> TP 1, FP 1, TN 1, FN 1.
        assert_eq!(
            (
                at.true_positives,
                at.false_positives,
                at.true_negatives,
                at.false_negatives
            ),
            (1, 1, 1, 1)
        );
        state.set_threshold(Threshold {
            positive: 1,
            value: state.youden().unwrap(),
        });
        let at = state.at_threshold().unwrap();
        // At 0.35: 0.9, 0.6 and 0.4 called positive -> TP 2, FP 1, TN 1, FN 0.
        assert_eq!(
            (at.true_positives, at.false_positives, at.false_negatives),
            (2, 1, 0)
        );
        assert_eq!((at.sensitivity, at.specificity), (1.0, 0.5));
        // Class 0 as positive: its own Youden threshold, and P(class 0) >= 0.7 calls one image.
        state.set_threshold(Threshold {
            positive: 0,
            value: 0.7,
        });
        assert_eq!(state.youden(), Some(0.7));
        let at = state.at_threshold().unwrap();
        assert_eq!((at.true_positives, at.false_positives), (1, 0));
        state.set_threshold(Threshold {
            positive: 5,
            value: 3.0,
        });
        assert_eq!(
            state.threshold,
            Threshold {
                positive: 1,
                value: 1.0
            }
        );
    }

    #[test]
    fn cell_purposes_parse() {
        assert_eq!(cell_of("cell:2,5"), Some((2, 5)));
        assert_eq!(cell_of("cell:2"), None);
        assert_eq!(cell_of("cell:x,1"), None);
        assert_eq!(cell_of("samples:1,2"), None);
    }

    #[test]
    fn the_gallery_heading_says_when_it_shows_only_some_mistakes() {
        let mut many = assessment();
        (many.evaluation.total, many.evaluation.correct) = (8843, 8661);
        let mut state = EvaluateState::default();
        state.assessed(many, (0..48).map(image).collect());
        assert_eq!(
            state.misclassified_heading(),
            "Misclassified test images (the 48 most confident of 182)"
        );
        // All of them shown (the fixture has one mistake): the count alone.
        state.assessed(assessment(), vec![image(1)]);
        assert_eq!(
            state.misclassified_heading(),
            "Misclassified test images (1)"
        );
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
