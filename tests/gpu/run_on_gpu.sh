#!/usr/bin/env bash
# Builds the engine, CLI and GPU tests against the GPU machine's LibTorch 2.x (CUDA) and runs the
# GPU checks and benchmarks named on the command line. Results go to $OUT (default ./gpu-out).
#   tests/gpu/run_on_gpu.sh build tests bench-dit
# Needs googletest sources at .gpu/googletest (copy of Debian's /usr/src/googletest, carried).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/gpu-out}"
mkdir -p "$OUT"
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }

build() {
    local prefix
    prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$OUT/summary.txt"
    cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
        -DLIPAR_WITH_QT=OFF -DLIPAR_WITH_SPDLOG=OFF -DLIPAR_GTEST_SOURCE_DIR="$PWD/.gpu/googletest" \
        -DCMAKE_CUDA_ARCHITECTURES=90 >"$OUT/cmake.log" 2>&1 || { tail -30 "$OUT/cmake.log"; return 1; }
    grep -E "^-- +(LibTorch|FFmpeg|OpenCV|spdlog|Qt)" "$OUT/cmake.log" | tee -a "$OUT/summary.txt"
    local t0=$SECONDS
    ninja -C build-gpu -j16 >"$OUT/build.log" 2>&1 || { grep -E "error|Error" "$OUT/build.log" | head -40; return 1; }
    log "build ok in $((SECONDS - t0)) s"
}

for step in "$@"; do
    case "$step" in
        build) build || exit 1 ;;
        tests)
            log "gpu tests"
            ./build-gpu/tests/lipar_gpu_tests 2>&1 | tee "$OUT/gpu_tests.log" | grep -E "^\[  (PASSED|FAILED) |OK \]|FAILED|Failure|error" | tail -40
            ;;
        unit)
            log "unit tests on the GPU machine's LibTorch"
            ./build-gpu/tests/lipar_unit_tests 2>&1 | tee "$OUT/unit_tests.log" | grep -E "^\[  (PASSED|FAILED) |FAILED" | tail -20
            ;;
        bench-dit)
            log "bench-dit (1.3B random, bf16, 480x832)"
            ./build-gpu/app/lipar bench-dit --config wan-1.3b --device cuda --dtype bf16 --size 832x480 \
                --iters 10 2>&1 | tee "$OUT/bench_dit.txt"
            ;;
        parity-dit)
            log "DiT parity with the official Wan2.1 model.py (carried in .gpu/wan_ref)"
            python3 tests/gpu/wan_dit_parity.py .gpu/wan_ref/model.py build-gpu/app/lipar "$OUT/parity" 2>&1 | tee "$OUT/parity_dit.txt" | grep -E "PASS|FAIL|Error|error" | tail -5
            ;;
        *) echo "unknown step $step"; exit 2 ;;
    esac
done
