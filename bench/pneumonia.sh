#!/usr/bin/env bash
# The PneumoniaMNIST scoreboard (BENCHMARKS.md): the command line trains on
# ../shared/data/pneumoniamnist-variant.npz (its own train / val / test arrays, 28x28) with and
# without class weighting, several seeds each, and scores the official test split.
#   bench/pneumonia.sh [PRESET] [SEEDS] [EPOCHS]      (defaults: seed "1 2 3" 20)
# A pretrained network takes the file's 28 px images scaled up to SIZE (kept at 28 px in
# memory), trains as TRANSFER says, with BATCH images a batch:
#   SIZE=64 TRANSFER=all WEIGHTINGS=balanced bench/pneumonia.sh efficientnet_lite0 "1 2 3" 12
# AUGMENT=1 adds --augment (rotation, zoom, shift) and "-augment" to the records' names;
# SAMPLING=balanced adds --sampling balanced (use it with WEIGHTINGS=none).
# ADAPT_NORM=1 (with TRANSFER=all) fits the backbone's BatchNorm statistics first (below).
# HEAD_FIRST=1 adds --head-first (the head trained alone on frozen features, then TRANSFER's
# layers from there: "linear probing, then fine-tuning") and "-head-first" to the names.
# The binary is copied once before the first run, so that a build during the runs does not
# change which code trains the later seeds.
# Writes one JSON record per run (`train --json`: history, test metrics, intervals) and a
# summary to bench/results/pneumonia-<date>/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
preset=${1:-seed}
seeds=${2:-1 2 3}
epochs=${3:-20}
weightings=${WEIGHTINGS:-none balanced}
extra=()
label=$preset
if [ -n "${TRANSFER:-}" ]; then
  extra+=(--transfer "$TRANSFER")
  label="$preset-$TRANSFER"
fi
[ -n "${BATCH:-}" ] && extra+=(--batch "$BATCH")
if [ -n "${AUGMENT:-}" ]; then
  extra+=(--augment)
  label="$label-augment"
fi
if [ -n "${HEAD_FIRST:-}" ]; then
  extra+=(--head-first)
  label="$label-head-first"
fi
if [ -n "${SAMPLING:-}" ]; then
  extra+=(--sampling "$SAMPLING")
  label="$label-$SAMPLING-sampling"
fi
size=${SIZE:-28}
[ "$size" = 28 ] || label="$label-${size}px"
# ADAPT_NORM=1 fits the backbone's BatchNorm statistics to the training images before the
# first epoch (--adapt-norm, AdaBN; "-adabn" in the names). Without it they stay ImageNet's,
# the default (it was AdaBN from 2026-12-06 22:00 to b4abd79 (2026-12-07 02:00 UTC), when the command
# took IMAGENET_NORM=1 for what is now the default; it is still accepted and changes nothing).
if [ "${TRANSFER:-}" = all ] && [ -n "${ADAPT_NORM:-}" ]; then
  extra+=(--adapt-norm)
  label="$label-adabn"
fi
data=${PNEUMONIA_NPZ:-../shared/data/pneumoniamnist-variant.npz}
[ -f "$data" ] || data=/work/shared/data/pneumoniamnist-variant.npz
cargo build --release --locked --no-default-features --features cli --bin medclassify >&2
out="bench/results/pneumonia-$(date -u +%F)"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin="$tmp/medclassify"
cp "$CARGO_TARGET_DIR/release/medclassify" "$bin"
# The code that trains, named once now: HEAD may move while the seeds run.
built="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo '+changes')"
echo "binary: built from $built" >&2
for weighting in $weightings; do
  for seed in $seeds; do
    name="$label-$weighting-seed$seed"
    echo "== $name" >&2
    "$bin" train "$data" --size "$size" --preset "$preset" "${extra[@]}" --epochs "$epochs" --seed "$seed" \
      --class-weighting "$weighting" --backend cpu --out "$tmp/$name.mcmodel" --json > "$out/$name.json"
  done
done
python3 bench/pneumonia_summary.py "$out" "$label" "$built" | tee "$out/summary-$label.txt"
