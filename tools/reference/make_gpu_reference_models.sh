#!/usr/bin/env bash
# Makes the small random models the CUDA runner is compared on against Hugging Face transformers
# in bf16 (tests/data/gpu_reference/), with the head dims the CUDA kernels support (64, 128), and
# the prompts to run them on. Runs here; make_gpu_references.py then runs on the GPU machine.
# usage: tools/reference/make_gpu_reference_models.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR}
out=tests/data/gpu_reference
make_random="$build/bin/specd-model make-random --vocab 320 --hidden 128 --intermediate 256 --layers 2 --max-position 512"
rm -rf "$out/models" "$out/prompts.json" && mkdir -p "$out/models"
# 1. Llama, GQA 4 (4 query heads on 1 KV head), head dim 64.
$make_random --out $out/models/llama_gqa4_hd64 --heads 4 --kv-heads 1 --head-dim 64 --dtype bf16 --seed 21
# 2. Llama, GQA 8, head dim 128, llama3 rope scaling, tied embeddings, weights in fp16.
$make_random --out $out/models/llama3_gqa8_hd128_tied --heads 8 --kv-heads 1 --head-dim 128 \
  --llama3-rope-scaling --rope-theta 500000 --tie-embeddings --dtype fp16 --seed 22
# 3. Qwen2: q/k/v biases, plain multi-head attention (GQA 1), weights in fp32.
$make_random --out $out/models/qwen2_bias_mha --architecture qwen2 --heads 4 --kv-heads 4 --head-dim 64 \
  --rope-theta 1000000 --dtype fp32 --seed 23
# 4. Mistral with a sliding window shorter than the longer prompts and not a block multiple.
$make_random --out $out/models/mistral_window --architecture mistral --heads 4 --kv-heads 1 --head-dim 64 \
  --sliding-window 9 --dtype bf16 --seed 24
# Fixed prompts: random token ids (bos first), lengths 1, 13, 70 and 150.
/usr/bin/python3 - "$out" <<'PY'
import json, random, sys
rng = random.Random(2025)
prompts = [[256] + [rng.randrange(0, 320) for _ in range(n - 1)] for n in (1, 13, 70, 150)]
with open(f"{sys.argv[1]}/prompts.json", "w") as f:
    json.dump({"prompts": prompts}, f)
PY
echo "wrote $out"
