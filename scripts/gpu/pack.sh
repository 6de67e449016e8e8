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

# Runtime packages the checks and benchmarks import (no build tools, no plotting).
tmp=$(mktemp -d)
cp package.json package-lock.json "$tmp"/
(cd "$tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund > /dev/null)
tar -C "$tmp" -cJf .gpu/node_modules.tar.xz \
  $(cd "$tmp" && ls -d node_modules/node-addon-api node_modules/node-gyp-build node_modules/zod node_modules/fflate \
      node_modules/nifti-reader-js node_modules/commander node_modules/cli-progress node_modules/fflate 2>/dev/null | sort -u) \
  $(cd "$tmp" && ls -d node_modules/string-width node_modules/strip-ansi node_modules/ansi-regex node_modules/emoji-regex \
      node_modules/is-fullwidth-code-point node_modules/ansi-styles 2>/dev/null)
rm -rf "$tmp"
tar -cJf .gpu/dist.tar.xz dist
du -sh .gpu/*
