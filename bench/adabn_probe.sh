#!/usr/bin/env bash
# Can the user's validation images choose the BatchNorm statistics before fine-tuning?
# (issue 25; BENCHMARKS.md, "Can the validation images choose the statistics?")
#
# Fine-tuning with the backbone's statistics fitted to the training images (AdaBN,
# --adapt-norm) wins on MedNIST's 5-a-class draws and loses on small PneumoniaMNIST. A cheap
# probe that could tell the two apart before a run: train the head alone on the frozen
# backbone's features twice, once with ImageNet's statistics and once with the fitted ones,
# and compare the two heads' best validation loss (seconds of head training after one feature
# pass of the training and validation images each way). This script runs that probe on the
# draws whose fine-tuning outcome is recorded, both ways side by side in one run.
#
#   BINARY=/path/to/medclassify bench/adabn_probe.sh
#
# BINARY must accept --adapt-norm with --transfer head: main's command since the head alone
# was offered AdaBN (2026-12-07), or the one built from 92a7a3b (branch probe-adabn-head), which
# wrote the first record. Cases: MedNIST 5 a class, draws 11, 6, 1, 2 (the
# files bench/small_data.sh writes, PER_CLASS=5 BIG=224), their test part cut to 100 images a
# class (seeded; the probe needs only validation, the test figures are a rough side view);
# PneumoniaMNIST 50 a class, seeds 4, 5, 6 (bench/small_pneumonia.sh's files, BIG=224), whole.
# Every run: --transfer head, --batch 16 --patience 10 --lr-patience 5 --monitor val_loss
# --backend cpu --seed <draw>, at most 40 epochs. Record: bench/results/adabn-probe-<date>-<commit>.txt
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
BINARY="${BINARY:-$CARGO_TARGET_DIR/release/medclassify}"
OUT=bench/out/adabn-probe
mkdir -p "$OUT" bench/results
cases="mednist:11 mednist:6 mednist:1 mednist:2 pneumonia:4 pneumonia:5 pneumonia:6"
for c in $cases; do
  set=${c%%:*} seed=${c##*:}
  if [ "$set" = mednist ]; then
    src="bench/out/small-data/mednist-5pc-seed${seed}-224px.npz"
    data="$OUT/mednist-5pc-seed${seed}-224px-test100pc.npz"
    [ -f "$data" ] || .venv/bin/python - "$src" "$data" "$seed" <<'PY'
import sys, numpy as np
src, dst, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
z = dict(np.load(src))
labels = z["test_labels"].reshape(-1)
rng = np.random.default_rng(seed)
keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:100] for c in np.unique(labels)]))
z["test_images"], z["test_labels"] = z["test_images"][keep], z["test_labels"][keep]
np.savez(dst, **z)
PY
    [ -f "${src%.npz}.classes.txt" ] && cp "${src%.npz}.classes.txt" "${data%.npz}.classes.txt"
  else
    data="bench/out/small-pneumonia/pneumonia-50pc-seed${seed}-224px.npz"
  fi
  [ -f "$data" ] || { echo "missing $data: run the benchmark that writes it first" >&2; exit 1; }
done
record="bench/results/adabn-probe-$(date -u +%F)-$(git rev-parse --short HEAD).txt"
{
  echo "# bench/adabn_probe.sh: BINARY=$BINARY"
  echo "# $(nproc) cores, $(uname -m), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
  echo "# every run: --preset efficientnet_lite0 --transfer head --size 224 --epochs 40 --batch 16 --patience 10 --lr-patience 5 --monitor val_loss --backend cpu --seed <draw>"
  echo "# best_val_loss = the lowest validation loss of the run (its kept epoch); test_auc only for two classes"
  echo "set seed statistics best_val_loss val_accuracy_then test_accuracy test_auc epochs seconds"
} > "$record"
for c in $cases; do
  set=${c%%:*} seed=${c##*:}
  case "$set" in
    mednist) data="$OUT/mednist-5pc-seed${seed}-224px-test100pc.npz" ;;
    pneumonia) data="bench/out/small-pneumonia/pneumonia-50pc-seed${seed}-224px.npz" ;;
  esac
  for stats in imagenet adabn; do
    norm=(); [ "$stats" = adabn ] && norm=(--adapt-norm)
    json="$OUT/run-$set-seed$seed-$stats.json"
    "$BINARY" train "$data" --preset efficientnet_lite0 --transfer head "${norm[@]}" --size 224 --epochs 40 \
      --batch 16 --patience 10 --lr-patience 5 --monitor val_loss --backend cpu --seed "$seed" \
      --json --out "$OUT/model-$$.mcmodel" > "$json"
    rm -f "$OUT/model-$$".*
    line=$(python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
best = min(r['history'], key=lambda h: h['val_loss'])
per = (r.get('intervals') or {}).get('per_class') or []
auc = per[1]['auc']['estimate'] if len(per) == 2 and per[1].get('auc') else float('nan')
print(f\"{best['val_loss']:.4f} {best['val_accuracy']:.4f} {r['test']['accuracy']:.4f} {auc:.4f} {len(r['history'])} {r['training_seconds']:.0f}\")" "$json")
    echo "$set $seed $stats $line" | tee -a "$record"
  done
done
echo "written to $record"
