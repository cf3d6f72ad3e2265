#!/usr/bin/env bash
# A same-call A/B of decode speed on the GPU machine: variants of specd_bench_model_decode (two
# binaries, or one binary under different environment switches) run in alternating rounds, each
# run its own process, because one binary varies by 1-2% from one process to the next (H100, 1B
# batch 1) and cards by ~2.5%: only variants timed in the same call, interleaved, compare.
# bench/ab_summary.py prints each case's rounds and medians.
# usage: bash bench/ab_decode.sh NAME=BINARY[:ENV=VALUE,...] NAME=BINARY[:...] ...
#   e.g.  bash bench/ab_decode.sh base=.gpu/bench_base new=.gpu/bench_new
#         bash bench/ab_decode.sh off=.gpu/bench:SPECD_X=0 on=.gpu/bench:SPECD_X=1
# CASES (default: all of them) picks among
#   1b      Llama-3.2-1B batch 1, 128 + 256 tokens         (ROUNDS rounds, default 4)
#   8b      Llama-3.1-8B batch 1                            (ROUNDS_8B, default 2)
#   verify  8B steps of 1 and 5 tokens at the 128-token context, 64 steps   (ROUNDS_8B)
#   batches 1B batch 2, 4, 8                                (ROUNDS_8B)
# Raw files: $OUT/ab/<case>_<name>_r<round>.json (and .log). The binaries find their libraries
# through LD_LIBRARY_PATH, set by the caller (../shared/device/README.md: bundle-libs.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/specd-ab}/ab
mkdir -p "$out"
[ $# -ge 2 ] || { echo "ab_decode.sh: name two variants or more (NAME=BINARY[:ENV=VALUE,...])" >&2; exit 2; }

run() {  # run CASE ROUND VARIANT ARGS...
  local case=$1 round=$2 variant=$3 name binary env=()
  shift 3
  name=${variant%%=*}
  binary=${variant#*=}
  if [[ $binary == *:* ]]; then
    IFS=, read -r -a env <<< "${binary#*:}"
    binary=${binary%%:*}
  fi
  env "${env[@]}" "$binary" "$@" --out "$out/${case}_${name}_r$round.json" > "$out/${case}_${name}_r$round.log" 2>&1 ||
    echo "ab_decode.sh: $case $name round $round failed (see its log)" >&2
}

rounds() {  # rounds CASE COUNT ARGS...
  local case=$1 count=$2
  shift 2
  for round in $(seq "$count"); do
    for variant in "${variants[@]}"; do run "$case" "$round" "$variant" "$@"; done
  done
}

variants=("$@")
for case in ${CASES:-1b 8b verify batches}; do
  case "$case" in
    1b) rounds 1b "${ROUNDS:-4}" --shape bench/shapes/llama-3.2-1b ;;
    8b) rounds 8b "${ROUNDS_8B:-2}" --shape bench/shapes/llama-3.1-8b ;;
    verify) rounds verify "${ROUNDS_8B:-2}" --shape bench/shapes/llama-3.1-8b --new-tokens 64 --step-tokens 1,5 --fixed-context ;;
    batches) rounds batches "${ROUNDS_8B:-2}" --shape bench/shapes/llama-3.2-1b --batches 2,4,8 ;;
    *) echo "ab_decode.sh: unknown case '$case' (1b, 8b, verify, batches)" >&2; exit 2 ;;
  esac
done
python3 bench/ab_summary.py "$out" "${variants[@]%%=*}"
