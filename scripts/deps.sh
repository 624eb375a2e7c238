#!/usr/bin/env bash
# deps.sh -- make sure the Debian packages a make target needs are present.
#
#   scripts/deps.sh build|test|bench|fuzz|consumer
#
# consumer: what scripts/consumer-test.sh needs to build against the
# installed library as a user would (pkg-config and CMake).
#
# Missing packages are installed with apt-get when running as root;
# otherwise the exact command to run is printed and the script fails, so
# `make demo` / `make test` work on a fresh Debian machine in one step.
set -euo pipefail

what=${1:-build}
pkgs=(gcc make libatomic-ops-dev)
case "$what" in
  build) ;;
  test) pkgs+=(libcriterion-dev librsvg2-bin) ;;
  fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
  consumer) pkgs+=(pkgconf cmake) ;;
  bench) pkgs+=(libcriterion-dev libgc-dev libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev golang-go time) ;;
  *) echo "usage: $0 build|test|bench|fuzz|consumer" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "mgc: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${missing[@]}" >&2
else
  echo "mgc: missing packages: ${missing[*]}" >&2
  echo "mgc: run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
