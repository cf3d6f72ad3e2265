#!/usr/bin/env bash
# The CUDA runner's benchmarks on the GPU machine, each next to PyTorch measured in the same call:
#   attention   paged attention kernels (decode TB/s, prefill TFLOP/s), PyTorch SDPA / FA2 / cuDNN
#   flex        attention modifiers (causal, sliding window, soft-capping, ALiBi, prefix-LM,
#               documents) in prefill and decode, and sliding-window decode at 8k..128k contexts;
#               PyTorch's compiled flex_attention with block masks on the same cases
#   decode      batch-1 decode, random weights in the Llama-3.2-1B and Llama-3.1-8B shapes: CUDA
#               graphs and overlapped steps, steps not overlapped, eager, separate norm/add/SiLU
#               kernels, cuBLASLt's heuristic for small GEMMs (each in DECODE_ROUNDS processes);
#               the host gap between steps; transformers with a static cache (DECODE_SHAPES picks
#               the shapes, by default both)
#   throughput  8B decode at batch 1..256 with 1024-token contexts; 8B verify steps of 1..9 tokens,
#               all at the prompt's context (--fixed-context), and with contexts growing each step
#   spec        speculative decoding on the bundled pair (both models on the GPU), batch 1 and 8,
#               k = 1..8
#   timeline    batch-1 decode steps of both shapes traced kernel by kernel (bench/kernel_trace.cc,
#               bench/kernel_timeline.py: where a step's time goes), next to the same run untraced
#               (the tracer's cost); not in the default list
#   report      bench/gpu_report.py: a table, and $OUT/cuda_runner_<card>.json for bench/results/
# usage: bash bench/run_gpu_benchmarks.sh [PART ...]      (no PART: all of them, in this order)
# Binaries come built from here in .gpu/:
#   here:  ../shared/device/bundle-libs.sh build/bin/specd_bench_{attention,model_decode,spec_decode} .gpu/
#          cp build/bench/libspecd_kernel_trace.so .gpu/lib/    (timeline only)
#   there: bash bench/run_gpu_benchmarks.sh      (with .gpu carried; raw results under $OUT)
# A part's results stay under $OUT, so the parts can run in separate calls and the report read
# them all from one folder.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/specd-gpu-bench}
mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64 PYTHONUNBUFFERED=1
decode=.gpu/specd_bench_model_decode

attention() {
  .gpu/specd_bench_attention --out "$out/attention_specd.json"
  python3 bench/torch_attention_bench.py "$out/attention_torch.json"
}

flex() {
  .gpu/specd_bench_attention --flex --out "$out/flex_specd.json"
  python3 bench/torch_flex_attention_bench.py "$out/flex_torch.json"
}

# Each variant in DECODE_ROUNDS processes (default 3), the variants alternating within a round:
# the same binary varies by 1-2% from one process to the next (H100, 1B batch 1), so the report
# takes each variant's median round.
decode() {
  for shape in ${DECODE_SHAPES:-llama-3.2-1b llama-3.1-8b}; do
    for round in $(seq "${DECODE_ROUNDS:-3}"); do
      $decode --shape bench/shapes/$shape --out "$out/decode_specd_${shape}_r$round.json"
      $decode --shape bench/shapes/$shape --no-overlap --out "$out/decode_specd_${shape}_sync_r$round.json"
      $decode --shape bench/shapes/$shape --no-cuda-graphs --out "$out/decode_specd_${shape}_eager_r$round.json"
      $decode --shape bench/shapes/$shape --no-fused-decode-layers --out "$out/decode_specd_${shape}_unfused_r$round.json"
      $decode --shape bench/shapes/$shape --no-fast-small-gemms --out "$out/decode_specd_${shape}_untuned_r$round.json"
    done
    python3 bench/torch_decode_bench.py bench/shapes/$shape "$out/decode_torch_$shape.json"
  done
}

throughput() {
  $decode --shape bench/shapes/llama-3.1-8b --prompt 1024 --new-tokens 32 --batches 1,8,32,64,128,256 \
    --out "$out/decode_specd_throughput_llama-3.1-8b.json"
  $decode --shape bench/shapes/llama-3.1-8b --new-tokens 64 --step-tokens 1,2,3,4,5,6,7,8,9 --fixed-context \
    --out "$out/decode_specd_verify_llama-3.1-8b.json"
  $decode --shape bench/shapes/llama-3.1-8b --new-tokens 64 --step-tokens 1,2,3,4,5,6,7,8,9 \
    --out "$out/decode_specd_verify_growing_llama-3.1-8b.json"
}

timeline() {
  for shape in llama-3.2-1b llama-3.1-8b; do
    $decode --shape bench/shapes/$shape --new-tokens 64 --out "$out/timeline_untraced_$shape.json"
    CUDA_INJECTION64_PATH=$PWD/.gpu/lib/libspecd_kernel_trace.so SPECD_KERNEL_TRACE="$out/kernel_trace_$shape.csv" \
      $decode --shape bench/shapes/$shape --new-tokens 64 --out "$out/timeline_traced_$shape.json"
    python3 bench/kernel_timeline.py "$out/kernel_trace_$shape.csv" --json "$out/timeline_$shape.json" |
      tee "$out/timeline_$shape.txt"
  done
}

spec() { .gpu/specd_bench_spec_decode --runner cuda --passes 10 --out "$out/spec_decode_cuda.json"; }

report() { python3 bench/gpu_report.py "$out"; }

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(attention flex decode throughput spec report)
for part in "${parts[@]}"; do
  case "$part" in
    attention|flex|decode|throughput|spec|timeline|report) "$part" ;;
    *) echo "run_gpu_benchmarks.sh: unknown part '$part' (attention, flex, decode, throughput, spec, timeline, report)" >&2; exit 2 ;;
  esac
done
