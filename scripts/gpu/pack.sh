#!/usr/bin/env bash
# Packs what a bare GPU machine needs to run Regimen's benchmarks beside PyTorch (GPU-NOTES.md: it has a
# Vulkan-capable NVIDIA driver and python3 with torch, but no Node, no npm and no registry) into .gpu/
# (git-ignored): Node itself, the benchmark scripts bundled with esbuild, Dawn (the `webgpu` package),
# Debian's Vulkan loader and the GL libraries the NVIDIA ICD loads, and ../shared/bench/torch_gpu.py.
# Then, on that machine: `bash .gpu/run.sh "train --backend webgpu --model gpt2-small" ...`.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu
rm -rf "$out" && mkdir -p "$out/node_modules/webgpu/dist/linux-x64" "$out/debs"

echo "node $(node --version)"
xz -T0 -6 -c "$(command -v node)" >"$out/node.xz"

# Each benchmark as one ES module; `webgpu` (a native addon) stays a package beside them.
for file in scripts/bench/{train,generate,gemm}.ts scripts/gpu/probe-*.ts; do
  [[ -f $file ]] || continue
  name=$(basename "$file" .ts)
  entry=$(mktemp --suffix=.ts)
  if [[ $file == scripts/bench/* ]]; then
    echo "import { run } from '$PWD/$file'; await run(process.argv.slice(2));" >"$entry"
  else
    echo "import '$PWD/$file';" >"$entry"
  fi
  npx esbuild "$entry" --bundle --platform=node --format=esm --target=node20 \
    --outfile="$out/bench-$name.mjs" --log-level=warning \
    --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
  rm -f "$entry"
done
# gradients.ts registers this resolve hook relative to the (bundled) module.
cp packages/core/src/train/tfjs-resolve-hook.mjs "$out/"

pkg=node_modules/webgpu
cp "$pkg/index.js" "$pkg/package.json" "$out/node_modules/webgpu/"
xz -T0 -6 -c "$pkg/dist/linux-x64/dawn.node" >"$out/node_modules/webgpu/dist/linux-x64/dawn.node.xz"

# The Vulkan loader and what NVIDIA's ICD links (with libvulkan1 alone it fails: VK_ERROR_INCOMPATIBLE_DRIVER).
lists=$(mktemp -d)
apt_amd64=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
mkdir -p "$lists/partial"
apt-get "${apt_amd64[@]}" update -qq
(cd "$out/debs" && apt-get "${apt_amd64[@]}" download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 \
  libgles2 libx11-6 libxext6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0 >/dev/null)
rm -rf "$lists"

cp "${REGIMEN_SHARED_BENCH:-../shared/bench}/torch_gpu.py" "$out/"
cp scripts/gpu/run.sh "$out/"
du -sh "$out"
