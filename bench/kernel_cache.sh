#!/usr/bin/env bash
# The native kernel cache measured on lavapipe (Mesa's CPU Vulkan, `apt install
# mesa-vulkan-drivers`), the stand-in for a GPU on a machine without one: the same one-epoch
# training run three times in one go, with an empty cache (cold), with the cache the first run
# filled (warm), and with the cache off (MEDCLASSIFY_KERNEL_CACHE=off: CubeCL's own setting, a
# ./target folder in a fresh scratch folder, so nothing found: cold again); then `warmup` into a
# fresh cache and the run after it. Prints the first epoch's time of each, and what the cache
# folder holds. Mesa's own shader cache is off throughout.
#
# Usage: bench/kernel_cache.sh [PRESET] [BATCH]   (default strong 64)
# Needs the command built with the GPU feature: cargo build --release --locked
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
PRESET="${1:-strong}"
BATCH="${2:-64}"
BIN="$CARGO_TARGET_DIR/release/medclassify"
ICD=$(ls /usr/share/vulkan/icd.d/lvp_icd*.json | head -n 1)
export VK_DRIVER_FILES="$ICD" VK_ICD_FILENAMES="$ICD" XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
# Mesa keeps compiled shaders on disk too; off, so that only MedClassify's cache differs.
export MESA_SHADER_CACHE_DISABLE=true
SAMPLE="$PWD/www/sample/MedNIST"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "# bench/kernel_cache.sh $PRESET $BATCH, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
echo "# $(nproc) cores; Vulkan driver file $ICD"

train() {  # label, then the environment to run with
  local label=$1; shift
  local start=$SECONDS
  # From the scratch folder: CubeCL's own default keeps results under ./target.
  (cd "$WORK" && env "$@" "$BIN" train "$SAMPLE" --preset "$PRESET" --batch "$BATCH" --epochs 1 \
      --backend wgpu --patience 0 --lr-patience 0 --out "$WORK/$label.mcmodel" --json \
      > "$WORK/$label.json" 2> "$WORK/$label.log") || { echo "$label failed:"; tail -n 20 "$WORK/$label.log"; exit 1; }
  python3 - "$label" "$WORK/$label.json" $((SECONDS - start)) <<'PY'
import json, sys
label, path, wall = sys.argv[1], sys.argv[2], int(sys.argv[3])
epoch = json.load(open(path))["history"][0]
print(f"{label:>12}: first epoch {epoch['seconds']:.2f} s (training {epoch['train_seconds']:.2f} s), whole run {wall} s, val_accuracy {epoch['val_accuracy']:.4f}")
PY
}

CACHE="$WORK/cache"
train cold MEDCLASSIFY_CACHE_DIR="$CACHE"
echo "cache after the cold run: $(find "$CACHE" -type f | wc -l) files, $(du -sh "$CACHE" | cut -f1) in $(ls "$CACHE/kernels")"
train warm MEDCLASSIFY_CACHE_DIR="$CACHE"
train cache-off MEDCLASSIFY_CACHE_DIR="$CACHE" MEDCLASSIFY_KERNEL_CACHE=off
WARMED="$WORK/warmed"
start=$SECONDS
env MEDCLASSIFY_CACHE_DIR="$WARMED" "$BIN" warmup --backend wgpu --presets "$PRESET" --batches "$BATCH" 2>&1 | sed 's/^/  warmup: /'
echo "  warmup took $((SECONDS - start)) s"
train after-warmup MEDCLASSIFY_CACHE_DIR="$WARMED"
cat "$CACHE"/kernels/*/device.txt | sed 's/^/  device.txt: /'
