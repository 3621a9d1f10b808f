#!/usr/bin/env bash
# CPU training speed of the seed network in each browser engine, side by side in one run:
# the journey of tests/e2e/engines.test.mjs in Chromium, Firefox ESR and WebKitGTK (WebDriver,
# the same script in each), two epochs on the 247 shipped images, batch 64, "CPU" (two cores
# where the browser reports them). Epoch 2's images/s, from each page's own history file.
#   bench/engines.sh        (after scripts/test.sh or trunk build --release; scripts/setup.sh --browser)
# Writes bench/results/engines-<date>-<commit>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
rm -f tests/e2e/artifacts/engines-*.json
MEDCLASSIFY_ENGINES=chromium,firefox,webkit node --test --test-concurrency=1 --test-reporter=spec tests/e2e/engines.test.mjs
commit=$(git rev-parse --short HEAD)
out="bench/results/engines-$(date -u +%F)-$commit.json"
node -e '
const fs = require("fs");
const rows = ["chromium", "firefox", "webkit"].map((e) => JSON.parse(fs.readFileSync(`tests/e2e/artifacts/engines-${e}.json`, "utf8")));
const record = { date: new Date().toISOString(), commit: process.argv[1], machine: `${require("os").cpus().length} x ${require("os").cpus()[0].model}`,
  command: "bench/engines.sh", what: "seed network, 247 shipped images, batch 64, CPU, epoch 2 images/s", rows };
fs.writeFileSync(process.argv[2], JSON.stringify(record, null, 1));
for (const r of rows) console.log(`${r.browser.padEnd(24)} ${String(r.images_per_second).padStart(7)} img/s  ${r.training_backend}`);
' "$commit" "$out"
echo "wrote $out"
