"""Summary table of bench/pneumonia.sh's runs: test ACC and AUC with their intervals, per seed,
and mean and standard deviation per class weighting. Runs whose record has
`test_at_validation_threshold` (since the command reports it) get a column more: the test
accuracy when pneumonia is called at the threshold Youden's J chose on the validation set.
    python3 bench/pneumonia_summary.py RESULTS_DIR PRESET COMMIT"""
import json
import pathlib
import statistics
import sys

out, preset, commit = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]


def interval(i):
    return f"{i['estimate']:.3f} ({i['lo']:.3f}-{i['hi']:.3f})"


print(f"# PneumoniaMNIST variant, test split (624 images), preset {preset}, commit {commit}")
print("| weighting | seed | test ACC (95 % CI, Wilson) | test AUC (95 % CI, bootstrap) | epochs run "
      "| ACC at validation's Youden threshold (95 % CI, Wilson) | that threshold on P(pneumonia) |")
print("|---|---|---|---|---|---|---|")
for weighting in ("none", "balanced"):
    accs, aucs, youden_accs = [], [], []
    for path in sorted(out.glob(f"{preset}-{weighting}-seed*.json")):
        run = json.loads(path.read_text())
        intervals = run["intervals"]
        acc = intervals["accuracy_wilson"]
        # Two classes: class 1 (pneumonia) against the rest is the usual AUC.
        auc = intervals["per_class"][1]["auc"]
        accs.append(acc["estimate"])
        aucs.append(auc["estimate"])
        youden = run.get("test_at_validation_threshold")
        at = ("", "")
        if youden:
            youden_accs.append(youden["accuracy"]["estimate"])
            at = (interval(youden["accuracy"]), f"{youden['threshold']:.3f}")
        seed = path.stem.rsplit("seed", 1)[1]
        print(f"| {weighting} | {seed} | {interval(acc)} | {interval(auc)} | {len(run['history'])} | {at[0]} | {at[1]} |")
    if accs:
        sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
        youden = f"{statistics.mean(youden_accs):.3f} ± {sd(youden_accs):.3f}" if youden_accs else ""
        print(f"| {weighting} | mean ± sd of {len(accs)} | {statistics.mean(accs):.3f} ± {sd(accs):.3f} | "
              f"{statistics.mean(aucs):.3f} ± {sd(aucs):.3f} | | {youden} | |")
