#!/usr/bin/env bash
# The whole GPU run, on a lent CUDA machine (Python torch with its bundled LibTorch, CMake, ninja,
# nvcc; no Node, no network). Prepare here with `bash scripts/gpu/pack.sh`, carry ['.gpu', 'dist'],
# then run from the repository root there: `bash scripts/gpu/device-run.sh`.
#
# Stages, each under its own timeout, all within DEADLINE_S (default 460 s, under 8 minutes):
#   1. unpack   Node (.gpu/node.xz), runtime node_modules, dist/
#   2. build    the addon with cmake + ninja against the Python torch's LibTorch (sm_90)
#   3. info     `spottune info --json`, nvidia-smi, a bf16 matmul to measure the card's peak
#   4. checks   scripts/gpu/cuda-checks.mjs: the networks' PyTorch fixtures on CUDA
#   5. bench    bench/run.mjs --device cuda: fp32, bf16 autocast, bf16 + channels_last_3d at
#               batch 12 of 1x70x86x86 against the same machine's PyTorch
# Everything lands flat in $OUT (at most 8 files): build.log, info.json, gpu.txt, checks.json,
# bench.json, bench.log, summary.txt. The summary table is printed last.
#
# To test the script on a machine without a GPU: DEVICE_RUN_MODE=cpu bash scripts/gpu/device-run.sh
# (builds into .gpu-test/ against the local python3's torch, never touching build/; runs the checks
# and a small benchmark on the CPU).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MODE=${DEVICE_RUN_MODE:-cuda}
DEADLINE_S=${DEADLINE_S:-460}
PY=${PYTHON:-python3}
OUT=${OUT:-$ROOT/.gpu-out}
mkdir -p "$OUT"
START=$(date +%s)
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"

note() { echo "$*" | tee -a "$SUMMARY"; }
left() { echo $((DEADLINE_S - ($(date +%s) - START))); }
# run_stage NAME LIMIT_S COMMAND...: runs under min(LIMIT_S, time left); notes ok/failed/timeout.
run_stage() {
  local name=$1 limit=$2
  shift 2
  local remaining
  remaining=$(left)
  if ((remaining < 15)); then
    note "stage $name: skipped (deadline)"
    return 1
  fi
  ((limit > remaining)) && limit=$remaining
  local t0=$(date +%s) rc
  timeout --kill-after=10 "$limit" "$@"
  rc=$?
  local dt=$(($(date +%s) - t0))
  if ((rc == 0)); then
    note "stage $name: ok (${dt} s)"
  elif ((rc == 124 || rc == 137)); then
    note "stage $name: TIMEOUT after ${dt} s (limit ${limit} s)"
  else
    note "stage $name: FAILED rc=$rc (${dt} s)"
  fi
  return $rc
}

if [[ $MODE == cpu ]]; then
  WORK=$ROOT/.gpu-test
  DEVICE=cpu
else
  WORK=$ROOT/.gpu
  DEVICE=cuda
fi
ADDON_DIR=$WORK/build/Release
export SPOTTUNE3D_ADDON=$ADDON_DIR/spottune3d.node
mkdir -p "$WORK/bin"
note "device-run: mode $MODE, $(date -u +%FT%TZ), deadline ${DEADLINE_S} s"

# 1. unpack -------------------------------------------------------------------------------------
unpack() {
  set -e
  if [[ -f .gpu/node.xz ]]; then
    xz -dc .gpu/node.xz > "$WORK/bin/node.tmp" && chmod +x "$WORK/bin/node.tmp" && mv "$WORK/bin/node.tmp" "$WORK/bin/node"
  else
    ln -sf "$(command -v node)" "$WORK/bin/node"
  fi
  # node_modules is not carried; here (CPU test) the checkout's own stays untouched
  if [[ ! -f node_modules/zod/package.json ]]; then tar -xJf .gpu/node_modules.tar.xz; fi
  if [[ ! -f dist/lib/index.js ]]; then tar -xJf .gpu/dist.tar.xz; fi
  "$WORK/bin/node" --version
}
run_stage unpack 60 bash -c "$(declare -f unpack); WORK='$WORK'; unpack" || { cat "$SUMMARY"; exit 1; }
export PATH=$WORK/bin:$PATH

# 2. build --------------------------------------------------------------------------------------
build() {
  set -e
  local prefix inc
  prefix=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  inc=$ROOT/.gpu/include/node
  [[ -d $inc ]] || inc=$(dirname "$(readlink -f "$(command -v node)")")/../include/node
  [[ -d /usr/local/cuda && -z ${CUDA_HOME:-} ]] && export CUDA_HOME=/usr/local/cuda
  [[ -n ${CUDA_HOME:-} ]] && export PATH=$CUDA_HOME/bin:$PATH
  export TORCH_CUDA_ARCH_LIST=9.0
  echo "torch cmake prefix: $prefix; node headers: $inc; nproc $(nproc)"
  cmake -S "$ROOT" -B "$WORK/cmake" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_JS_INC="$inc" \
    -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$ADDON_DIR" \
    -DTORCH_CUDA_ARCH_LIST=9.0
  ninja -C "$WORK/cmake" -k 0 -j "$(nproc)"
  ls -la "$ADDON_DIR"
}
run_stage build 300 bash -c "$(declare -f build); ROOT='$ROOT' WORK='$WORK' ADDON_DIR='$ADDON_DIR' PY='$PY'; build" > "$OUT/build.log" 2>&1
BUILD_RC=$?
if ((BUILD_RC != 0)); then
  note "build errors (first 40 lines with 'error'):"
  grep -n -m 40 -E "error|Error|FAILED" "$OUT/build.log" | cut -c1-300 | tee -a "$SUMMARY"
  tail -n 20 "$OUT/build.log"
fi

# 3. info ---------------------------------------------------------------------------------------
if ((BUILD_RC == 0)); then
  run_stage info 60 node bin/spottune.js info --json > "$OUT/info.json" 2>&1
  head -c 2000 "$OUT/info.json"
  echo
fi
gpu_facts() {
  nvidia-smi 2>&1 || true
  "$PY" - <<'EOF'
import time, torch
print('python torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print('device', p.name, 'SMs', p.multi_processor_count, 'memory GiB', round(p.total_memory / 2**30, 1))
    n = 8192
    a = torch.randn(n, n, device='cuda', dtype=torch.bfloat16)
    b = torch.randn(n, n, device='cuda', dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(10):
        a @ b
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / 10
    print(f'bf16 matmul 8192^3 on random data: {2 * n**3 / dt / 1e12:.0f} TFLOP/s')
EOF
}
run_stage gpu-facts 45 bash -c "$(declare -f gpu_facts); PY='$PY'; gpu_facts" > "$OUT/gpu.txt" 2>&1
grep -E "TFLOP|device|python torch" "$OUT/gpu.txt" | tee -a "$SUMMARY"

# 4. CUDA parity checks -------------------------------------------------------------------------
if ((BUILD_RC == 0)); then
  # float32 without TF32 (cuDNN would otherwise use it by LibTorch's default); 1e-4 relative
  CHECK_ARGS=(--device "$DEVICE" --tol 1e-4)
  [[ $MODE == cpu ]] && CHECK_ARGS+=(--only resnet10)
  NVIDIA_TF32_OVERRIDE=0 run_stage checks 120 node scripts/gpu/cuda-checks.mjs "${CHECK_ARGS[@]}" --out "$OUT/checks.json" 2>&1 | tail -n 30 | tee -a "$SUMMARY"
fi

# 5. benchmarks ---------------------------------------------------------------------------------
if ((BUILD_RC == 0)); then
  BUDGET=$(($(left) - 20))
  if [[ $MODE == cpu ]]; then
    BENCH_ARGS=(--quick --threads 2 --no-memory --cases spottune,augment --size 16x24x24 --batch 2)
  else
    BENCH_ARGS=(--device cuda --threads 8 --timeout 120)
  fi
  run_stage bench "$BUDGET" node bench/run.mjs "${BENCH_ARGS[@]}" --python "$PY" --machine "${MACHINE:-$MODE}" \
    --out "$OUT/bench.json" > "$OUT/bench.log" 2>&1
  note ""
  note "$(sed -n '/^case /,$p' "$OUT/bench.log")"
  [[ -s $OUT/bench.log ]] && ! grep -q '^case ' "$OUT/bench.log" && tail -n 30 "$OUT/bench.log"
fi

note "device-run: done in $(($(date +%s) - START)) s; files in $OUT: $(ls "$OUT" | tr '\n' ' ')"
echo
echo "================ summary ================"
cat "$SUMMARY"
