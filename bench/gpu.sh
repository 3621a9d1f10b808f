#!/usr/bin/env bash
# GPU comparison, run on the benchmark machine (see BENCHMARKS.md). Three parts, in this order:
#  1. Fine-tuning EfficientNet-Lite0 at 224 px (issue 25): `medclassify train --preset
#     efficientnet_lite0 --transfer all` on wgpu against bench/pytorch_finetune.py (PyTorch,
#     CUDA, cuDNN autotuned), the same 3,000 MedNIST images (split 70/15/15; the training
#     split trains), the same weights, batch 32.
#     Then (1b) one epoch of it on 180 images with every kernel timed, summed by kernel into
#     profile-lite0.txt (NO_PROFILE=1 skips it).
#  2. The networks from scratch: the native `medclassify train` against the PyTorch reference,
#     same data (.mcdata), same networks, same batch, same GPU; seed and strong at batch 64 and
#     256, each run with --test-every-epoch (time to 99 %). MedClassify runs four ways:
#   wgpu-cold  wgpu/Vulkan, autotune, an empty kernel cache (MEDCLASSIFY_CACHE_DIR fresh)
#   wgpu-warm  the same again, the cache the cold run filled
#   untuned    wgpu without autotune (the browser's kernels; the closest native stand-in for
#              the page on this GPU): .device/medclassify-untuned.xz, built with
#              `cargo build --release --no-default-features --features cli,wgpu` (skipped when absent)
#   cuda       Burn's CUDA backend: .device/medclassify-cuda.xz, built with
#              `cargo build --release --features cuda` (skipped when absent)
#     Batch 64 first, then part 3, then batch 256.
#  3. PneumoniaMNIST fine-tuned at 224 px, seeds 1, 2, 3 (PNEUMONIA_SEEDS), while time is left.
# Expects in .device/ (ignored by git; carried to the machine):
#   medclassify.xz                      the x86-64 release binary, default features
#   mednist-32.mcdata.xz                `medclassify export --size 32` of MedNIST, the first 6,000
#                                       files by name of each class (36,000 images: the whole set
#                                       and the binary no longer fit the 64 MiB a session carries)
#   efficientnet-lite0.safetensors.xz   what scripts/weights.sh writes
#   mednist-ft.tar.xz                   folder mednist-ft/<class>/: the first 500 files by name
#                                       of each MedNIST class
#   pneumoniamnist-variant.npz          ../shared/data's file (part 3; skipped when absent)
# and in .gl/ the Vulkan and GL loaders: `(cd .gl && apt-get download libvulkan1 libegl1 libglvnd0
# libopengl0 libgl1 libglx0 libgles2)` (the NVIDIA Vulkan driver loads through libGLX).
# DEADLINE=S (seconds from the start, default 480) skips what would start after it; every
# command has its own timeout, and results.txt is written after each, so a cut-short session
# still returns what finished.
set -uo pipefail
cd "$(dirname "$0")/.."
FINAL="${OUT:-/tmp/bench-gpu}"
OUT=/tmp/bench-gpu-work
DEADLINE="${DEADLINE:-480}"
mkdir -p "$OUT" "$FINAL"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
xz -dc .device/medclassify.xz > /tmp/medclassify && chmod +x /tmp/medclassify
xz -dc .device/mednist-32.mcdata.xz > /tmp/mednist-32.mcdata
mkdir -p /tmp/weights && xz -dc .device/efficientnet-lite0.safetensors.xz > /tmp/weights/efficientnet-lite0.safetensors
tar xJf .device/mednist-ft.tar.xz -C /tmp
/tmp/medclassify export /tmp/mednist-ft --size 64 --out /tmp/mednist-ft.mcdata > /dev/null
{ ls /usr/local/nvidia/share/vulkan/icd.d/ /usr/share/vulkan/icd.d /etc/vulkan/icd.d; cat "$VK_DRIVER_FILES"; ldconfig -p | grep -i "vulkan\|GLX\|GLdispatch"; } > "$FINAL/vulkan.txt" 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
cp "$OUT/gpu.txt" "$FINAL/gpu.txt"
EPOCHS="${EPOCHS:-3}"
collect() {  # one line per result, and the logs' tails, after every run
  for f in "$OUT"/*.json; do echo "$(basename "$f" .json) $(tr -d '\n' < "$f")"; done > "$FINAL/results.txt"
  tail -n 40 "$OUT"/*.log > "$FINAL/logs.txt" 2>/dev/null
}
run() {  # name, limit in seconds, command...
  local name=$1 limit=$2; shift 2
  if [ "$SECONDS" -ge "$DEADLINE" ]; then echo "$name: skipped (past the deadline)"; return; fi
  local start=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.json" 2> "$OUT/$name.log"
  echo "$name: exit $? in $((SECONDS - start)) s" | tee -a "$FINAL/runs.txt"
  collect
}
for f in medclassify-untuned medclassify-cuda; do
  [ -f ".device/$f.xz" ] && xz -dc ".device/$f.xz" > "/tmp/$f" && chmod +x "/tmp/$f"
done

# 1. Fine-tuning EfficientNet-Lite0 at 224 px (two epochs: the first compiles and tunes).
FT_BATCH="${FT_BATCH:-32}"
run "wgpu-cold-lite0-all-b$FT_BATCH" 300 env MEDCLASSIFY_CACHE_DIR=/tmp/cache-lite0 MEDCLASSIFY_WEIGHTS_DIR=/tmp/weights \
    /tmp/medclassify train /tmp/mednist-ft --preset efficientnet_lite0 --transfer all --size 224 \
    --epochs 2 --batch "$FT_BATCH" --backend wgpu --patience 0 --lr-patience 0 --log-every 64 \
    --out /tmp/ft.mcmodel --checkpoints /tmp --json
run "torch-lite0-all-b$FT_BATCH" 120 python3 bench/pytorch_finetune.py /tmp/mednist-ft.mcdata \
    /tmp/weights/efficientnet-lite0.safetensors --size 224 --batch "$FT_BATCH" --epochs "$EPOCHS"

# 1b. Where a warm fine-tuning step's GPU time goes: one epoch on 30 images a class with the
# kernel cache the cold run filled, every kernel timed by CubeCL's profiler (a cubecl.toml in
# the run's folder, which CubeCL reads from the working directory), the log summed by kernel
# (bench/kernel_profile.py) into profile-lite0.txt. Profiling times each kernel on its own, so
# this run's images/s are not a speed figure.
if [ -z "${NO_PROFILE:-}" ]; then
  mkdir -p /tmp/mednist-profile /tmp/profile-run
  for class in /tmp/mednist-ft/*/; do
    mkdir -p "/tmp/mednist-profile/$(basename "$class")"
    find "$class" -type f | sort | head -n 30 | xargs -I{} cp {} "/tmp/mednist-profile/$(basename "$class")/"
  done
  printf '[profiling.logger]\nlevel = "basic"\nfile = "%s/profile-lite0.log"\nappend = false\n' "$OUT" \
    > /tmp/profile-run/cubecl.toml
  (cd /tmp/profile-run && run "wgpu-profile-lite0-all-b$FT_BATCH" 150 env MEDCLASSIFY_CACHE_DIR=/tmp/cache-lite0 \
      MEDCLASSIFY_WEIGHTS_DIR=/tmp/weights /tmp/medclassify train /tmp/mednist-profile --preset efficientnet_lite0 \
      --transfer all --size 224 --epochs 1 --batch "$FT_BATCH" --backend wgpu --patience 0 --lr-patience 0 \
      --log-every 64 --out /tmp/profile.mcmodel --checkpoints /tmp --json)
  [ -f "$OUT/profile-lite0.log" ] && python3 bench/kernel_profile.py "$OUT/profile-lite0.log" > "$FINAL/profile-lite0.txt"
fi

# 2. The networks from scratch.
train() {  # name, binary, backend, preset, batch, epochs, cache dir
  run "$1" 150 env MEDCLASSIFY_CACHE_DIR="$7" "$2" train /tmp/mednist-32.mcdata --preset "$4" --epochs "$6" \
      --batch "$5" --backend "$3" --patience 0 --lr-patience 0 --log-every 64 --test-every-epoch \
      --out /tmp/m.mcmodel --checkpoints /tmp --json
}
scratch() {  # preset-batch ...
  for tag in "$@"; do
    preset=${tag%-*} batch=${tag#*-}
    tag="$preset-b$batch"
    rm -rf "/tmp/cache-$tag"
    train "wgpu-cold-$tag" /tmp/medclassify wgpu "$preset" "$batch" "$EPOCHS" "/tmp/cache-$tag"
    train "wgpu-warm-$tag" /tmp/medclassify wgpu "$preset" "$batch" "$EPOCHS" "/tmp/cache-$tag"
    [ -x /tmp/medclassify-untuned ] && train "untuned-$tag" /tmp/medclassify-untuned wgpu "$preset" "$batch" "$EPOCHS" "/tmp/cache-untuned"
    if [ -x /tmp/medclassify-cuda ]; then
      rm -rf "/tmp/cache-cuda-$tag"
      train "cuda-cold-$tag" /tmp/medclassify-cuda cuda "$preset" "$batch" "$EPOCHS" "/tmp/cache-cuda-$tag"
      train "cuda-warm-$tag" /tmp/medclassify-cuda cuda "$preset" "$batch" "$EPOCHS" "/tmp/cache-cuda-$tag"
    fi
    run "torch-$tag" 90 python3 bench/pytorch_reference.py /tmp/mednist-32.mcdata --preset "$preset" --epochs "$EPOCHS" --batch "$batch"
  done
}
scratch seed-64 strong-64

# 3. PneumoniaMNIST (issue 25's scoreboard) fine-tuned at 224 px on the GPU, as
# bench/pneumonia.sh does on the CPU at 64 px: balanced class weighting, batch 32, at most 12
# epochs with the default callbacks, one seed after another while time is left.
[ -f .device/pneumoniamnist-variant.npz ] || PNEUMONIA_SEEDS=""
for seed in ${PNEUMONIA_SEEDS-1 2 3}; do
  run "wgpu-pneumonia-lite0-all-224-balanced-seed$seed" 150 env MEDCLASSIFY_CACHE_DIR=/tmp/cache-lite0 \
      MEDCLASSIFY_WEIGHTS_DIR=/tmp/weights /tmp/medclassify train .device/pneumoniamnist-variant.npz \
      --size 224 --preset efficientnet_lite0 --transfer all --batch 32 --epochs 12 --seed "$seed" \
      --class-weighting balanced --backend wgpu --out /tmp/p.mcmodel --checkpoints /tmp --json
done
scratch seed-256 strong-256
tail -n 3 "$OUT"/wgpu-*.log
collect
