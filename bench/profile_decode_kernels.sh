#!/usr/bin/env bash
# Where a batch-1 decode step's GPU time goes, kernel by kernel, on the GPU machine: Nsight Compute
# (ncu, which serializes kernels: no PDL overlap, so the sum exceeds the step) times every kernel of
# a short specd_bench_model_decode run; bench/decode_kernel_table.py prints the last decode step's
# kernels in launch order with their times, and the sums per kernel.
# usage: [STEP_TOKENS=T] bash bench/profile_decode_kernels.sh [SHAPE ...]
#   (default: llama-3.2-1b llama-3.1-8b; T > 1: verify steps of T tokens, files named _tT)
# Binaries come from here in .gpu/ (../shared/device/bundle-libs.sh BUILD/bin/specd_bench_model_decode .gpu/).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/specd-decode-profile}
mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
step_tokens=${STEP_TOKENS:-1}
suffix=$([ "$step_tokens" = 1 ] || echo "_t$step_tokens")
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(llama-3.2-1b llama-3.1-8b)
for shape in "${shapes[@]}"; do
  # Prefill, two capture steps and two replayed steps: about 600 kernels for 1B, 1100 for 8B.
  ncu --clock-control none --metrics gpu__time_duration.sum --csv --launch-count 1500 \
    .gpu/specd_bench_model_decode --shape "bench/shapes/$shape" --prompt 128 --new-tokens 2 \
    --step-tokens "$step_tokens" > "$out/ncu_$shape$suffix.csv" 2> "$out/ncu_$shape$suffix.err"
  python3 bench/decode_kernel_table.py "$out/ncu_$shape$suffix.csv" | tee "$out/kernels_$shape$suffix.txt"
done
