#!/usr/bin/env bash
# Small PneumoniaMNIST (BENCHMARKS.md, transfer learning): PER_CLASS training images of each
# class drawn from ../shared/data/pneumoniamnist-variant.npz (seeded), its own validation and
# test arrays whole; the networks from scratch at 28 px beside EfficientNet-Lite0 (head only,
# ImageNet weights) at BIG px, side by side in one run. One line per run in the record:
# test accuracy and the AUC of class 1 (pneumonia) with its 95 % interval, the epoch whose
# weights were kept, and the test accuracy at the threshold Youden's J chose on validation.
#   PER_CLASS=50 SEEDS=1,2,3 BIG=128 NETWORKS="seed strong lite0-head" EPOCHS=40 bench/small_pneumonia.sh
# MONITOR (default val_loss) is what the callbacks watch and the kept weights are best by:
# MONITOR=val_auc keeps the epoch with the best validation AUC.
# Networks: seed, strong (28 px), lite0-head, lite0-all, lite0-all-augment (every layer trained,
# with --augment: rotation 10°, zoom 10 %, shift 10 %) at BIG px. "-adabn" after lite0-all or
# lite0-all-augment fits the backbone's BatchNorm statistics to the training images first
# (--adapt-norm, AdaBN; the default on 2026-12-06 and 07 until b4abd79, 02:00 UTC, when
# 2026-12-07's "lite0-all" record ran with it); "-imagenet-norm" keeps ImageNet's
# (--imagenet-norm), the default before and since. The command is copied once before the
# first run, so that a build during the runs does not change which code trains the later ones.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
PER_CLASS=${PER_CLASS:-50}
SEEDS=${SEEDS:-1,2,3}
BIG=${BIG:-128}
NETWORKS=${NETWORKS:-seed strong lite0-head}
EPOCHS=${EPOCHS:-40}
MONITOR=${MONITOR:-val_loss}
npz=${PNEUMONIA_NPZ:-../shared/data/pneumoniamnist-variant.npz}
[ -f "$npz" ] || { echo "$npz is missing: set PNEUMONIA_NPZ" >&2; exit 1; }
cargo build --release --locked --no-default-features --features cli --bin medclassify >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CLI="$tmp/medclassify"
cp "$CARGO_TARGET_DIR/release/medclassify" "$CLI"
built="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo '+changes')"
OUT=bench/out/small-pneumonia
mkdir -p "$OUT"
.venv/bin/python bench/small_pneumonia.py "$npz" "$OUT" --per-class "$PER_CLASS" --seeds "$SEEDS" --sizes "28,$BIG"
record="bench/results/small-pneumonia-$(date -u +%F)-$(git rev-parse --short HEAD).txt"
{
  echo "# bench/small_pneumonia.sh: PER_CLASS=$PER_CLASS SEEDS=$SEEDS BIG=$BIG EPOCHS=$EPOCHS NETWORKS=\"$NETWORKS\" MONITOR=$MONITOR"
  echo "# $(nproc) cores, $(uname -m), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD), the command built from $built"
  echo "# every run: --batch 16 --patience 10 --lr-patience 5 --monitor $MONITOR --backend cpu --seed <seed> (Adam 1e-3); test = the file's test array (624 images)"
  echo "per_class seed network size test_accuracy auc auc_lo auc_hi epochs train_seconds kept_epoch acc_at_val_youden"
} > "$record"
for seed in ${SEEDS//,/ }; do
  for net in $NETWORKS; do
    norm=()
    case "$net" in
      *-imagenet-norm) norm=(--imagenet-norm) ;;
      *-adabn) norm=(--adapt-norm) ;;
    esac
    base=${net%-imagenet-norm}
    case "${base%-adabn}" in
      seed | strong) args=(--preset "$net"); size=28 ;;
      lite0-head) args=(--preset efficientnet_lite0 --transfer head); size=$BIG ;;
      lite0-all) args=(--preset efficientnet_lite0 --transfer all); size=$BIG ;;
      lite0-all-augment) args=(--preset efficientnet_lite0 --transfer all --augment); size=$BIG ;;
      *) echo "unknown network $net" >&2; exit 2 ;;
    esac
    data="$OUT/pneumonia-${PER_CLASS}pc-seed${seed}-${size}px.npz"
    json="$OUT/run-seed${seed}-${net}.json"
    "$CLI" train "$data" "${args[@]}" "${norm[@]}" --size "$size" --epochs "$EPOCHS" --batch 16 --patience 10 --lr-patience 5 \
      --monitor "$MONITOR" --backend cpu --seed "$seed" --json --out "$OUT/model-$$.mcmodel" > "$json"
    # Named after this script's process: two runs side by side never share a model file.
    rm -f "$OUT/model-$$".*
    line=$(python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
auc = r['intervals']['per_class'][1]['auc']
print(f\"{r['test']['accuracy']:.4f} {auc['estimate']:.4f} {auc['lo']:.4f} {auc['hi']:.4f} {len(r['history'])} {r['training_seconds']:.0f} {r['weights_from_epoch']} {(r.get('test_at_validation_threshold') or {}).get('accuracy', {}).get('estimate', float('nan')):.4f}\")" "$json")
    echo "$PER_CLASS $seed $net $size $line" | tee -a "$record"
  done
done
echo "written to $record"
