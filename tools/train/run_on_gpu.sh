#!/usr/bin/env bash
# run_on_gpu.sh: the one command that trains and measures the specd model pair on the GPU machine.
#
# Run from the repository root (with .corpus/python_stdlib.tar.gz carried over, see
# pack_corpus.sh) as:   bash tools/train/run_on_gpu.sh
# Steps: tokenizer + token streams -> target -> draft -> evaluation. Everything is written
# under $WORK; only these come back, in $OUT (5 files, each under 16 MB):
#   train.log                        the whole log
#   specd-code-target.tar.part0, 1   tar of the target folder, cut by `split -b 15M`
#   specd-code-draft.tar.part0       tar of the draft folder
#   report.json                      measurements for write_models_readme.py
# Each model is packed into $OUT right after it is saved, so a late failure keeps it.
# Unpack: cat specd-code-target.tar.part* | tar -x -C models/
# Budgets (seconds of training, wall clock) and the seed come from the environment.
set -euo pipefail

: "${OUT:?set OUT to the output directory}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TRAIN="$ROOT/tools/train"
CORPUS="${CORPUS:-$ROOT/.corpus/python_stdlib.tar.gz}"
WORK="${WORK:-/tmp/specd-train}"
TARGET_BUDGET_S="${TARGET_BUDGET_S:-270}"
DRAFT_BUDGET_S="${DRAFT_BUDGET_S:-90}"
SEED="${SEED:-1234}"
export PYTHONUNBUFFERED=1 PYTHONHASHSEED=0 TOKENIZERS_PARALLELISM=true

pack() {  # pack NAME: tar $WORK/models/NAME into $OUT/NAME.tar.partN (15 MiB pieces)
  tar -C "$WORK/models" --sort=name --owner=0 --group=0 --numeric-owner --mtime='@0' \
      -cf - "$1" | split -b 15M -d -a 1 - "$OUT/$1.tar.part"
  ls -l "$OUT/$1".tar.part*
}

main() {
  echo "== specd model pair: $(date -u +%FT%TZ) target ${TARGET_BUDGET_S}s draft ${DRAFT_BUDGET_S}s seed $SEED"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  python3 -c 'import sys, importlib.metadata as m; print("python", sys.version.split()[0], *(f"{p} {m.version(p)}" for p in ("torch", "transformers", "tokenizers", "safetensors", "numpy")))' || true
  [[ -f "$CORPUS" ]] || { echo "missing corpus $CORPUS (run tools/train/pack_corpus.sh and carry .corpus)"; exit 1; }
  rm -rf "$WORK"
  mkdir -p "$WORK/models"

  echo "== tokenizer ($SECONDS s)"
  python3 "$TRAIN/train_tokenizer.py" --corpus "$CORPUS" --out-dir "$WORK/data"

  echo "== target ($SECONDS s)"
  python3 "$TRAIN/train_model.py" --size target --data-dir "$WORK/data" \
      --out "$WORK/models/specd-code-target" --stats-out "$WORK/target_stats.json" \
      --budget-s "$TARGET_BUDGET_S" --batch 32 --lr 2e-3 --dropout 0.1 \
      --eval-every-s 20 --seed "$SEED"
  pack specd-code-target

  echo "== draft ($SECONDS s)"
  python3 "$TRAIN/train_model.py" --size draft --data-dir "$WORK/data" \
      --out "$WORK/models/specd-code-draft" --stats-out "$WORK/draft_stats.json" \
      --budget-s "$DRAFT_BUDGET_S" --batch 32 --lr 3e-3 --dropout 0.0 \
      --eval-every-s 10 --seed "$SEED"
  pack specd-code-draft

  echo "== evaluate ($SECONDS s)"
  python3 "$TRAIN/evaluate.py" --target "$WORK/models/specd-code-target" \
      --draft "$WORK/models/specd-code-draft" --data-dir "$WORK/data" \
      --train-stats "$WORK/target_stats.json" "$WORK/draft_stats.json" \
      --out "$OUT/report.json" --seed "$SEED"

  echo "== done in $SECONDS s"
  ls -l "$OUT"
}

mkdir -p "$OUT"
main 2>&1 | tee "$OUT/train.log"
