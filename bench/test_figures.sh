#!/usr/bin/env bash
# The figures BENCHMARKS.md and README quote from tests' own printed lines (parity against
# independent references, frozen weights, the batch in parts, the WebGPU backbone) and the
# command line's time estimate at 224 px, run once and kept as one raw record.
#   bench/test_figures.sh      -> bench/results/test-figures-<date>-<commit>.txt
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
record="bench/results/test-figures-$(date -u +%F)-$(git rev-parse --short HEAD).txt"
native=(cargo test --release --locked --no-default-features --features cli)
{
  echo "# bench/test_figures.sh, $(nproc) cores, $(uname -m), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
  echo "## ${native[*]} --test pretrained --test transfer -- --nocapture --test-threads 1"
  "${native[@]}" --test pretrained --test transfer -- --nocapture --test-threads 1 2>&1 | grep -v "^\s*Compiling\|^\s*Finished\|^\s*Running"
  echo "## the command's estimate at 224 px, fine-tuning"
  "$CARGO_TARGET_DIR/release/medclassify" train www/sample/MedNIST --preset efficientnet_lite0 --transfer all \
    --size 224 --epochs 10 --batch 32 --backend cpu --estimate 2>&1
  echo "## WebGPU (SwiftShader in Chromium): the pretrained backbone against the CPU"
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver} \
    WASM_BINDGEN_TEST_TIMEOUT=900 cargo test --profile web --locked --no-default-features --features wgpu \
    --target wasm32-unknown-unknown --test webgpu -- --nocapture the_pretrained 2>&1 | grep -v "^\s*Compiling\|^\s*Finished"
} | tee "$record"
echo "written to $record"
