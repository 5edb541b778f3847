#!/bin/sh
# deps.sh - installs the Debian packages a make target needs that are missing.
#
#   tools/deps.sh [build|test|bench|demo|hardening]    (default: build)
#
# make deps runs `build`; make test, make bench, make demo and the sanitizer
# targets run theirs, each adding its extras to what building needs.
set -eu

# build and train: compiler, Lua (embedded in gen), stb (images), cJSON
# (checkpoint headers), zlib (IDX import), Open MPI (make mpi, mpirun)
BUILD_PACKAGES="gcc make pkg-config liblua5.4-dev libstb-dev libcjson-dev zlib1g-dev
openmpi-bin libopenmpi-dev"

# make test: CMocka; gnuplot for tests/import_cli.sh's plots (tools/plot.sh);
# PyTorch and torchvision for tests/torch_compat.py, with OpenBLAS (without
# libopenblas0-openmp torch falls back to reference BLAS and is slow)
TORCH_PACKAGES="python3 python3-torch python3-torchvision libopenblas0-openmp"
TEST_PACKAGES="libcmocka-dev gnuplot-nox $TORCH_PACKAGES"

# make bench: PyTorch beside flatnet, LIBXSMM for the per-layer table
BENCH_PACKAGES="$TORCH_PACKAGES libxsmm-dev"

# make demo: Zalando's Fashion-MNIST and gnuplot (tools/plot.sh); no PyTorch
DEMO_PACKAGES="dataset-fashion-mnist gnuplot-nox"

# make test-sanitize, test-valgrind, fuzz: the test suite's packages, clang
# with its sanitizer and libFuzzer runtimes, LLVM's OpenMP (whose Archer tool
# ThreadSanitizer needs), and valgrind
HARDENING_PACKAGES="$TEST_PACKAGES clang libclang-rt-14-dev libomp-14-dev valgrind"

case "${1:-build}" in
build) extra="" ;;
test) extra=$TEST_PACKAGES ;;
bench) extra=$BENCH_PACKAGES ;;
demo) extra=$DEMO_PACKAGES ;;
hardening) extra=$HARDENING_PACKAGES ;;
*) echo "deps: build, test, bench, demo or hardening, got '$1'" >&2; exit 2 ;;
esac
PACKAGES="$BUILD_PACKAGES $extra"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
    *"install ok installed"*) ;;
    *) case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac ;;
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
