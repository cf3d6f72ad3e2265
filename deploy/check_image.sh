#!/usr/bin/env bash
# Builds the CPU image with podman on a machine that can build images but cannot run containers
# (and reaches no image registry), which runs the image's smoke test as its last build step:
#   1. installs podman and debootstrap (apt) when missing;
#   2. makes a Debian 12 base image with debootstrap and `podman import` (kept and reused);
#   3. podman build --isolation=chroot --format docker -f deploy/Dockerfile, on that base for both
#      stages; the build fails unless deploy/smoke_test.sh passes inside the image;
#   4. checks the built image's settings: user, entrypoint, command, health check, ports, config.
# The ctest `deploy_image` (label slow, not in the default run): 5 to 10 minutes on two cores from
# nothing, mostly installing the build dependencies and compiling specd inside the image.
#   usage: bash deploy/check_image.sh     (root or sudo)
#   SPECD_IMAGE (specd:cpu-check), SPECD_BASE_IMAGE (localhost/specd-debian:bookworm) and
#   SPECD_DEBIAN_MIRROR (http://deb.debian.org/debian) override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly IMAGE=${SPECD_IMAGE:-specd:cpu-check}
readonly BASE_IMAGE=${SPECD_BASE_IMAGE:-localhost/specd-debian:bookworm}
readonly MIRROR=${SPECD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

install_tools() {
  command -v podman > /dev/null && command -v debootstrap > /dev/null && return 0
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends podman debootstrap
}

# A minimal Debian 12 root file system with the same apt sources as the official debian:12 image.
make_base_image() {
  if $sudo podman image exists "$BASE_IMAGE"; then
    echo "check_image: reusing base image $BASE_IMAGE"
    return 0
  fi
  local rootfs
  rootfs=$(mktemp -d)
  $sudo debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR"
  $sudo tee "$rootfs/etc/apt/sources.list" > /dev/null << SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
  $sudo rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  $sudo tar -C "$rootfs" -c . | $sudo podman import - "$BASE_IMAGE"
  $sudo rm -rf "$rootfs"
}

build_image() {
  $sudo podman build --isolation=chroot --format docker -f deploy/Dockerfile -t "$IMAGE" \
    --build-arg BUILD_IMAGE="$BASE_IMAGE" --build-arg RUNTIME_IMAGE="$BASE_IMAGE" .
}

# $1: a Go template over the image's inspect data, $2: the value it must have.
expect_setting() {
  local actual
  actual=$($sudo podman image inspect --format "$1" "$IMAGE")
  if [ "$actual" != "$2" ]; then
    echo "check_image: $IMAGE: $1 is '$actual', expected '$2'" >&2
    return 1
  fi
}

check_settings() {
  expect_setting '{{.Config.User}}' 10001
  expect_setting '{{json .Config.Entrypoint}}' '["specd"]'
  expect_setting '{{json .Config.Cmd}}' '["serve","--listen","0.0.0.0:50051"]'
  expect_setting '{{json .Config.Healthcheck.Test}}' \
    '["CMD","specd-cli","--server","127.0.0.1:50051","--timeout-s","3","health","--service","specd.v1.Generation"]'
  expect_setting '{{range $port, $_ := .Config.ExposedPorts}}{{$port}} {{end}}' '50051/tcp 9400/tcp '
  $sudo podman image inspect --format '{{json .Config.Env}}' "$IMAGE" | grep -q '"SPECD_CONFIG=configs/serve_cpu.json"' \
    || { echo "check_image: $IMAGE does not set SPECD_CONFIG=configs/serve_cpu.json" >&2; return 1; }
}

started=$SECONDS
install_tools
make_base_image
build_image
check_settings
echo "check_image: OK: $IMAGE built, smoke-tested and checked in $(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s"
$sudo podman image ls "$IMAGE"
