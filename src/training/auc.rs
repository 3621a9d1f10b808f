//! The validation AUC a two-class run reports each epoch, by the Mann-Whitney statistic.
//! Training sits beside evaluation, not above it (ARCHITECTURE.md), so it keeps this small
//! rank form of its own; evaluation's ROC curve gives the same area for the full assessment.

/// The probability that a random positive outscores a random negative, ties counting one
/// half (the area under the ROC curve), from the average ranks of the scores. `None` without
/// a positive or a negative, or when a score is not a number.
pub fn rank_auc(scores: &[f32], positives: &[bool]) -> Option<f64> {
    if scores.len() != positives.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // 1-based ranks, each run of equal scores sharing its average rank.
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let average = (start + 1 + end) as f64 / 2.0;
        let tied_positives = order[start..end].iter().filter(|&&i| positives[i]).count();
        rank_sum += average * tied_positives as f64;
        start = end;
    }
    let n_pos = positives.iter().filter(|&&p| p).count() as f64;
    let n_neg = positives.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return None;
    }
    Some((rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

#[cfg(test)]
mod tests {
    use super::rank_auc;

    #[test]
    fn the_rank_form_gives_the_pairwise_area_with_ties() {
        let scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, -2.0, 0.9, 0.35];
        let positives = [false, true, false, true, false, true, false, false, true];
        // By hand, pair by pair: the positives 0.4, 0.8, 0.4, 0.35 against the negatives 0.1,
        // 0.35, 0.4, -2.0, 0.9 win 3.5, 4, 3.5 and 2.5 of their 5 pairs: 13.5 of 20.
        let auc = rank_auc(&scores, &positives).unwrap();
        assert!((auc - 0.675).abs() < 1e-12, "{auc}");
        // scikit-learn's roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75.
        let auc = rank_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
        assert!((auc - 0.75).abs() < 1e-12);
    }

    #[test]
    fn without_both_classes_or_with_nan_there_is_no_auc() {
        assert_eq!(rank_auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(rank_auc(&[0.1, 0.2], &[false, false]), None);
        assert_eq!(rank_auc(&[0.1, f32::NAN], &[true, false]), None);
    }
}
