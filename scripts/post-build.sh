#!/bin/sh
# Trunk post_build hook: writes precache.json (every file of the build, for the service
# worker) and stamps sw.js with a version derived from the build's contents.
set -eu
cd "${TRUNK_STAGING_DIR:?run by trunk}"
{
  printf '["./"'
  find . -type f ! -name sw.js ! -name precache.json ! -name _headers | sed 's|^\./||' | LC_ALL=C sort | while IFS= read -r f; do
    printf ',"%s"' "$f"
  done
  printf ']\n'
} > precache.json
version=$(find . -type f ! -name sw.js ! -name precache.json | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)
sed -i "s/__MEDCLASSIFY_BUILD__/$version/" sw.js
