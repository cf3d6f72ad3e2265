#!/usr/bin/env bash
# Throughput and latency against load (issue 10): `specd serve` with the CUDA runner on a
# random-weight bf16 model in the Llama-3.2-1B shape, driven by `specd-bench load`, speculation
# off (configs/serve_gpu_1b_load.json) and on (n-gram prompt lookup,
# configs/serve_gpu_1b_load_ngram.json). For each mode, one server start:
#   1. closed loop: SATURATION_CLIENTS clients for SATURATION_S seconds, the saturation
#      throughput C (and the CUDA graphs' warm-up);
#   2. Poisson arrivals at FRACTIONS of C (C measured without speculation, so both modes see the
#      same rates; 1.2 x C is past saturation), RATE_S seconds each: random-token prompts of
#      256-512 tokens, exactly 128 greedy tokens out (configs/workloads/gpu_1b_rates.json);
# then SIGTERM. bench/load_sweep.py prints the table last and writes $OUT/gpu_load_<card>.json;
# bench/plot_load.py draws PNGs where matplotlib is importable. Reports: $OUT/load_{off,on}_*.json.
#
# usage: bash bench/run_gpu_load.sh               the GPU machine, binaries in .gpu/ (about 6 min)
#        bash bench/run_gpu_load.sh --cpu-smoke   here: a tiny model (same 128256-token vocabulary)
#                                                 on the CPU runner, build/bin/, short runs
# Binaries, built with CUDA and the server, bundled here:
#   ../shared/device/bundle-libs.sh BUILD/bin/specd BUILD/bin/specd-bench BUILD/bin/specd-cli \
#       BUILD/bin/specd-model .gpu/
# Environment overrides: RATE_S, SATURATION_S, SATURATION_CLIENTS, FRACTIONS ("0.3 0.6 0.9 1.2"),
# MODES ("off on"), START_TIMEOUT_S.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=gpu
case "${1:-}" in
  "") ;;
  --cpu-smoke) mode=cpu ;;
  *) echo "usage: bash bench/run_gpu_load.sh [--cpu-smoke]" >&2; exit 2 ;;
esac

out=${OUT:-/tmp/specd-gpu-load}
mkdir -p "$out"
workload=configs/workloads/gpu_1b_rates.json
read -r -a fractions <<< "${FRACTIONS:-0.3 0.6 0.9 1.2}"
read -r -a modes <<< "${MODES:-off on}"
# Debian's and Ubuntu's system Python, where matplotlib is (load_sweep.py needs only the standard library).
python=/usr/bin/python3
[ -x "$python" ] || python=python3

if [ "$mode" = gpu ]; then
  bin=.gpu
  export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
  model=/tmp/specd-llama-3.2-1b-random
  # Llama-3.2-1B: hidden 2048, 16 layers, 32 / 8 heads of 64, MLP 8192, vocab 128256, tied
  # embeddings (the RoPE scaling constants are make-random's, which costs the same).
  model_flags=(--vocab 128256 --hidden 2048 --intermediate 8192 --layers 16 --heads 32 --kv-heads 8
               --head-dim 64 --max-position 131072 --rope-theta 500000 --llama3-rope-scaling
               --tie-embeddings --dtype bf16 --seed 1)
  serve_off=(--config configs/serve_gpu_1b_load.json)
  serve_on=(--config configs/serve_gpu_1b_load_ngram.json)
  rate_s=${RATE_S:-25} saturation_s=${SATURATION_S:-15} clients=${SATURATION_CLIENTS:-256}
  start_timeout_s=${START_TIMEOUT_S:-300}
  card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1) || card=""
  [ -n "$card" ] || card="unknown gpu"
else
  bin=build/bin
  model=/tmp/specd-load-smoke-model
  model_flags=(--vocab 128256 --hidden 64 --intermediate 128 --layers 2 --heads 4 --kv-heads 2
               --max-position 1024 --tie-embeddings --dtype fp32 --seed 1)
  serve_off=(--config configs/serve_cpu.json)
  serve_on=(--config configs/serve_cpu.json --spec-config spec_configs/ngram_lookup.json)
  rate_s=${RATE_S:-2} saturation_s=${SATURATION_S:-2} clients=${SATURATION_CLIENTS:-8}
  start_timeout_s=${START_TIMEOUT_S:-60}
  card="cpu smoke"
fi
card=$(echo "$card" | tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9]+/_/g; s/^_+|_+$//g')
for program in specd specd-bench specd-cli specd-model; do
  [ -x "$bin/$program" ] || { echo "run_gpu_load.sh: $bin/$program is missing (see this script's header)" >&2; exit 1; }
done

server_pid=""
server_log=""
port=""

log() { echo "[run_gpu_load $(date +%T)] $*" >&2; }

fail() {
  echo "run_gpu_load.sh: $*" >&2
  if [ -n "$server_log" ] && [ -f "$server_log" ]; then
    echo "--- last lines of $server_log ---" >&2
    tail -n 40 "$server_log" >&2
  fi
  exit 1
}

# A server still running when the script ends (an error) is killed, never left behind.
cleanup() { [ -z "$server_pid" ] || kill -KILL "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT

make_model() {
  local recipe="${model_flags[*]}"
  if [ -f "$model/model.safetensors" ] && [ "$(cat "$model/made_with" 2>/dev/null)" = "$recipe" ]; then
    log "model $model already made"
    return
  fi
  log "making $model ($recipe)"
  rm -rf "$model"
  "$bin/specd-model" make-random --out "$model" "${model_flags[@]}" || fail "specd-model make-random failed"
  echo "$recipe" > "$model/made_with"
}

# Starts `specd serve ARGS...` on free ports; returns once readiness (specd.v1.Generation) is
# SERVING, or fails with the server's log tail after start_timeout_s or if it exits.
start_server() {
  local name=$1; shift
  local port_file="$out/ports_$name.json"
  server_log="$out/server_$name.log"
  rm -f "$port_file"
  log "starting specd serve $* ($name)"
  "$bin/specd" serve "$@" --model "$model" --listen 127.0.0.1:0 --metrics-port 0 \
      --port-file "$port_file" > "$server_log" 2>&1 &
  server_pid=$!
  local started_s=$SECONDS deadline=$((SECONDS + start_timeout_s))
  until [ -f "$port_file" ]; do
    kill -0 "$server_pid" 2>/dev/null || { wait "$server_pid" || true; server_pid=""; fail "specd serve exited during start"; }
    [ "$SECONDS" -lt "$deadline" ] || fail "specd serve not ready after ${start_timeout_s} s"
    sleep 0.2
  done
  port=$(sed -E 's/.*"grpc_port":([0-9]+).*/\1/' "$port_file")
  local health
  health=$("$bin/specd-cli" --server "127.0.0.1:$port" --timeout-s 10 health --service specd.v1.Generation 2>&1) \
    || fail "health check failed: $health"
  [ "$health" = SERVING ] || fail "health is '$health', not SERVING"
  log "serving on port $port after $((SECONDS - started_s)) s"
}

# SIGTERM, then the drain; the server must exit 0 within the drain timeout and a margin.
stop_server() {
  log "stopping the server (SIGTERM)"
  kill -TERM "$server_pid"
  local deadline=$((SECONDS + 60))
  while kill -0 "$server_pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "specd serve still running 60 s after SIGTERM"
    sleep 0.2
  done
  local status=0
  wait "$server_pid" || status=$?
  server_pid=""
  [ "$status" -eq 0 ] || fail "specd serve exited with $status after SIGTERM"
}

# specd-bench load with a deadline (a run that hangs fails the script instead); its tables go to
# $out/NAME.txt.
bench() {
  local name=$1 limit_s=$2; shift 2
  local status=0
  timeout "$limit_s" "$bin/specd-bench" load --target "127.0.0.1:$port" --wait-s 30 "$@" \
    --json-out "$out/$name.json" > "$out/$name.txt" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    tail -n 20 "$out/$name.txt" >&2
    fail "specd-bench load $* exited with $status (124: over ${limit_s} s)"
  fi
}

run_mode() {
  local name=$1; shift
  start_server "$name" "$@"
  log "closed loop: $clients clients, ${saturation_s} s"
  bench "load_${name}_saturation" $((saturation_s + 120)) --workload "$workload" --clients "$clients" \
    --duration-s "$saturation_s"
  if [ ! -f "$out/rates_preset.json" ]; then
    "$python" bench/load_sweep.py preset --workload "$workload" --saturation "$out/load_${name}_saturation.json" \
      --fractions "${fractions[@]}" --duration-s "$rate_s" --out "$out/rates_preset.json" > "$out/rates.txt"
  fi
  log "Poisson rates $(cat "$out/rates.txt") req/s, ${rate_s} s each"
  bench "load_${name}_rates" $(( ${#fractions[@]} * (rate_s + 120) )) --workload "$out/rates_preset.json"
  stop_server
}

summarize() {
  "$python" bench/load_sweep.py summary --dir "$out" --card "$card" > "$out/summary.txt"
  local reports=()
  for name in "${modes[@]}"; do reports+=("$out/load_${name}_rates.json"); done
  if "$python" -c "import matplotlib" 2>/dev/null; then
    "$python" bench/plot_load.py "${reports[@]}" --out "$out/gpu_load_$card" || log "plot_load.py failed; no PNG"
  else
    log "no matplotlib: no PNG"
  fi
  cat "$out/summary.txt"
}

started=$SECONDS
rm -f "$out"/rates_preset.json "$out"/load_*.json
make_model
for name in "${modes[@]}"; do
  case "$name" in
    off) run_mode off "${serve_off[@]}" ;;
    on) run_mode on "${serve_on[@]}" ;;
    *) fail "MODES may hold off and on, got '$name'" ;;
  esac
done
summarize
log "done in $((SECONDS - started)) s; reports, server logs and the summary in $out"
