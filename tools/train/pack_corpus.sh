#!/usr/bin/env bash
# pack_corpus.sh: packs the training corpus for the specd model pair (runs on the dev machine).
#
# The corpus is the Python standard library of this Debian machine (/usr/lib/python3.11):
# every regular *.py file except
#   - test suites (any path component test/, tests/, idle_test/) and site-/dist-packages,
#   - machine-generated data files that are not code: the charmap codec tables
#     ("Python Character Mapping Codec ...": encodings/cp*.py, mac_*.py, ...) and
#     pydoc_data/topics.py.
# Output: <repo>/.corpus/python_stdlib.tar.gz (kept out of git; the GPU run reads it).
# The archive is byte-for-byte reproducible: sorted file list, fixed owner and mtime, gzip -n.
#
# Usage: bash tools/train/pack_corpus.sh [STDLIB_DIR]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="${1:-/usr/lib/python3.11}"
OUT_DIR="$ROOT/.corpus"
OUT="$OUT_DIR/python_stdlib.tar.gz"

[[ -d "$SRC" ]] || { echo "no such directory: $SRC" >&2; exit 1; }
mkdir -p "$OUT_DIR"
ALL="$(mktemp)"; LIST="$(mktemp)"
trap 'rm -f "$ALL" "$LIST"' EXIT

# Candidate files, relative to SRC, in C-locale sorted order.
(cd "$SRC" && find . -type f -name '*.py' -print) \
  | sed 's|^\./||' \
  | grep -Ev '(^|/)(test|tests|idle_test|site-packages|dist-packages|__pycache__)/' \
  | grep -Ev '^pydoc_data/topics\.py$' \
  | LC_ALL=C sort > "$ALL"

# Drop the codec tables (grep -L keeps files WITHOUT the marker), then sort again.
(cd "$SRC" && xargs -d '\n' grep -L 'Character Mapping Codec' < "$ALL") | LC_ALL=C sort > "$LIST"

tar -C "$SRC" --no-recursion --owner=0 --group=0 --numeric-owner \
    --mtime='2000-01-01 00:00:00Z' --mode='u=rw,go=r' \
    -cf - -T "$LIST" | gzip -9 -n > "$OUT"

count=$(wc -l < "$LIST")
src_bytes=$(cd "$SRC" && xargs -d '\n' cat < "$LIST" | wc -c)
echo "packed $count files ($src_bytes bytes of source) from $SRC"
echo "$OUT: $(stat -c %s "$OUT") bytes, sha256 $(sha256sum "$OUT" | cut -d' ' -f1)"
