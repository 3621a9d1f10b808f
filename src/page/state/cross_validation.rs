//! The cross-validation panel of step 2: the settings, the fold under way, each finished
//! fold's held-out scores and the summary. The folds' training runs show in the Train step's
//! ordinary charts (each fold's run replaces the last); this part holds what is particular to
//! cross-validation.

use crate::evaluation::{CrossValidation, FoldScores};
use crate::session::FoldEvent;

/// The folds offered by default (the and scikit-learn's default).
pub const DEFAULT_FOLDS: usize = 5;

/// A fold's run as it starts: which fold and how the data divides.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldUnderWay {
    /// The fold held out (0-based).
    pub fold: usize,
    /// Folds in all.
    pub k: usize,
    /// Training images.
    pub train: usize,
    /// Validation images.
    pub validation: usize,
    /// Held-out images.
    pub held_out: usize,
}

/// What the cross-validation panel shows.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossValidationState {
    /// Folds the next run makes.
    pub folds: usize,
    /// Keep each fold's model for download.
    pub keep_models: bool,
    /// A cross-validation is under way.
    pub running: bool,
    /// The fold under way.
    pub current: Option<FoldUnderWay>,
    /// Folds finished in this run, in order.
    pub finished: Vec<FoldScores>,
    /// The summary once the run ended (complete or stopped).
    pub summary: Option<CrossValidation>,
    /// Whether the engine holds the fold models of `summary`.
    pub kept: bool,
    /// The last run was a cross-validation (so it left no new model to evaluate).
    pub last_run: bool,
}

impl Default for CrossValidationState {
    fn default() -> Self {
        Self {
            folds: DEFAULT_FOLDS,
            keep_models: false,
            running: false,
            current: None,
            finished: Vec::new(),
            summary: None,
            kept: false,
            last_run: false,
        }
    }
}

impl CrossValidationState {
    /// The user started a cross-validation: the last one's results go.
    pub fn requested(&mut self) {
        self.running = true;
        self.last_run = true;
        self.current = None;
        self.finished.clear();
        self.summary = None;
        self.kept = false;
    }

    /// Progress from the engine.
    pub fn on_fold(&mut self, event: FoldEvent) {
        match event {
            FoldEvent::Started {
                fold,
                k,
                train,
                validation,
                held_out,
            } => {
                self.current = Some(FoldUnderWay {
                    fold,
                    k,
                    train,
                    validation,
                    held_out,
                })
            }
            FoldEvent::Finished(scores) => {
                self.finished.retain(|f| f.fold != scores.fold);
                self.finished.push(scores);
            }
        }
    }

    /// The run ended (all folds, or stopped); `kept` says whether the fold models are held.
    pub fn done(&mut self, summary: CrossValidation, kept: bool) {
        self.running = false;
        self.current = None;
        self.finished = summary.folds.clone();
        self.summary = Some(summary);
        self.kept = kept;
    }

    /// The run failed or the engine died (the finished folds stay on screen).
    pub fn failed(&mut self) {
        self.running = false;
        self.current = None;
    }

    /// The progress line: `Fold 2 of 5: training on 120, validating on 30, holding out 30`.
    pub fn progress(&self) -> Option<String> {
        let c = self.current.as_ref().filter(|_| self.running)?;
        Some(format!(
            "Fold {} of {}: training on {} images, validating on {}, holding out {}",
            c.fold + 1,
            c.k,
            c.train,
            c.validation,
            c.held_out
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(fold: usize, accuracy: f64) -> FoldScores {
        FoldScores {
            fold,
            images: 10,
            accuracy,
            balanced_accuracy: accuracy,
            macro_f1: accuracy,
            macro_auc: 0.9,
            epochs: 2,
        }
    }

    #[test]
    fn a_run_shows_its_folds_then_the_summary() {
        let mut state = CrossValidationState {
            summary: Some(CrossValidation::new(3, 1, vec![scores(0, 0.1)])),
            ..Default::default()
        };
        state.requested();
        assert!(state.running && state.summary.is_none() && state.finished.is_empty());
        state.on_fold(FoldEvent::Started {
            fold: 1,
            k: 3,
            train: 60,
            validation: 20,
            held_out: 20,
        });
        assert_eq!(
            state.progress().as_deref(),
            Some("Fold 2 of 3: training on 60 images, validating on 20, holding out 20")
        );
        state.on_fold(FoldEvent::Finished(scores(0, 0.8)));
        state.on_fold(FoldEvent::Finished(scores(1, 0.9)));
        assert_eq!(state.finished.len(), 2);
        let summary = CrossValidation::new(3, 1, vec![scores(0, 0.8), scores(1, 0.9)]);
        state.done(summary.clone(), true);
        assert!(!state.running && state.progress().is_none() && state.kept);
        assert_eq!(state.summary, Some(summary));
        assert!(
            !state.summary.as_ref().unwrap().complete(),
            "stopped after two of three"
        );
    }

    #[test]
    fn a_failure_keeps_the_finished_folds() {
        let mut state = CrossValidationState::default();
        state.requested();
        state.on_fold(FoldEvent::Finished(scores(0, 0.8)));
        state.failed();
        assert!(!state.running);
        assert_eq!(state.finished.len(), 1);
    }
}
