#!/bin/bash
# mpi.sh - data-parallel training on this machine, side by side in one run
# (docs/DISTRIBUTED.md): R ranks x 1 thread against 1 process x R threads at
# the same global batch, the ranks with the gradient sum beside backward (in
# buckets, runtime/buckets.h) and after it (FLATNET_BUCKET_BYTES=0), and
# 1 process x 1 thread with --accumulate R.
#
#   benchmarks/mpi.sh [--ranks R] [--epochs N] [--rounds N] [--bucket BYTES]
#   benchmarks/mpi.sh --exchange [--ranks R]
#
# Each configuration trains the same network on the same images (build/shapes,
# no validation); its figure is the median over --rounds rounds (alternating
# the configurations) of the images/s of its last epoch (the first one also
# decodes the images into the cache), and, for the ranks, the seconds rank 0's
# training thread waited on exchanges in that epoch ("waited": the gradient sum,
# or what of it was not done when backward ended, the per-step records, BN's
# increments, including waiting for the slower rank; also per update) and the
# seconds the bucket thread spent beside backward ("beside").  --bucket sets
# FLATNET_BUCKET_BYTES for the overlapped ranks (default: the runtime's).  Run
# after `make mpi` (make bench-mpi does both).
# OpenMP threads sleep when they wait (OMP_WAIT_POLICY=passive): on a shared
# machine spinning threads make a 2-thread run several times slower (30
# against 245 images/s here with a neighbour's compile running), which would
# measure the neighbours; OMP_WAIT_POLICY=active in the environment overrides.
# --exchange times the gradient sum alone (benchmarks/exchange.c) for the
# gradients of ResNet-18, -50 and -152.
set -eu
. benchmarks/trainer.sh
RANKS=2
EPOCHS=2
ROUNDS=3
EXCHANGE=0
BUCKET=""
while [ $# -gt 0 ]; do
    case "$1" in
    --ranks) RANKS=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --exchange) EXCHANGE=1; shift ;;
    --bucket) BUCKET=$2; shift 2 ;;
    *) echo "usage: mpi.sh [--ranks R] [--epochs N] [--rounds N] [--bucket BYTES] |" \
            "--exchange [--ranks R]" >&2
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

# last_epoch FILE: "images/s waited beside" of the last epoch line (0 where absent)
last_epoch() {
    tr '\r' '\n' <"$1" | grep -o "epoch $EPOCHS/$EPOCHS  lr.*" |
        sed -n 's/.* \([0-9.]*\) img\/s\(  (rank 0 exchanging \([0-9.]*\) s\(; \([0-9.]*\) s beside backward\)\{0,1\})\)\{0,1\}.*/\1 \3 \5/p' |
        awk '{ print $1, ($2 == "" ? 0 : $2), ($3 == "" ? 0 : $3) }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "machine: $(nproc) cores, OMP_WAIT_POLICY=$OMP_WAIT_POLICY; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-6s %-36s %10s %9s %9s %9s\n" net configuration "images/s" "waited s" "ms/update" \
    "beside s"
echo "$NETS" | while read -r name lua batch input images; do
    per_class=$(((images + 2) / 3))
    [ -d "$DIR/$name-images" ] || build/shapes "$DIR/$name-images" --per-class $per_class --size 32 \
        --seed 1 >/dev/null
    big=$((batch * RANKS))
    [ "$DIR/$name-$big" -nt build/libflatnet.a ] || {
        build/gen -D batch=$big -D input=$input -D classes=3 -o "$DIR/$name-$big.c" networks/$lua
        trainer_cc "$DIR/$name-$big.c" "$DIR/$name-$big"
    }
    [ "$DIR/$name-$batch-mpi" -nt build/libflatnet_mpi.a ] || {
        build/gen -D batch=$batch -D input=$input -D classes=3 -o "$DIR/$name-$batch.c" networks/$lua
        mpicc -O3 -march=native -fopenmp "$DIR/$name-$batch.c" -Iruntime -Lbuild -lflatnet_mpi \
            -lstb -lcjson -lm -lz -o "$DIR/$name-$batch-mpi"
    }
    common=(--data "$DIR/$name-images" --epochs "$EPOCHS" --lr 0.01 --save "$DIR/m.safetensors"
            --overwrite)
    for round in $(seq "$ROUNDS"); do
        "$DIR/$name-$big" train "${common[@]}" --threads "$RANKS" >"$DIR/$name-threads-$round.out"
        # mpirun reads stdin: not NETS
        ${BUCKET:+env FLATNET_BUCKET_BYTES=$BUCKET} mpirun -np "$RANKS" --oversubscribe \
            "$DIR/$name-$batch-mpi" train "${common[@]}" --threads 1 </dev/null \
            >"$DIR/$name-ranks-$round.out"
        FLATNET_BUCKET_BYTES=0 mpirun -np "$RANKS" --oversubscribe "$DIR/$name-$batch-mpi" train \
            "${common[@]}" --threads 1 </dev/null >"$DIR/$name-after-$round.out"
        "$DIR/$name-$batch-mpi" train "${common[@]}" --threads 1 --accumulate "$RANKS" \
            >"$DIR/$name-acc-$round.out"
    done
    for config in threads ranks after acc; do
        case $config in
        threads) what="1 process x $RANKS threads, b=$big" ;;
        ranks) what="$RANKS ranks x 1 thread, b=$batch, beside" ;;
        after) what="$RANKS ranks x 1 thread, b=$batch, after" ;;
        acc) what="1 x 1 thread, --accumulate $RANKS" ;;
        esac
        column() {
            for r in $(seq "$ROUNDS"); do last_epoch "$DIR/$name-$config-$r.out"; done |
                awk -v c="$1" '{ print $c }' | median
        }
        rate=$(column 1) wait_s=$(column 2) beside_s=$(column 3)
        per_update=$(awk -v s="$wait_s" -v u=$((images / big)) 'BEGIN { printf "%.1f", 1e3 * s / u }')
        case $config in
        threads | acc) wait_s="-" per_update="-" beside_s="-" ;;
        after) beside_s="-" ;;
        esac
        printf "%-6s %-36s %10s %9s %9s %9s\n" "$name" "$what" "$rate" "$wait_s" "$per_update" \
            "$beside_s"
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
