#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the specd server on the bundled default model:
# configs/serve_gpu.json (the CUDA runner) when nvidia-smi sees a GPU, else configs/serve_cpu.json.
# Talk to it from another terminal:  build/bin/specd-cli generate --prompt "def fibonacci(n):"
# Arguments go to `specd serve`, e.g. --listen 0.0.0.0:50051.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
config=configs/serve_cpu.json
if command -v nvidia-smi > /dev/null && nvidia-smi -L > /dev/null 2>&1; then config=configs/serve_gpu.json; fi
exec build/bin/specd serve --config "$config" "$@"
