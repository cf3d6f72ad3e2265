#!/usr/bin/env bash
# Makes the tiny random models whose logits Hugging Face transformers computes as our CPU
# runner's reference (tests/data/hf_reference/), and the prompts to run them on. Runs here;
# make_model_logits.py then runs on the GPU machine (run_on_gpu.sh).
# usage: tools/reference/make_reference_models.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR}
out=tests/data/hf_reference
make_random="$build/bin/specd-model make-random --vocab 320"
rm -rf "$out" && mkdir -p "$out"
# 1. Llama, tied embeddings, plain multi-head attention.
$make_random --out $out/llama_tied --hidden 64 --intermediate 160 --layers 2 --heads 4 \
  --tie-embeddings --dtype bf16 --seed 1
# 2. Llama, GQA (8 query heads on 2 KV heads), llama3 rope scaling, explicit head_dim.
$make_random --out $out/llama_gqa_llama3 --hidden 64 --intermediate 128 --layers 3 --heads 8 \
  --kv-heads 2 --head-dim 16 --llama3-rope-scaling --rope-theta 500000 --dtype fp16 --seed 2
# 3. Qwen2: q/k/v biases, tied embeddings.
$make_random --out $out/qwen2_bias --architecture qwen2 --hidden 96 --intermediate 192 \
  --layers 2 --heads 6 --kv-heads 2 --rope-theta 1000000 --tie-embeddings --dtype fp32 --seed 3
# 4. Mistral with a sliding window shorter than the longer prompts.
$make_random --out $out/mistral_window --architecture mistral --hidden 64 --intermediate 128 \
  --layers 2 --heads 4 --kv-heads 1 --sliding-window 7 --dtype bf16 --seed 4
# Fixed prompts: random token ids (bos first), lengths 1, 13 and 70.
/usr/bin/python3 - "$out" <<'PY'
import json, random, sys
rng = random.Random(2024)
prompts = [[256] + [rng.randrange(0, 320) for _ in range(n - 1)] for n in (1, 13, 70)]
with open(f"{sys.argv[1]}/prompts.json", "w") as f:
    json.dump({"prompts": prompts}, f)
PY
echo "wrote $out"
