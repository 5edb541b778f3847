#!/bin/bash
# accumulate.sh - gradient accumulation in one process (train --accumulate N,
# docs/DISTRIBUTED.md), on the tiny ResNet-8 of tests/mpi.mk:
#   1. --accumulate 1 is training without it, bit for bit; --accumulate 3
#      twice gives the same weights, and others than --accumulate 2's
#   2. at a learning rate of 1e-9 (the weights stay put), an epoch with
#      --accumulate 2 or 3 moves BN's running statistics as one without:
#      once per batch, in order (within float rounding: 1e-5), and counts the
#      same batches (num_batches_tracked, exactly)
#   3. checkpoints record accumulate and ranks
#   4. a run stopped mid-epoch (SIGTERM) and one killed (SIGKILL), each
#      resumed, end bitwise equal to the uninterrupted run
#   5. resumed mid-epoch with another --accumulate: the run goes on from the
#      batch where it stopped
#   6. bad values: --accumulate 0, and more batches an update than --data holds
#
#   tests/accumulate.sh DIR STCMP SHAPES
set -u
DIR=$1
STCMP=$2
SHAPES=$3
NET=$DIR/net
W=$DIR/accumulate
rm -rf "$W" && mkdir -p "$W"
export OMP_WAIT_POLICY=passive
. "$(dirname "$0")/group_lib.sh"
common=(--data "$W/train" --valid "$W/valid" --lr 0.05 --wd 1e-4 --augment flip,crop=2
        --threads 2)

# train NAME ARGS...: a run saving W/NAME.safetensors
train() {
    local name=$1
    shift
    run "$name" "$NET" train "$@" --save "$W/$name.safetensors"
}

# ---- 1. ----
train plain "${common[@]}" --epochs 3
train one "${common[@]}" --epochs 3 --accumulate 1
same plain one
train three "${common[@]}" --epochs 3 --accumulate 3
train three_again "${common[@]}" --epochs 3 --accumulate 3
same three three_again
train two "${common[@]}" --epochs 3 --accumulate 2
"$STCMP" "$W/two.safetensors" "$W/three.safetensors" >/dev/null 2>&1 &&
    fail "--accumulate 2 and 3 gave the same weights"

# ---- 2. ----
still=(--data "$W/train" --valid "$W/valid" --threads 2 --epochs 1 --lr 1e-9 --momentum 0 --wd 0)
train still1 "${still[@]}"
for n in 2 3; do
    train still$n "${still[@]}" --accumulate $n
    "$STCMP" --within 1e-5 "$W/still1.safetensors" "$W/still$n.safetensors" >"$W/cmp" 2>&1 ||
        fail "--accumulate $n moved the running statistics otherwise: $(cat "$W/cmp")"
done

# ---- 3. ----
header() { head -c 8192 "$W/$1.safetensors" | tr -d '\0'; }
header two | grep -q '"accumulate":"2"' && header two | grep -q '"ranks":"1"' ||
    fail "two.safetensors does not record accumulate 2 and ranks 1"

# ---- 4. ----
# stopped NAME SIGNAL: a --accumulate 2 run of 3 epochs (the delay makes an
# epoch of 6 updates last 0.6 s) sent SIGNAL mid-epoch, 0.3 s after its
# first checkpoint, then resumed to the end
stopped() {
    FLATNET_TEST_DELAY_MS=100 "$NET" train "${common[@]}" --epochs 3 --accumulate 2 \
        --save "$W/$1.safetensors" >"$W/$1.first.out" 2>&1 &
    local pid=$! i
    for i in $(seq 100); do
        [ -e "$W/$1.safetensors" ] && break
        sleep 0.05
    done
    sleep 0.3
    kill -"$2" $pid
    wait $pid 2>/dev/null
    echo $? >"$W/$1.status"
    train "$1" --resume "$W/$1.safetensors"
}
stopped term TERM
[ "$(cat "$W/term.status")" = 143 ] || fail "SIGTERM: exit $(cat "$W/term.status"), not 143"
grep -q "interrupted at epoch [23], step" "$W/term.first.out" ||
    fail "SIGTERM: not stopped mid-epoch: $(tail -2 "$W/term.first.out")"
same two term
stopped killed KILL
[ "$(cat "$W/killed.status")" = 137 ] || fail "SIGKILL: exit $(cat "$W/killed.status"), not 137"
same two killed

# ---- 5. ----
FLATNET_TEST_DELAY_MS=100 "$NET" train "${common[@]}" --epochs 2 --accumulate 2 \
    --save "$W/regroup.safetensors" >"$W/regroup.out" 2>&1 &
pid=$!
sleep 0.3
kill -TERM $pid
wait $pid 2>/dev/null
train regroup --resume "$W/regroup.safetensors" --accumulate 3
grep -q "this run uses 3: the run goes on from batch [1-9]" "$W/regroup.out" ||
    fail "resumed with --accumulate 3: no 'goes on from batch' in: $(head -3 "$W/regroup.out")"
"$STCMP" "$W/two.safetensors" "$W/regroup.safetensors" >/dev/null 2>&1 &&
    fail "resuming with --accumulate 3 changed nothing"

# ---- 6. ----
check zero 2 "--accumulate" "$NET" train "${common[@]}" --accumulate 0
check too_many 1 "fewer than one batch of 52 (ranks x --accumulate x batch)" \
    "$NET" train "${common[@]}" --accumulate 13

[ $failures = 0 ] && echo "accumulate: --accumulate 1, 2, 3 deterministic, running statistics once per batch, resumed after SIGTERM and SIGKILL bitwise, resumed with another N, bad values refused"
[ $failures = 0 ]
