"""Summary table of bench/pneumonia.sh's runs: test ACC and AUC with their intervals, per seed,
and mean and standard deviation per class weighting.
    python3 bench/pneumonia_summary.py RESULTS_DIR PRESET COMMIT"""
import json
import pathlib
import statistics
import sys

out, preset, commit = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
print(f"# PneumoniaMNIST variant, test split (624 images), preset {preset}, commit {commit}")
print("| weighting | seed | test ACC (95 % CI, Wilson) | test AUC (95 % CI, bootstrap) | epochs run |")
print("|---|---|---|---|---|")
for weighting in ("none", "balanced"):
    accs, aucs = [], []
    for path in sorted(out.glob(f"{preset}-{weighting}-seed*.json")):
        run = json.loads(path.read_text())
        intervals = run["intervals"]
        acc = intervals["accuracy_wilson"]
        # Two classes: class 1 (pneumonia) against the rest is the usual AUC.
        auc = intervals["per_class"][1]["auc"]
        accs.append(acc["estimate"])
        aucs.append(auc["estimate"])
        seed = path.stem.rsplit("seed", 1)[1]
        print(f"| {weighting} | {seed} | {acc['estimate']:.3f} ({acc['lo']:.3f}-{acc['hi']:.3f}) | "
              f"{auc['estimate']:.3f} ({auc['lo']:.3f}-{auc['hi']:.3f}) | {len(run['history'])} |")
    if accs:
        sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
        print(f"| {weighting} | mean ± sd of {len(accs)} | {statistics.mean(accs):.3f} ± {sd(accs):.3f} | "
              f"{statistics.mean(aucs):.3f} ± {sd(aucs):.3f} | |")
