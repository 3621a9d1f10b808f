#!/usr/bin/env bash
# Builds the release app and serves it at http://127.0.0.1:8080/ (PORT=9000 scripts/serve.sh
# for another port). Installs the build tools first if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
PORT="${PORT:-8080}"
trunk build --release
echo "MedClassify: http://127.0.0.1:$PORT/  (Ctrl-C to stop)"
exec node tests/e2e/server.mjs dist "$PORT"
