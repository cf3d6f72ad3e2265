#!/usr/bin/env bash
# The CUDA runner's benchmarks on the GPU machine, each next to PyTorch measured in the same call:
# paged attention (decode bandwidth, prefill TFLOP/s) and whole-model batch-1 decode on random
# weights in the Llama-3.2-1B and Llama-3.1-8B shapes. Binaries come built from here in .gpu/
#   here:  ../shared/device/bundle-libs.sh build/bin/specd_bench_attention build/bin/specd_bench_model_decode .gpu/
#   there: bash bench/run_gpu_benchmarks.sh      (with .gpu carried; raw results under $OUT)
# Ends with bench/gpu_report.py: a table, and $OUT/cuda_runner_<card>.json for bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/specd-gpu-bench}
mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64 PYTHONUNBUFFERED=1
.gpu/specd_bench_attention --out "$out/attention_specd.json"
python3 bench/torch_attention_bench.py "$out/attention_torch.json"
for shape in llama-3.2-1b llama-3.1-8b; do
  .gpu/specd_bench_model_decode --shape bench/shapes/$shape --out "$out/decode_specd_$shape.json"
  .gpu/specd_bench_model_decode --shape bench/shapes/$shape --no-fast-small-gemms --out "$out/decode_specd_${shape}_untuned.json"
  python3 bench/torch_decode_bench.py bench/shapes/$shape "$out/decode_torch_$shape.json"
done
python3 bench/gpu_report.py "$out"
