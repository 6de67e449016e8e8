#!/usr/bin/env bash
# Prepares .gpu/ for a run on a lent CUDA machine that has Python torch (with its bundled LibTorch),
# CMake and ninja, but no Node: a compressed copy of this machine's Node, the Node-API headers, the
# runtime npm packages the checks import, and the compiled dist/. Run here, then carry `.gpu` and
# run scripts/gpu/device-run.sh there.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .gpu && mkdir -p .gpu
npx tsc -p tsconfig.build.json
xz -T2 -6 -c "$(command -v node)" > .gpu/node.xz

# Node-API needs only these headers; cmake-js-style builds look for node.h as well.
inc=$(dirname "$(command -v node)")/../include/node
mkdir -p .gpu/include/node
cp "$inc"/node_api*.h "$inc"/js_native_api*.h "$inc"/node_version.h "$inc"/node.h .gpu/include/node/

# Runtime packages dist/ imports (all production dependencies: about 5 MB compressed), and
# node-addon-api for the build there.
tmp=$(mktemp -d)
cp package.json package-lock.json "$tmp"/
(cd "$tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund > /dev/null)
tar -C "$tmp" -cf - node_modules | xz -T2 -6 > .gpu/node_modules.tar.xz
rm -rf "$tmp"
tar -cJf .gpu/dist.tar.xz dist
# The checks and benchmarks read these committed files; they travel with the working tree.
ls scripts/gpu/device-run.sh scripts/gpu/cuda-checks.mjs bench/run.mjs bench/ours.mjs bench/reference/worker.py > /dev/null
du -sh .gpu/*
echo "carry ['.gpu', 'dist'] and run: bash scripts/gpu/device-run.sh"
