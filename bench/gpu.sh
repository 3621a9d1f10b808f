#!/usr/bin/env bash
# GPU comparison, run on the benchmark machine (see BENCHMARKS.md): the native `medclassify
# train` on wgpu/Vulkan against the PyTorch reference, same data (.mcdata), same networks,
# same batch, same GPU. Expects in .device/: medclassify.xz (the x86-64 release binary) and
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
for preset in seed strong; do
  run "burn-$preset-b64" /tmp/medclassify train /tmp/mednist-32.mcdata --preset "$preset" --epochs "$EPOCHS" --batch 64 \
      --backend wgpu --patience 0 --lr-patience 0 --log-every 64 --test-every-epoch --out /tmp/m.mcmodel --checkpoints /tmp --json
  run "torch-$preset-b64" python3 bench/pytorch_reference.py /tmp/mednist-32.mcdata --preset "$preset" --epochs "$EPOCHS" --batch 64
done
run burn-seed-b256 /tmp/medclassify train /tmp/mednist-32.mcdata --preset seed --epochs 2 --batch 256 --backend wgpu \
    --patience 0 --lr-patience 0 --log-every 64 --test-every-epoch --out /tmp/m.mcmodel --checkpoints /tmp --json
run torch-seed-b256 python3 bench/pytorch_reference.py /tmp/mednist-32.mcdata --preset seed --epochs 2 --batch 256
tail -n 3 "$OUT"/burn-*.log
# Few files come back from the benchmark machine: one with every result, one with the logs.
for f in "$OUT"/*.json; do echo "$(basename "$f" .json) $(tr -d '\n' < "$f")"; done > "$FINAL/results.txt"
cp "$OUT/gpu.txt" "$FINAL/gpu.txt"
tail -n 40 "$OUT"/*.log > "$FINAL/logs.txt"
