#!/usr/bin/env bash
# Transfer learning on small data (issue 25, item 7): MedNIST with N training images per class
# (seeded draws), tested on the project's whole MedNIST test split (8,843 images), the networks
# trained from scratch against the ImageNet-pretrained EfficientNet-Lite0, side by side in one
# run, on the CPU (2 cores here).
#
#   bench/small_data.sh                       # N = 5,20,100; seeds 1,2,3; every network
#   PER_CLASS=5,20 SEEDS=1 bench/small_data.sh
#   NETWORKS="strong strong-augment lite0-all-augment" BIG=224 PER_CLASS=5 bench/small_data.sh
# Networks: seed, strong (64 px, from scratch), lite0-head, lite0-all (EfficientNet-Lite0 at
# BIG px, head only or every layer); "-augment" adds --augment (rotation 10°, zoom 10 %,
# shift 10 %) to strong, lite0-all or lite0-top (the top blocks and the head);
# "lite0-all-augment-head-first" trains the head alone first (--head-first), then every layer;
# "lite0-all-augment-blr-F" fine-tunes with the backbone at F times the head's rate (--backbone-lr F);
# "-lr-R" at the very end of any name trains at learning rate R instead of 1e-3 (--lr R).
# "-adabn" after a lite0-all or lite0-head name fits the backbone's BatchNorm statistics to the
# training images first (--adapt-norm, AdaBN; with the head alone since this option's commit,
# 2026-12-07): for fine-tuning the default from 2026-12-06 22:00 UTC to b4abd79 (2026-12-07
# 02:00 UTC), so that suffix reproduces the records of those hours (named without it); every
# other fine-tuning record kept ImageNet's, the default again. "-imagenet-norm" (--imagenet-norm,
# now the default) reproduces the records of those hours that carry it.
#
# BINARIES="before=/path/to/medclassify after=/path/to/other" runs every network with each
# command in turn, side by side in one record (its network column then reads network@label);
# RECORD_TAG=x adds "-x" to the record's name.
#
# Needs the release command (cargo build --release --no-default-features --features cli), the
# tests' .venv (numpy, Pillow) and the full MedNIST (../shared/data/MedNIST.tar.gz, or
# MEDNIST_DIR). Writes bench/out/small-data/ and the record
# bench/results/small-data-<date>-<commit>.txt (one line per run: N, seed, network, size,
# test accuracy, epochs, seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
CLI="$CARGO_TARGET_DIR/release/medclassify"
PER_CLASS="${PER_CLASS:-5,20,100}"
SEEDS="${SEEDS:-1,2,3}"
BIG="${BIG:-128}"          # EfficientNet-Lite0's input side (224 as trained; 128 on a CPU)
EPOCHS="${EPOCHS:-40}"
NETWORKS="${NETWORKS:-seed strong lite0-head lite0-all}"
OUT=bench/out/small-data
mkdir -p "$OUT" bench/results

mednist="${MEDNIST_DIR:-$HOME/.cache/medclassify/MedNIST}"
if [ ! -d "$mednist" ]; then
  archive=$(ls ../shared/data/MedNIST.tar.gz /work/shared/data/MedNIST.tar.gz 2>/dev/null | head -1)
  [ -n "$archive" ] || { echo "the full MedNIST is missing: set MEDNIST_DIR" >&2; exit 1; }
  tar xzf "$archive" -C "$(dirname "$mednist")"
fi
[ -f "$OUT/report.json" ] || "$CLI" inspect "$mednist" --json > "$OUT/report.json"
.venv/bin/python bench/small_data.py "$mednist" "$OUT/report.json" "$OUT" \
  --per-class "$PER_CLASS" --seeds "$SEEDS" --sizes "64,$BIG"

record="bench/results/small-data-$(date -u +%F)-$(git rev-parse --short HEAD)${RECORD_TAG:+-$RECORD_TAG}.txt"
{
  echo "# bench/small_data.sh: PER_CLASS=$PER_CLASS SEEDS=$SEEDS BIG=$BIG EPOCHS=$EPOCHS NETWORKS=\"$NETWORKS\"${BINARIES:+ BINARIES=\"$BINARIES\"}"
  echo "# $(nproc) cores, $(uname -m), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
  echo "# every run: --batch 16 --patience 10 --lr-patience 5 --backend cpu --seed <seed> (Adam 1e-3 unless the name ends -lr-R); test = the whole MedNIST test split"
  echo "per_class seed network size test_accuracy epochs train_seconds"
} > "$record"
for n in ${PER_CLASS//,/ }; do
  for seed in ${SEEDS//,/ }; do
    for binary in ${BINARIES:-"=$CLI"}; do
      for net in $NETWORKS; do
        base=$net norm=() lr=()
        case "$base" in
          *-lr-*) lr=(--lr "${base##*-lr-}"); base=${base%-lr-*} ;;
        esac
        case "$base" in
          *-imagenet-norm) base=${base%-imagenet-norm} norm=(--imagenet-norm) ;;
          *-adabn) base=${base%-adabn} norm=(--adapt-norm) ;;
        esac
        case "$base" in
          seed | strong) args=(--preset "$net"); size=64 ;;
          lite0-head) args=(--preset efficientnet_lite0 --transfer head); size=$BIG ;;
          lite0-all) args=(--preset efficientnet_lite0 --transfer all); size=$BIG ;;
          lite0-all-augment) args=(--preset efficientnet_lite0 --transfer all --augment); size=$BIG ;;
          lite0-all-augment-blr-*) args=(--preset efficientnet_lite0 --transfer all --augment --backbone-lr "${net##*-blr-}"); size=$BIG ;;
          lite0-all-augment-head-first) args=(--preset efficientnet_lite0 --transfer all --augment --head-first); size=$BIG ;;
          lite0-top-augment) args=(--preset efficientnet_lite0 --transfer top --augment); size=$BIG ;;
          strong-augment) args=(--preset strong --augment); size=64 ;;
          *) echo "unknown network $net" >&2; exit 2 ;;
        esac
        args+=("${norm[@]}" "${lr[@]}")
        data="$OUT/mednist-${n}pc-seed${seed}-${size}px.npz"
        label=${binary%%=*}
        json="$OUT/run-${n}pc-seed${seed}-${net}${label:+-$label}.json"
        "${binary#*=}" train "$data" "${args[@]}" --epochs "$EPOCHS" --batch 16 --patience 10 --lr-patience 5 \
          --backend cpu --seed "$seed" --json --out "$OUT/model-$$.mcmodel" > "$json"
        # Named after this script's process: two runs side by side never share a model file.
        rm -f "$OUT/model-$$".*
        line=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['test']['accuracy']:.4f} {len(r['history'])} {r['training_seconds']:.0f}\")" "$json")
        echo "$n $seed $net${label:+@$label} $size $line" | tee -a "$record"
      done
    done
  done
done
echo "written to $record"
