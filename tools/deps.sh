#!/bin/sh
# deps.sh - installs the Debian packages flatnet needs that are missing.
# Called by `make deps`; everything else in the Makefile depends on it.
set -eu

# build: compiler, Lua (embedded in gen), stb (images), cJSON (checkpoint
# headers), zlib (IDX import); tests: CMocka; reference: PyTorch with OpenBLAS
# (without libopenblas0-openmp torch falls back to reference BLAS and is slow);
# demo: Zalando's Fashion-MNIST and gnuplot (tools/plot.sh).
PACKAGES="gcc make pkg-config liblua5.4-dev libstb-dev libcmocka-dev libcjson-dev
zlib1g-dev python3 python3-torch python3-torchvision libopenblas0-openmp libxsmm-dev
dataset-fashion-mnist gnuplot-nox"

# `deps.sh hardening` (make test-sanitize, test-valgrind, fuzz) adds clang
# with its sanitizer and libFuzzer runtimes, LLVM's OpenMP (whose Archer
# tool ThreadSanitizer needs), and valgrind.
if [ "${1:-}" = hardening ]; then
    PACKAGES="$PACKAGES clang libclang-rt-14-dev libomp-14-dev valgrind"
fi

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps: not root and no sudo; run as root: apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
