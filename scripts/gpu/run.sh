#!/usr/bin/env bash
# On the GPU machine: unpack what pack.sh brought, then run each argument as a benchmark command
# (`train --backend webgpu --model gpt2-small`, `generate ...`, `gemm ...`), logging to $OUT/bench.log.
# Each Regimen benchmark runs its PyTorch peer (torch_gpu.py, the machine's own python3) in the same command.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp/regimen-gpu-out}
mkdir -p "$out"
work=/tmp/regimen-gpu
rm -rf "$work" && mkdir -p "$work/bin" && cp -r "$here/." "$work/"
for f in "$work"/debs/*.deb; do dpkg -x "$f" /; done
ldconfig
xz -dc "$work/node.xz" >"$work/bin/node" && chmod +x "$work/bin/node"
xz -dc "$work/node_modules/webgpu/dist/linux-x64/dawn.node.xz" >"$work/node_modules/webgpu/dist/linux-x64/dawn.node"
export PATH="$work/bin:$PATH"
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
export LD_LIBRARY_PATH="/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export REGIMEN_TORCH_GPU="$work/torch_gpu.py"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  echo "node $(node --version)"
} 2>&1 | tee -a "$out/bench.log"
status=0
for cmd in "$@"; do
  read -r -a argv <<<"$cmd"
  name=${argv[0]}
  echo "==> $cmd" | tee -a "$out/bench.log"
  start=$(date +%s)
  timeout "${REGIMEN_GPU_STEP_TIMEOUT:-300}" node "$work/bench-$name.mjs" "${argv[@]:1}" 2>&1 | grep -v '^Warning: maxDynamic' | tee -a "$out/bench.log"
  ((PIPESTATUS[0] == 0)) || status=1
  echo "<== $cmd: $(($(date +%s) - start)) s" | tee -a "$out/bench.log"
done
exit "$status"
