#!/bin/bash
# mpi.sh - data-parallel training on this machine, side by side in one run
# (docs/DISTRIBUTED.md): R ranks x 1 thread against 1 process x R threads at
# the same global batch, and 1 process x 1 thread with --accumulate R.
#
#   benchmarks/mpi.sh [--ranks R] [--epochs N] [--rounds N]
#   benchmarks/mpi.sh --exchange [--ranks R]
#
# Each configuration trains the same network on the same images (build/shapes,
# no validation); its figure is the median over --rounds rounds (alternating
# the configurations) of the images/s of its last epoch (the first one also
# decodes the images into the cache), and, for the ranks, rank 0's seconds in
# the exchanges of that epoch (the gradient sum, the per-step records, BN's
# increments, including waiting for the slower rank).  Run after `make mpi`.
# OpenMP threads sleep when they wait (OMP_WAIT_POLICY=passive): on a shared
# machine spinning threads make a 2-thread run several times slower (30
# against 245 images/s here with a neighbour's compile running), which would
# measure the neighbours; OMP_WAIT_POLICY=active in the environment overrides.
# --exchange times the gradient sum alone (benchmarks/exchange.c) for the
# gradients of ResNet-18, -50 and -152.
set -eu
RANKS=2
EPOCHS=2
ROUNDS=3
EXCHANGE=0
while [ $# -gt 0 ]; do
    case "$1" in
    --ranks) RANKS=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --exchange) EXCHANGE=1; shift ;;
    *) echo "usage: mpi.sh [--ranks R] [--epochs N] [--rounds N] | --exchange [--ranks R]" >&2
       exit 2 ;;
    esac
done
DIR=build/bench-mpi
mkdir -p "$DIR"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

if [ $EXCHANGE = 1 ]; then
    mpicc -O2 -fopenmp -Iruntime -o "$DIR/exchange" benchmarks/exchange.c -Lbuild -lflatnet_mpi
    echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for floats in 11178051 23514179 58149955; do # ResNet-18, -50, -152 (gen --summary)
        OMP_NUM_THREADS=1 mpirun -np "$RANKS" --oversubscribe "$DIR/exchange" $floats 9 </dev/null
    done
    echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
    exit 0
fi

# name  network              batch  input    images
NETS="r20 resnet20.lua 32 32x32x3 2048
r18s resnet18_small.lua 16 32x32x3 512"

# last_epoch FILE: "images/s exchange-seconds" of the last epoch line
last_epoch() {
    tr '\r' '\n' <"$1" | grep -o "epoch $EPOCHS/$EPOCHS  lr.*" |
        sed -n 's/.* \([0-9.]*\) img\/s\(  (rank 0 exchanging \([0-9.]*\) s)\)\{0,1\}.*/\1 \3/p'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "machine: $(nproc) cores, OMP_WAIT_POLICY=$OMP_WAIT_POLICY; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-6s %-28s %10s %12s\n" net configuration "images/s" "exchange s"
echo "$NETS" | while read -r name lua batch input images; do
    per_class=$(((images + 2) / 3))
    [ -d "$DIR/$name-images" ] || build/shapes "$DIR/$name-images" --per-class $per_class --size 32 \
        --seed 1 >/dev/null
    big=$((batch * RANKS))
    [ -x "$DIR/$name-$big" ] || {
        build/gen -D batch=$big -D input=$input -D classes=3 -o "$DIR/$name-$big.c" networks/$lua
        cc -O3 -march=native -fopenmp "$DIR/$name-$big.c" -Iruntime -Lbuild -lflatnet -lstb -lcjson \
            -lm -lz -o "$DIR/$name-$big"
    }
    [ -x "$DIR/$name-$batch-mpi" ] || {
        build/gen -D batch=$batch -D input=$input -D classes=3 -o "$DIR/$name-$batch.c" networks/$lua
        mpicc -O3 -march=native -fopenmp "$DIR/$name-$batch.c" -Iruntime -Lbuild -lflatnet_mpi \
            -lstb -lcjson -lm -lz -o "$DIR/$name-$batch-mpi"
    }
    common=(--data "$DIR/$name-images" --epochs "$EPOCHS" --lr 0.01 --save "$DIR/m.safetensors")
    for round in $(seq "$ROUNDS"); do
        "$DIR/$name-$big" train "${common[@]}" --threads "$RANKS" >"$DIR/$name-threads-$round.out"
        mpirun -np "$RANKS" --oversubscribe "$DIR/$name-$batch-mpi" train "${common[@]}" --threads 1 \
            </dev/null >"$DIR/$name-ranks-$round.out" # mpirun reads stdin: not NETS
        "$DIR/$name-$batch-mpi" train "${common[@]}" --threads 1 --accumulate "$RANKS" \
            >"$DIR/$name-acc-$round.out"
    done
    for config in threads ranks acc; do
        case $config in
        threads) what="1 process x $RANKS threads, b=$big" ;;
        ranks) what="$RANKS ranks x 1 thread, b=$batch" ;;
        acc) what="1 x 1 thread, --accumulate $RANKS" ;;
        esac
        rate=$(for r in $(seq "$ROUNDS"); do last_epoch "$DIR/$name-$config-$r.out"; done |
               awk '{ print $1 }' | median)
        wait_s=$(for r in $(seq "$ROUNDS"); do last_epoch "$DIR/$name-$config-$r.out"; done |
                 awk '{ print ($2 == "" ? 0 : $2) }' | median)
        [ $config = ranks ] || wait_s="-"
        printf "%-6s %-28s %10s %12s\n" "$name" "$what" "$rate" "$wait_s"
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
