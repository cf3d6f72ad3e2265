#!/usr/bin/env bash
# Installs the dependencies, builds, and runs specd on the bundled default model.
# Arguments replace the default prompt: scripts/run.sh --prompt "class Stack:" --max-tokens 100
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
[ $# -gt 0 ] || set -- --prompt "def fibonacci(n):" --max-tokens 80
build/bin/specd generate "$@"
