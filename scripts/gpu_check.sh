#!/usr/bin/env bash
# Runs the [gpu] tests on the GPU machine, from binaries built on the Debian machine and carried
# with their libraries in .gpu/ (the GPU machine has no gRPC, spdlog or PCRE2 development files):
#   here:  bash scripts/build.sh && ../shared/device/bundle-libs.sh build/bin/specd_gpu_tests .gpu/ && strip .gpu/specd_*
#   there: bash scripts/gpu_check.sh          (with .gpu carried; results under $OUT)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/specd-gpu-check}
mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
.gpu/specd_gpu_tests "[gpu]" --durations yes 2>&1 | tee "$out/gpu_tests.log"
