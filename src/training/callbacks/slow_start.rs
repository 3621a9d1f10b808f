//! Why EarlyStopping stopped a run that had not started: a hint for the user.
//!
//! On a few images a class, a network can learn its training images for several epochs while
//! its validation accuracy stays at chance. EarlyStopping, watching validation, then stops the
//! run and keeps epoch 1, and the user gets a model that calls every image one class with no
//! word of why. The case that showed it (`bench/results/small-data-2026-12-06-792031e-bn-momentum.txt`)
//! was BatchNorm's running statistics moving a tenth per batch, two batches an epoch; since
//! `training/norm_momentum.rs` they follow a small training set within an epoch, and
//! that case trains. Any other slow start still ends this way, and this says it at the stop.

use crate::training::EpochMetrics;

/// When the run in `history` (its epochs so far, the one that stops it last) never lifted
/// validation accuracy much above chance for `classes` classes while its training accuracy
/// climbed well above it, the words that say so and what to change; `None` otherwise.
///
/// "Much above chance": a third of the way from chance to 1; "well above": two thirds (six
/// classes: 0.44 and 0.72; two: 0.67 and 0.83). A run that merely overfits (validation
/// above the first line) or has not learnt its training images (below the second) gets none.
pub fn slow_start_hint(history: &[EpochMetrics], classes: usize) -> Option<String> {
    let last = history.last()?;
    if classes < 2 || history.len() < 2 {
        return None;
    }
    let chance = 1.0 / classes as f64;
    let best_val = history.iter().map(|m| m.val_accuracy).fold(0.0, f64::max);
    let stuck = best_val <= chance + (1.0 - chance) / 3.0;
    let learnt = last.accuracy >= chance + 2.0 * (1.0 - chance) / 3.0;
    (stuck && learnt).then(|| {
        format!(
            "validation accuracy never rose above {best_val:.2} (chance with {classes} classes: \
             {chance:.2}) while training accuracy reached {:.2}: on very few images a network \
             can take several epochs before validation follows. EarlyStopping's \
             start_from_epoch, or a longer patience, lets it go on",
            last.accuracy
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(pairs: &[(f64, f64)]) -> Vec<EpochMetrics> {
        pairs
            .iter()
            .enumerate()
            .map(|(i, &(accuracy, val_accuracy))| EpochMetrics {
                epoch: i + 1,
                loss: 1.0,
                accuracy,
                val_loss: 1.0,
                val_accuracy,
                val_auc: None,
                learning_rate: 1e-3,
                seconds: 1.0,
                train_seconds: 1.0,
                images_per_second: 1.0,
            })
            .collect()
    }

    /// The stopped run of draw 9 (strong network, 5 a class, six classes), epoch by epoch as
    /// `bench/results/small-data-2026-12-06-792031e-bn-momentum.txt` recorded it.
    const DRAW_9: [(f64, f64); 11] = [
        (0.23, 0.17),
        (0.37, 0.17),
        (0.60, 0.17),
        (0.67, 0.17),
        (0.77, 0.17),
        (0.73, 0.17),
        (0.80, 0.17),
        (0.83, 0.17),
        (0.90, 0.20),
        (0.90, 0.23),
        (0.87, 0.30),
    ];

    #[test]
    fn the_recorded_slow_start_gets_the_hint() {
        let hint = slow_start_hint(&history(&DRAW_9), 6).expect("a hint");
        assert!(hint.contains("never rose above 0.30"), "{hint}");
        assert!(hint.contains("reached 0.87"), "{hint}");
        assert!(hint.contains("start_from_epoch"), "{hint}");
    }

    /// The same run with momentum 0.5 (same record): validation left chance at epoch 3.
    #[test]
    fn a_run_whose_validation_follows_gets_none() {
        let follows = [
            (0.23, 0.17),
            (0.37, 0.17),
            (0.60, 0.67),
            (0.67, 0.63),
            (0.77, 0.80),
            (0.73, 0.77),
            (0.80, 0.87),
            (0.90, 0.83),
        ];
        assert_eq!(slow_start_hint(&history(&follows), 6), None);
    }

    #[test]
    fn a_run_that_has_not_learnt_its_training_images_gets_none() {
        let flat = [(0.20, 0.17), (0.30, 0.17), (0.40, 0.17)];
        assert_eq!(slow_start_hint(&history(&flat), 6), None);
    }

    /// Two classes: chance is 0.5, so 0.6 on validation is still near it, 0.7 is not.
    #[test]
    fn chance_follows_the_number_of_classes() {
        let near = [(0.55, 0.5), (0.9, 0.6)];
        assert!(slow_start_hint(&history(&near), 2).is_some());
        let above = [(0.55, 0.5), (0.9, 0.7)];
        assert_eq!(slow_start_hint(&history(&above), 2), None);
        assert_eq!(slow_start_hint(&history(&near[..1]), 2), None, "one epoch");
    }
}
