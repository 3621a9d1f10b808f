#!/bin/sh
# Trunk post_build hook: adds the pretrained weights (scripts/weights.sh put them in the
# cache folder; never committed), writes precache.json (every file of the build but those
# weights, for the service worker) and stamps sw.js with a version derived from the build's
# contents.
set -eu
cd "${TRUNK_STAGING_DIR:?run by trunk}"
weights="${MEDCLASSIFY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/medclassify}/weights/efficientnet-lite0.safetensors"
if [ -f "$weights" ]; then
  mkdir -p weights
  cp "$weights" weights/
else
  echo "post-build: $weights is missing: the page will say it cannot download the pretrained network (scripts/weights.sh obtains it)" >&2
fi
# The weights are fetched only when a run needs them (the service worker keeps them then), so
# they are neither in the offline list nor in the version.
{
  printf '["./"'
  find . -type f ! -name sw.js ! -name precache.json ! -name _headers ! -path './weights/*' | sed 's|^\./||' | LC_ALL=C sort | while IFS= read -r f; do
    printf ',"%s"' "$f"
  done
  printf ']\n'
} > precache.json
version=$(find . -type f ! -name sw.js ! -name precache.json ! -path './weights/*' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)
sed -i "s/__MEDCLASSIFY_BUILD__/$version/" sw.js
