# Sourced by the scripts: shared paths and flags.
# Cargo's target directory lives outside the checkout so every clone (and CI) reuses the
# compiled dependencies.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medclassify/target}"
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# Chromium with WebGPU on a machine without a GPU (SwiftShader's Vulkan) and no network.
export MEDCLASSIFY_CHROMIUM="${MEDCLASSIFY_CHROMIUM:-/usr/bin/chromium}"
# The converted EfficientNet-Lite0 weights (scripts/weights.sh writes them), compiled into the
# in-browser WebGPU test (tests/webgpu.rs).
export MEDCLASSIFY_WEIGHTS_FILE="${MEDCLASSIFY_WEIGHTS_FILE:-${MEDCLASSIFY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/medclassify}/weights/efficientnet-lite0.safetensors}"
