#!/usr/bin/env bash
# Builds the release app and serves it at http://127.0.0.1:8080/ (PORT=9000 scripts/serve.sh
# for another port). Installs the build tools first if they are missing: on a fresh 2-core
# machine trunk and wasm-bindgen-cli are compiled once, then the wasm build (15.8 min measured
# alone at 806f9b0, before the pretrained network, record bench/results/fresh-serve-2026-11-28.txt;
# README.md's set-up table gives today's estimate), a few seconds on a warm one.
#
# It serves Trunk's release build as it is: over loopback the wasm's size does not matter,
# and shrinking it (wasm-opt, about 11 minutes) is for the deployed copy:
# `node scripts/optimise.mjs` writes dist-deploy/ (DEPLOY=1 scripts/serve.sh serves that).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
scripts/setup.sh
source scripts/env.sh
PORT="${PORT:-8080}"
trunk build --release
root=dist
if [ "${DEPLOY:-0}" = 1 ]; then
  node scripts/optimise.mjs dist dist-deploy
  root=dist-deploy
fi
echo "MedClassify: http://127.0.0.1:$PORT/  (built in $((SECONDS - start)) s; Ctrl-C to stop)"
exec node tests/e2e/server.mjs "$root" "$PORT"
