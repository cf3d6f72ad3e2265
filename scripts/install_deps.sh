#!/usr/bin/env bash
# Installs specd's build and test dependencies, all Debian 12 packages. The CUDA toolkit (nvcc,
# cuBLAS) is expected under /usr/local/cuda; without it the CUDA kernels are left out.
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends \
  build-essential cmake ninja-build pkg-config ca-certificates \
  nlohmann-json3-dev libspdlog-dev catch2 libpcre2-dev libutf8proc-dev libssl-dev \
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libcpp-httplib-dev \
  python3 python3-grpcio python3-protobuf python3-matplotlib python3-yaml
