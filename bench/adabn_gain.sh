#!/usr/bin/env bash
# Where AdaBN scales channels up (BENCHMARKS.md, "Where AdaBN loses"): one epoch of fine-tuning
# EfficientNet-Lite0 at 224 px on each data set given, with ImageNet's BatchNorm statistics
# (the first only: they are the same for every data set) and with them fitted (--adapt-norm);
# each model exported to ONNX and compared by bench/adabn_gain.py. Writes
# bench/results/adabn-gain-<date>-<commit>.txt.
#   bench/adabn_gain.sh bench/out/small-pneumonia/pneumonia-50pc-seed4-224px.npz \
#     bench/out/small-data/mednist-5pc-seed11-224px.npz
# (the files bench/small_pneumonia.sh and bench/small_data.sh write with BIG=224).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
[ $# -ge 1 ] || { echo "usage: bench/adabn_gain.sh DATA.npz [DATA.npz ...]" >&2; exit 2; }
cargo build --release --locked --no-default-features --features cli --bin medclassify >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CLI="$tmp/medclassify"
cp "$CARGO_TARGET_DIR/release/medclassify" "$CLI"
run() { # data, name, extra options
  "$CLI" train "$1" --preset efficientnet_lite0 --transfer all "${@:3}" --size 224 --epochs 1 \
    --batch 16 --backend cpu --seed 4 --out "$tmp/$2.mcmodel" > "$tmp/$2.log" 2>&1
  "$CLI" export-onnx --model "$tmp/$2.mcmodel" --out "$tmp/$2.onnx" >&2
}
run "$1" imagenet
fitted=()
for data in "$@"; do
  name=$(basename "$data" .npz)
  run "$data" "$name" --adapt-norm
  fitted+=("$tmp/$name.onnx")
done
record="bench/results/adabn-gain-$(date -u +%F)-$(git rev-parse --short HEAD).txt"
{
  echo "# bench/adabn_gain.sh $*"
  echo "# $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD); ImageNet's statistics from a run on $(basename "$1")"
  .venv/bin/python bench/adabn_gain.py "$tmp/imagenet.onnx" "${fitted[@]}" | sed "s#$tmp/##g"
} > "$record"
echo "written to $record"
