#!/usr/bin/env bash
# On the GPU machine (it has tokenizers, transformers and torch): makes every reference file the
# tests compare against, and packs them into $OUT/references.tar.gz. Unpack here with
#   tar -xzf references.tar.gz      (from the repository root)
# Needs tests/data/hf_reference/ made first by make_reference_models.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?set OUT to the folder that comes back}"
export PYTHONUNBUFFERED=1
python3 tools/reference/make_tokenizer_references.py 2>&1 | tee "$OUT/tokenizer_references.log"
python3 tools/reference/make_model_logits.py tests/data/hf_reference 2>&1 | tee "$OUT/model_references.log"
tar -czf "$OUT/references.tar.gz" tests/data/tokenizers tests/data/hf_reference
