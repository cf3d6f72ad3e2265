#!/usr/bin/env bash
# Configures and builds specd into build/ (two parallel jobs: the CI machines have two cores).
# Extra arguments go to CMake, e.g. -DSPECD_BUILD_SERVER=OFF on the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cuda_flag=()
if ! command -v nvcc >/dev/null && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  echo "build.sh: no nvcc found; building without the CUDA kernels" >&2
  cuda_flag=(-DSPECD_WITH_CUDA=OFF)
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cuda_flag[@]}" "$@"
cmake --build build -j2
