#!/usr/bin/env bash
# The PneumoniaMNIST scoreboard (BENCHMARKS.md): the command line trains on
# ../shared/data/pneumoniamnist-variant.npz (its own train / val / test arrays, 28x28) with and
# without class weighting, several seeds each, and scores the official test split.
#   bench/pneumonia.sh [PRESET] [SEEDS] [EPOCHS]      (defaults: seed "1 2 3" 20)
# Writes one JSON record per run (`train --json`: history, test metrics, intervals) and a
# summary to bench/results/pneumonia-<date>/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
preset=${1:-seed}
seeds=${2:-1 2 3}
epochs=${3:-20}
data=${PNEUMONIA_NPZ:-../shared/data/pneumoniamnist-variant.npz}
[ -f "$data" ] || data=/work/shared/data/pneumoniamnist-variant.npz
cargo build --release --locked --no-default-features --features cli --bin medclassify >&2
bin="$CARGO_TARGET_DIR/release/medclassify"
out="bench/results/pneumonia-$(date -u +%F)"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for weighting in none balanced; do
  for seed in $seeds; do
    name="$preset-$weighting-seed$seed"
    echo "== $name" >&2
    "$bin" train "$data" --size 28 --preset "$preset" --epochs "$epochs" --seed "$seed" \
      --class-weighting "$weighting" --backend cpu --out "$tmp/$name.mcmodel" --json > "$out/$name.json"
  done
done
python3 - "$out" "$preset" "$(git rev-parse --short HEAD)" <<'PY' | tee "$out/summary-$2.txt"
import json, statistics, sys, pathlib
out, preset, commit = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
print(f"# PneumoniaMNIST variant, test split (624 images), preset {preset}, commit {commit}")
print("| weighting | seed | test ACC (95 % CI, Wilson) | test AUC (95 % CI, bootstrap) | epochs |")
print("|---|---|---|---|---|")
for weighting in ("none", "balanced"):
    accs, aucs = [], []
    for path in sorted(out.glob(f"{preset}-{weighting}-seed*.json")):
        run = json.loads(path.read_text())
        i = run["intervals"]
        acc = i["accuracy_wilson"]
        # Two classes: class 1 (pneumonia) against the rest is the usual AUC.
        auc = i["per_class"][1]["auc"]
        accs.append(acc["estimate"]); aucs.append(auc["estimate"])
        seed = path.stem.split("seed")[1]
        print(f"| {weighting} | {seed} | {acc['estimate']:.3f} ({acc['lo']:.3f}-{acc['hi']:.3f}) | "
              f"{auc['estimate']:.3f} ({auc['lo']:.3f}-{auc['hi']:.3f}) | {len(run['history'])} |")
    sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
    print(f"| {weighting} | mean ± sd of {len(accs)} | {statistics.mean(accs):.3f} ± {sd(accs):.3f} | "
          f"{statistics.mean(aucs):.3f} ± {sd(aucs):.3f} | |")
PY
