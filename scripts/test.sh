#!/usr/bin/env bash
# Runs every MedClassify test, installing what is missing first.
#   scripts/test.sh                all layers: native, wasm (in-browser, WebGPU), e2e (the built app)
#   scripts/test.sh native         cargo test of the core on Burn's Flex CPU backend
#   scripts/test.sh wasm           wasm-bindgen-test in headless Chromium on WebGPU (SwiftShader)
#   scripts/test.sh e2e            Playwright on the release build, like a user
set -euo pipefail
cd "$(dirname "$0")/.."
layers=("$@")
[ ${#layers[@]} -eq 0 ] && layers=(native wasm e2e)

scripts/setup.sh --browser
source scripts/env.sh

# The full MedNIST (../shared/data) is used by the full-data check when present.
if [ -z "${MEDNIST_DIR:-}" ] && [ ! -f ../shared/data/MedNIST.tar.gz ] && [ ! -f /work/shared/data/MedNIST.tar.gz ]; then
  echo "NOTE: ../shared/data/MedNIST.tar.gz is not here: the full-MedNIST check (348 duplicate groups) will report that it did not run."
  export MEDCLASSIFY_WITHOUT_FULL_DATA=1
fi

summary=()
run_layer() {
  local name=$1 start=$SECONDS
  shift
  echo "=== $name ==="
  "$@"
  summary+=("$name: $((SECONDS - start)) s")
}

for layer in "${layers[@]}"; do
  case "$layer" in
    native)
      run_layer native cargo test --release --locked
      ;;
    wasm)
      run_layer wasm env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
        CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=900 \
        cargo test --profile web --locked --no-default-features --target wasm32-unknown-unknown --test webgpu
      ;;
    e2e)
      # The release page, and the native command the page's reports are compared with.
      run_layer "e2e build" bash -c 'trunk build --release && cargo build --release --locked'
      run_layer e2e node --test --test-concurrency=1 --test-reporter=spec tests/e2e/
      ;;
    *)
      echo "unknown layer $layer (native, wasm or e2e)" >&2
      exit 2
      ;;
  esac
done
printf '%s\n' "=== all passed ===" "${summary[@]}"
