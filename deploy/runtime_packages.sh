#!/usr/bin/env bash
# Prints, one per line, the Debian (or Ubuntu) packages that hold the shared libraries the given
# programs load. deploy/Dockerfile's build stage writes this list and its runtime stage installs
# exactly these packages, so the runtime image carries no compiler or -dev package, on either
# base (Debian for the CPU image, NVIDIA's Ubuntu-based CUDA images for the GPU one).
#   usage: runtime_packages.sh PROGRAM...
set -euo pipefail

# The package that owns `library`. Debian 12 merged /lib into /usr/lib, but dpkg still records
# some packages' files under /lib, so both spellings of the resolved path are asked about.
owner_of() {
  local resolved path owner
  resolved=$(realpath "$1")
  for path in "$resolved" "${resolved#/usr}" "$1"; do
    # "libfoo1:amd64: /usr/lib/...": the first owner's name.
    if owner=$(dpkg -S "$path" 2> /dev/null | head -n 1); then
      echo "${owner%%[:,]*}"
      return 0
    fi
  done
  echo "runtime_packages.sh: no package owns $1 (built outside a package?)" >&2
  return 1
}

libraries=$(ldd "$@")
if grep -q "not found" <<< "$libraries"; then
  echo "runtime_packages.sh: unresolved libraries:" >&2
  grep "not found" <<< "$libraries" >&2
  exit 1
fi
for library in $(awk '$2 == "=>" && $3 ~ /^\// {print $3}' <<< "$libraries" | sort -u); do
  owner_of "$library"
done | sort -u
