#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the default test suite (every [cpu] test; the
# [slow] and [gpu] ones are left out).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
ctest --test-dir build -L cpu --output-on-failure
