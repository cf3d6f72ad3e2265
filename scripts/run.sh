#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the specd server on the bundled default model
# (configs/serve_cpu.json: the CPU runner; the GPU presets come with the CUDA runner).
# Talk to it from another terminal:  build/bin/specd-cli generate --prompt "def fibonacci(n):"
# Arguments go to `specd serve`, e.g. --listen 0.0.0.0:50051.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
exec build/bin/specd serve --config configs/serve_cpu.json "$@"
