#!/usr/bin/env bash
# The image's smoke test, run by deploy/Dockerfile's last build step as the image's user in
# /opt/specd (installed there as specd-smoke-test):
#   1. `specd serve` on loopback (ephemeral ports) with the CPU preset chosen by $SPECD_CONFIG;
#   2. readiness and liveness SERVING through grpc.health.v1 (specd-cli health);
#   3. one greedy generation through specd-cli;
#   4. /metrics has the series that the autoscaler and the alerts read (deploy/k8s/hpa.yaml,
#      deploy/prometheus/);
#   5. SIGTERM drains and the server exits 0.
# From a repository checkout:  PATH=$PWD/build/bin:$PATH bash deploy/smoke_test.sh
set -euo pipefail

readonly MAX_TOKENS=16
readonly START_TIMEOUT_S=120
work=$(mktemp -d)
server=""

cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -f "$work/specd.log" ]; then
    echo "--- specd log ---" >&2
    cat "$work/specd.log" >&2
  fi
  if [ -n "$server" ]; then kill -KILL "$server" 2> /dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "smoke test: FAILED: $*" >&2
  exit 1
}

# Waits for the port file, written once the model is loaded.
wait_until_loaded() {
  for _ in $(seq $((START_TIMEOUT_S * 10))); do
    [ -s "$work/ports.json" ] && return 0
    kill -0 "$server" 2> /dev/null || fail "specd exited while loading"
    sleep 0.1
  done
  fail "specd did not load within $START_TIMEOUT_S s"
}

# The value of integer field $1 in the port file: {"grpc_port":N,"metrics_port":M}.
port() { sed -E "s/.*\"$1\":([0-9]+).*/\1/" "$work/ports.json"; }

cli() { specd-cli --server "127.0.0.1:$(port grpc_port)" --timeout-s 60 "$@"; }

# GET /metrics with bash's /dev/tcp (the runtime image has no curl).
scrape_metrics() {
  timeout 10 bash -c 'exec 3<> "/dev/tcp/127.0.0.1/$1"
                      printf "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3
                      cat <&3' _ "$(port metrics_port)"
}

expect_metric() {  # $1: the metrics text, $2: a series name
  grep -q "^$2 " <<< "$1" || fail "/metrics has no $2"
}

SPECD_CONFIG=configs/serve_cpu.json specd serve --listen 127.0.0.1:0 --metrics-port 0 \
  --port-file "$work/ports.json" > "$work/specd.log" 2>&1 &
server=$!
wait_until_loaded

[ "$(cli health --service specd.v1.Generation)" = SERVING ] || fail "readiness is not SERVING"
[ "$(cli health)" = SERVING ] || fail "liveness is not SERVING"

generation=$(cli generate --prompt "def fibonacci(n):" --max-tokens "$MAX_TOKENS" --temperature 0 --json)
grep -q "\"completion_tokens\":$MAX_TOKENS" <<< "$generation" \
  || fail "expected $MAX_TOKENS generated tokens, got: $generation"
echo "smoke test: generated $generation"

metrics=$(scrape_metrics)
expect_metric "$metrics" specd_num_requests_waiting
expect_metric "$metrics" specd_kv_cache_usage_ratio
grep -q "^specd_generation_tokens_total $MAX_TOKENS$" <<< "$metrics" \
  || fail "specd_generation_tokens_total is not $MAX_TOKENS"

kill -TERM "$server"
exit_code=0
wait "$server" || exit_code=$?
server=""
[ "$exit_code" -eq 0 ] || fail "specd exited $exit_code after SIGTERM, not 0"
grep -q "stopped" "$work/specd.log" || fail "specd did not log its drain"
echo "smoke test: OK (health SERVING, one generation, /metrics, clean drain)"
