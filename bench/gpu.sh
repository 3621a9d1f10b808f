#!/usr/bin/env bash
# GPU comparison, run on the benchmark machine (see BENCHMARKS.md): the native `medclassify
# train` against the PyTorch reference, same data (.mcdata), same networks, same batch, same
# GPU; seed and strong at batch 64 and 256, each run with --test-every-epoch (time to 99 %).
# MedClassify runs four ways:
#   wgpu-cold  wgpu/Vulkan, autotune, an empty kernel cache (MEDCLASSIFY_CACHE_DIR fresh)
#   wgpu-warm  the same again, the cache the cold run filled
#   untuned    wgpu without autotune (the browser's kernels; the closest native stand-in for
#              the page on this GPU): .device/medclassify-untuned.xz, built with
#              `cargo build --release --no-default-features --features cli,wgpu`
#   cuda       Burn's CUDA backend: .device/medclassify-cuda.xz, built with
#              `cargo build --release --features cuda` (skipped when absent)
# Expects in .device/: medclassify.xz (the x86-64 release binary, default features) and
# mednist-32.mcdata.xz (`medclassify export`); in .gl/: the Vulkan loader .deb.
set -uo pipefail
cd "$(dirname "$0")/.."
FINAL="${OUT:-/tmp/bench-gpu}"
OUT=/tmp/bench-gpu-work
mkdir -p "$OUT" "$FINAL"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
xz -dc .device/medclassify.xz > /tmp/medclassify && chmod +x /tmp/medclassify
xz -dc .device/mednist-32.mcdata.xz > /tmp/mednist-32.mcdata
{ ls /usr/local/nvidia/share/vulkan/icd.d/ /usr/share/vulkan/icd.d /etc/vulkan/icd.d; cat "$VK_DRIVER_FILES"; } > "$FINAL/vulkan.txt" 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
EPOCHS="${EPOCHS:-3}"
run() {  # name, command...
  local name=$1; shift
  local start=$SECONDS
  "$@" > "$OUT/$name.json" 2> "$OUT/$name.log"
  echo "$name: exit $? in $((SECONDS - start)) s"
}
for f in medclassify-untuned medclassify-cuda; do
  [ -f ".device/$f.xz" ] && xz -dc ".device/$f.xz" > "/tmp/$f" && chmod +x "/tmp/$f"
done
train() {  # name, binary, backend, preset, batch, epochs, cache dir
  run "$1" env MEDCLASSIFY_CACHE_DIR="$7" "$2" train /tmp/mednist-32.mcdata --preset "$4" --epochs "$6" \
      --batch "$5" --backend "$3" --patience 0 --lr-patience 0 --log-every 64 --test-every-epoch \
      --out /tmp/m.mcmodel --checkpoints /tmp --json
}
for preset in seed strong; do
  for batch in 64 256; do
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
    run "torch-$tag" python3 bench/pytorch_reference.py /tmp/mednist-32.mcdata --preset "$preset" --epochs "$EPOCHS" --batch "$batch"
  done
done
tail -n 3 "$OUT"/wgpu-*.log
# Few files come back from the benchmark machine: one with every result, one with the logs.
for f in "$OUT"/*.json; do echo "$(basename "$f" .json) $(tr -d '\n' < "$f")"; done > "$FINAL/results.txt"
cp "$OUT/gpu.txt" "$FINAL/gpu.txt"
tail -n 40 "$OUT"/*.log > "$FINAL/logs.txt"
