#!/usr/bin/env bash
# Prints what must not change across a refactor (issue 14): `inspect --json` on the shipped
# fixtures and the history, callback events and test metrics of seeded CPU training runs,
# with the wall-clock fields (which differ on every run) removed. Compare two commits with
#   bench/refactor_check.sh > before.txt; (change); bench/refactor_check.sh > after.txt; diff before.txt after.txt
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build --release --locked --no-default-features --features cli --bin medclassify >&2
bin="$CARGO_TARGET_DIR/release/medclassify"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for dir in www/sample/MedNIST tests/e2e/artifacts/bad-folder; do
  echo "== inspect --json $dir"
  "$bin" inspect --json --threads 1 "$dir" | python3 -c "import json,sys; d=json.load(sys.stdin); d.pop('load_seconds'); print(json.dumps(d, indent=2, sort_keys=False))"
done
run() {  # name, train arguments...
  local name=$1
  shift
  echo "== train $name: $*"
  "$bin" train www/sample/MedNIST --backend cpu --json --out "$tmp/$name.mcmodel" "$@" 2>/dev/null |
    python3 -c "
import json, sys
d = json.load(sys.stdin)
for key in ('training_seconds', 'seconds_to_99_percent_test_accuracy', 'model'):
    d.pop(key, None)
for epoch in d['history']:
    for key in ('seconds', 'train_seconds', 'images_per_second'):
        epoch.pop(key)
print(json.dumps(d, indent=2).replace('$tmp/', 'TMP/'))"
  "$bin" card --json --model "$tmp/$name.mcmodel" | python3 -c "
import json, sys
d = json.load(sys.stdin)
print('card keys:', sorted(d))"
}
run plain --epochs 6 --seed 7
run callbacks --epochs 8 --seed 3 --augment --patience 2 --lr-patience 1 --batch 32 --log-every 3
