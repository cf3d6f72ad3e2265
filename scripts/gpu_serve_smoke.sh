#!/usr/bin/env bash
# The server on the GPU machine with the CUDA runner (configs/serve_gpu.json), from binaries built
# here and carried in .gpu/ with their libraries:
#   here:  ../shared/device/bundle-libs.sh build/bin/specd build/bin/specd-cli .gpu/ && strip .gpu/specd*
#   there: bash scripts/gpu_serve_smoke.sh       (with .gpu carried; logs under $OUT)
# Starts `specd serve`, waits for readiness, generates through specd-cli (plain, then with the
# bundled draft model), and drains it with SIGTERM; fails on any error or a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/specd-gpu-serve}
mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
cli() { .gpu/specd-cli --server 127.0.0.1:50071 --timeout-s 60 "$@"; }

serve() {  # $1: log name, then extra flags for specd serve
  local log=$out/$1.log
  shift
  .gpu/specd serve --config configs/serve_gpu.json --listen 127.0.0.1:50071 "$@" > "$log" 2>&1 &
  server=$!
  for _ in $(seq 120); do
    cli health --service specd.v1.Generation > /dev/null 2>&1 && break
    kill -0 "$server" 2> /dev/null || { cat "$log"; return 1; }
    sleep 0.5
  done
  cli health --service specd.v1.Generation
  cli generate --prompt "def fibonacci(n):" --max-tokens 48 --json | tee "$out/$(basename "$log" .log).json"
  kill -TERM "$server"
  wait "$server"  # set -e: a non-zero exit (a failed drain) fails the script
  grep -E "CUDA runner|KV cache|speculative" "$log"
}

serve plain
serve draft --spec-config spec_configs/draft_and_verify.json
echo "gpu serve smoke: OK"
