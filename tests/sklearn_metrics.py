"""Recomputes MedClassify's ranking metrics with scikit-learn (run by tests/metrics_oracle.rs).

Usage: sklearn_metrics.py CASES.json

Each binary case holds scores, 0/1 labels and our ROC curve (drop_intermediate=False), AUC,
precision-recall curve and average precision; each multiclass case holds probability rows,
labels and our one-vs-rest AUC and AP per class. Exits non-zero, naming the case and the
quantity, on any difference above 1e-9 (or any difference in curve length).
"""

import json
import sys
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

TOLERANCE = 1e-9


def floats(values):
    """JSON numbers, and "Infinity" / "NaN" strings, as a float64 array."""
    return np.array([float(v) for v in values], dtype=np.float64)


def difference(ours, theirs):
    """Largest absolute difference (equal infinities count as 0); inf when shapes differ."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        return float("inf")
    same = (ours == theirs) | (np.isnan(ours) & np.isnan(theirs))
    with np.errstate(invalid="ignore"):  # inf - inf where both are +inf: masked by `same`
        gaps = np.where(same, 0.0, np.abs(ours - theirs))
    return float(gaps.max()) if gaps.size else 0.0


def youden(y, tpr, fpr, thresholds):
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    tp = np.rint(tpr * positives).astype(np.int64)
    fp = np.rint(fpr * negatives).astype(np.int64)
    j = tp * negatives - fp * positives
    return thresholds[1:][np.argmax(j[1:])]


def check_binary(case):
    y = np.array(case["positives"], dtype=np.int64)
    s = np.array(case["scores"], dtype=np.float64)
    fpr, tpr, thresholds = roc_curve(y, s, drop_intermediate=False)
    precision, recall, pr_thresholds = precision_recall_curve(y, s)
    expected = {
        "fpr": (floats(case["fpr"]), fpr),
        "tpr": (floats(case["tpr"]), tpr),
        "thresholds": (floats(case["thresholds"]), thresholds),
        "auc": (case["auc"], roc_auc_score(y, s)),
        "precision": (floats(case["precision"]), precision),
        "recall": (floats(case["recall"]), recall),
        "pr_thresholds": (floats(case["pr_thresholds"]), pr_thresholds),
        "average_precision": (case["average_precision"], average_precision_score(y, s)),
        # Youden's J: the threshold of the first (highest) maximum of tpr - fpr among the
        # scores (index 0 is scikit-learn's +inf "predict nothing" point, not a score),
        # compared exactly: J * P * N = TP * N - FP * P in integers, as rounding the rates
        # can break an exact tie either way.
        "youden": (case["youden"], youden(y, tpr, fpr, thresholds)),
    }
    return {name: difference(ours, theirs) for name, (ours, theirs) in expected.items()}


def check_multiclass(case):
    p = np.array(case["probabilities"], dtype=np.float64)
    labels = np.array(case["labels"], dtype=np.int64)
    k = p.shape[1]
    per_class_auc = [roc_auc_score(labels == c, p[:, c]) for c in range(k)]
    per_class_ap = [average_precision_score(labels == c, p[:, c]) for c in range(k)]
    # The same through scikit-learn's own one-vs-rest (rows sum to 1 within float rounding).
    ovr = roc_auc_score(labels, p, multi_class="ovr", average=None)
    return {
        "auc": difference(case["auc"], per_class_auc),
        "auc (multi_class='ovr')": difference(case["auc"], ovr),
        "average_precision": difference(case["average_precision"], per_class_ap),
    }


def main(path):
    with open(path) as f:
        cases = json.load(f)
    failures, largest, checked = [], 0.0, 0
    with warnings.catch_warnings():
        # A warning about an undefined metric means a degenerate case slipped in.
        warnings.simplefilter("error", UndefinedMetricWarning)
        for kind, check in (("binary", check_binary), ("multiclass", check_multiclass)):
            for case in cases[kind]:
                checked += 1
                for name, gap in check(case).items():
                    largest = max(largest, gap)
                    if not gap <= TOLERANCE:
                        failures.append(f"{case['name']}: {name} differs by {gap}")
    for failure in failures:
        print("MISMATCH", failure)
    print(
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}: {checked} cases, "
        f"{len(failures)} mismatches, largest difference {largest:.3g}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
