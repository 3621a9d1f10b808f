#!/usr/bin/env bash
# Runs every MedClassify test, installing what is missing first.
#   scripts/test.sh                all layers: native, wasm (in-browser, WebGPU), e2e (the built app)
#   scripts/test.sh native         cargo test of the core on Burn's Flex CPU backend
#   scripts/test.sh wasm           wasm-bindgen-test in headless Chromium on WebGPU (SwiftShader)
#   scripts/test.sh e2e            Playwright on the release build, like a user
#
# On a fresh machine the first run compiles the tools and both builds (38-46 minutes on 2
# cores, bench/results/ci-like-fresh-*.txt); a new clone with a warm target, as CI runs it,
# 13.5-19.3 minutes (bench/results/ci-like-new-clone-*.txt; the figures in README.md's set-up
# table). Everything is built first,
# the native and the browser builds side by side (each cargo process leaves a core idle at
# times; two fill them), then the tests run. The deployable build's wasm-opt (one core,
# cached by its input) runs beside the tests and only the hosting test waits for it.
set -euo pipefail
cd "$(dirname "$0")/.."
layers=("$@")
[ ${#layers[@]} -eq 0 ] && layers=(native wasm e2e)
has() { [[ " ${layers[*]} " == *" $1 "* ]]; }
for layer in "${layers[@]}"; do
  case "$layer" in native | wasm | e2e) ;; *) echo "unknown layer $layer (native, wasm or e2e)" >&2; exit 2 ;; esac
done

summary=()
total_start=$SECONDS
phase() {  # name, command...: runs and times one phase
  local name=$1 start=$SECONDS
  shift
  echo "=== $name ==="
  "$@"
  summary+=("$name: $((SECONDS - start)) s")
}
# Runs a command with its output prefixed, for two builds printing side by side.
prefixed() {  # prefix, command...
  local prefix=$1
  shift
  "$@" 2>&1 | sed -u "s/^/[$prefix] /"
  return "${PIPESTATUS[0]}"
}

phase setup scripts/setup.sh --browser
source scripts/env.sh

# Every check that does not run says so through one mechanism (tests/common did_not_run,
# tests/e2e/helpers.mjs didNotRun), into this file; the last line counts them, pass or fail,
# because Cargo hides a passing test's output. Under CI=true nothing may skip.
export MEDCLASSIFY_SKIP_LOG
MEDCLASSIFY_SKIP_LOG=$(mktemp)
report_skips() {
  local n
  n=$(wc -l < "$MEDCLASSIFY_SKIP_LOG")
  if [ "$n" = 0 ]; then
    echo "every check ran (0 did not run)"
  else
    echo "$n check(s) did not run:"
    sed 's/^/  /' "$MEDCLASSIFY_SKIP_LOG"
    echo "$n check(s) did not run: $(cut -d: -f2- "$MEDCLASSIFY_SKIP_LOG" | sort | uniq -c | sed 's/^ *//' | paste -sd';')"
  fi
}
cleanup=(report_skips)
trap 'for c in "${cleanup[@]}"; do $c; done' EXIT

# The full MedNIST (../shared/data) is used by the full-data checks (its 348 duplicate groups,
# the ready model re-scored on its test split). In CI its absence fails them; elsewhere they
# say that they did not run.
if [ -z "${MEDNIST_DIR:-}" ] && [ ! -f ../shared/data/MedNIST.tar.gz ] && [ ! -f /work/shared/data/MedNIST.tar.gz ]; then
  if [ "${CI:-}" = true ]; then
    echo "ERROR: ../shared/data/MedNIST.tar.gz is missing; CI runs the full-MedNIST checks" >&2
  else
    echo "NOTE: ../shared/data/MedNIST.tar.gz is not here: the full-MedNIST checks will say that they did not run."
    export MEDCLASSIFY_WITHOUT_FULL_DATA=1
  fi
fi

# The scikit-learn cross-check of the metrics needs .venv (setup.sh makes it). In CI its
# absence fails the check; elsewhere it says that it did not run.
if ! "${MEDCLASSIFY_PYTHON:-.venv/bin/python}" -c 'import sklearn' 2>/dev/null; then
  if [ "${CI:-}" = true ]; then
    echo "ERROR: no Python with scikit-learn (.venv); CI runs the scikit-learn cross-check" >&2
  else
    echo "NOTE: no Python with scikit-learn (.venv): the scikit-learn cross-check will say that it did not run."
    export MEDCLASSIFY_WITHOUT_PYTHON=1
  fi
fi

# Natively the tests use the CPU only, so the GPU backend (wgpu and CubeCL's kernel crates,
# about half of a native build) is left out; the browser build always has it.
NATIVE_FEATURES=(--no-default-features --features cli)
WASM_TEST=(cargo test --profile web --locked --no-default-features --features wgpu --target wasm32-unknown-unknown --test webgpu)

build_native() {
  cargo test --release --locked "${NATIVE_FEATURES[@]}" --no-run
  # The command the end-to-end tests compare the page with (the same build, linked).
  if has e2e; then cargo build --release --locked "${NATIVE_FEATURES[@]}"; fi
}
build_browser() {
  if has e2e; then trunk build --release; fi
  if has wasm; then "${WASM_TEST[@]}" --no-run; fi
}
build_all() {
  local pids=()
  if has native || has e2e; then prefixed native build_native & pids+=($!); fi
  if has wasm || has e2e; then prefixed browser build_browser & pids+=($!); fi
  local failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  return $failed
}
phase build build_all

# The deployable build (wasm-opt, precompressed) for the hosting test, beside the other tests.
optimise_pid=
if has e2e; then
  mkdir -p tests/e2e/artifacts
  node scripts/optimise.mjs dist dist-deploy > tests/e2e/artifacts/optimise.log 2>&1 &
  optimise_pid=$!
  # A failing test ends the script: the background job ends with it.
  stop_optimise() { kill "$optimise_pid" 2>/dev/null || true; }
  cleanup=(stop_optimise "${cleanup[@]}")
  echo "(building dist-deploy/ in the background: tests/e2e/artifacts/optimise.log)"
fi

if has native; then phase native cargo test --release --locked "${NATIVE_FEATURES[@]}"; fi
if has wasm; then
  phase wasm env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=900 "${WASM_TEST[@]}"
fi
if has e2e; then
  others=()
  for f in tests/e2e/*.test.mjs; do [ "$f" = tests/e2e/hosting.test.mjs ] || others+=("$f"); done
  phase e2e node --test --test-concurrency=1 --test-reporter=spec "${others[@]}"
  wait_for_deploy() {
    if ! wait "$optimise_pid"; then
      cat tests/e2e/artifacts/optimise.log
      echo "building dist-deploy/ failed" >&2
      return 1
    fi
    cat tests/e2e/artifacts/optimise.log
  }
  phase "deploy build (wait)" wait_for_deploy
  phase "e2e hosting" node --test --test-concurrency=1 --test-reporter=spec tests/e2e/hosting.test.mjs
fi
summary+=("total: $((SECONDS - total_start)) s")
printf '%s\n' "=== all passed ===" "${summary[@]}"
