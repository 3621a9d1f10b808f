#!/usr/bin/env bash
# Lets a new clone reuse the compiled vendored crates (vendor/: CubeCL with MedClassify's
# patch) from the shared Cargo target directory.
#
# Why: Cargo judges a path dependency by the modification times of its files, and a clone
# writes every file anew, so a clone in a new folder (CI checks out each submission so) found
# `cubecl-runtime` and `cubecl-wgpu` stale and rebuilt them and the 24 crates above them
# (cubek-*, burn-cubecl, burn-fusion, burn-autodiff, ...), minutes on 2 cores. Their
# compiled code is keyed by the path relative to the workspace, so it is the same for every
# clone; only the file times differ.
#
# What: the target directory keeps a stamp `<content hash> <time> <folder>` of the vendor/
# it was last prepared for. When this checkout's vendor/ has the same content, its files get
# the stamp's time (older than every build made since), so Cargo finds the compiled crates
# fresh. Any other content (another commit, a local edit) becomes the new stamp, and its files
# get the new stamp's time, so Cargo rebuilds them once. In the stamp's own folder, a file newer
# than the stamp means an edit since (perhaps built, perhaps reverted): the times are left
# alone there too. Checkouts that build different vendor/ contents at the same time need
# their own target directories (DEVELOPERS.md, "Several checkouts at once").
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$HOME/.cache/medclassify/target}"
stamp="$target/.medclassify-vendor-stamp"
mkdir -p "$target"

# The crates' folders only: the README and the patch file beside them are not compiled.
crates=(vendor/*/)
hash=$(find "${crates[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)
old_hash="" old_time="" old_dir=""
if [ -f "$stamp" ]; then read -r old_hash old_time old_dir < "$stamp" || true; fi

if [ -n "$old_hash" ] && [ "$old_hash" = "$hash" ] && [[ "$old_time" =~ ^[0-9]+$ ]]; then
  if [ "$old_dir" != "$PWD" ] || [ -z "$(find "${crates[@]}" -type f -newermt "@$old_time" -print -quit)" ]; then
    find "${crates[@]}" -type f -exec touch -m -d "@$old_time" {} +
    echo "[setup] vendor/ as compiled in $target: its crates are reused"
    exit 0
  fi
fi
# This checkout's files get the new stamp's time too (later than any of them, so nothing looks
# older than it is), before anything is built from them: Cargo keeps a path package's newest
# file time as a value for its build script and reruns the script (and rebuilds everything
# above it) when a checkout shows another value, earlier or later. Built here with the files'
# own times, the crates were rebuilt once more in the next clone (CI-like run, 2026-12-03).
now=$(date +%s)
find "${crates[@]}" -type f -exec touch -m -d "@$now" {} +
printf '%s %s %s\n' "$hash" "$now" "$PWD" > "$stamp.tmp"
mv "$stamp.tmp" "$stamp"
echo "[setup] vendor/ is new to $target: Cargo compiles its crates once"
