#!/bin/bash
# buckets.sh - the gradient sum across ranks beside backward, in buckets
# (runtime/buckets.h), on mpi.sh's ResNet-8 (17,000 gradient floats):
#   1. buckets of 256 bytes (about 270 of them a step, summed while backward
#      still writes the others): R = 2, 3, 4 ranks end bitwise as one
#      process with --accumulate R, so no bucket is lost, summed twice, summed
#      before backward finished it, or summed out of rank order
#   2. 2 ranks x --accumulate 2 (the bucket thread adds the last batch into
#      the sum): bucketed, with buckets of 1000 bytes (not whole cache lines),
#      and without overlap (FLATNET_BUCKET_BYTES=0) end bitwise the same
#   3. FLATNET_BUCKET_BYTES that is not a size: named, exit 1, nothing written
#
#   tests/buckets.sh DIR STCMP SHAPES
set -u
DIR=$1
STCMP=$2
SHAPES=$3
NET=$DIR/net
MNET=$DIR/net_mpi
W=$DIR/work-buckets
rm -rf "$W" && mkdir -p "$W"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
# buckets BYTES ARGS...: mpirun ARGS with FLATNET_BUCKET_BYTES=BYTES
buckets() {
    local bytes=$1
    shift
    FLATNET_BUCKET_BYTES=$bytes timeout -k 5 60 mpirun --oversubscribe "$@"
}
. "$(dirname "$0")/group_lib.sh"
common=(--data "$W/train" --valid "$W/valid" --lr 0.05 --nesterov --wd 1e-4 --augment flip,crop=2
        --threads 1 --epochs 2)

# ---- 1. tiny buckets = --accumulate R ----
for R in 2 3 4; do
    run acc$R "$NET" train "${common[@]}" --accumulate $R --save "$W/acc$R.safetensors"
    run tiny$R buckets 256 -np $R "$MNET" train "${common[@]}" \
        --save "$W/tiny$R.safetensors"
    same acc$R tiny$R
    grep -q "beside backward" "$W/tiny$R.out" ||
        fail "tiny$R: the sum did not run beside backward: $(tail -2 "$W/tiny$R.out")"
done

# ---- 2. ranks x --accumulate: bucketed = after backward ----
run after buckets 0 -np 2 "$MNET" train "${common[@]}" --accumulate 2 \
    --save "$W/after.safetensors"
grep -q "beside backward" "$W/after.out" && fail "FLATNET_BUCKET_BYTES=0 still overlapped"
for bytes in 256 1000; do
    run b$bytes buckets $bytes -np 2 "$MNET" train "${common[@]}" \
        --accumulate 2 --save "$W/b$bytes.safetensors"
    same after b$bytes
done

# ---- 3. not a size ----
for bad in 12Q -4 4MB ""; do
    buckets "$bad" -np 2 "$MNET" train "${common[@]}" \
        --save "$W/bad.safetensors" >"$W/bad.out" 2>&1 && fail "FLATNET_BUCKET_BYTES='$bad' ran"
    grep -q "FLATNET_BUCKET_BYTES=$bad: not a size" "$W/bad.out" ||
        fail "FLATNET_BUCKET_BYTES='$bad': not named: $(head -3 "$W/bad.out")"
    [ -e "$W/bad.safetensors" ] && fail "FLATNET_BUCKET_BYTES='$bad' wrote a checkpoint"
done

[ $failures = 0 ] && echo "buckets: 256-byte buckets on 2-4 ranks bitwise = --accumulate 2-4; 2 ranks x --accumulate 2 bucketed = summed after backward; a bad FLATNET_BUCKET_BYTES named"
[ $failures = 0 ]
