#!/bin/bash
# mpi.sh - data-parallel training over MPI (docs/DISTRIBUTED.md), on a tiny
# ResNet-8 (12x12x3, width 4, batch 4), one thread a rank:
#   1. R = 1, 2, 3, 4 ranks end with bitwise the weights, BN running
#      statistics, optimizer state and best model of one process with
#      --accumulate R (and --accumulate 2 and 3 differ: the check can fail)
#   2. the MPI trainer run without mpirun is the plain trainer, bit for bit
#   3. a run resumed with another R continues it: 2 ranks, then 3, equal one
#      process with --accumulate 2, then 3
#   4. evaluate on 3 ranks counts each of 9 images once: the same report as
#      one process
#   5. ranks whose --data holds other classes, a rank running a trainer
#      generated with another batch, a rank whose --data is missing, and
#      ranks evaluating different folders: each named, every rank stops
#   6. a rank killed with SIGKILL: the job stops within seconds, naming the
#      rank; the last checkpoint loads.  A rank sent SIGTERM: every rank stops
#      after the same update, and the resumed run is the uninterrupted one
#   7. a plain trainer under mpirun, and a command that writes files (split)
#      under mpirun, are refused
#   8. the plain libflatnet.a holds no MPI symbol
#
#   tests/mpi.sh DIR STCMP SHAPES PLAIN_LIB
#
# DIR holds net (plain), net_mpi and net2_mpi (batch 2) from tests/mpi.mk.
set -u
DIR=$1
STCMP=$2
SHAPES=$3
PLAIN_LIB=$4
NET=$DIR/net
MNET=$DIR/net_mpi
MNET2=$DIR/net2_mpi
W=$DIR/work
rm -rf "$W" && mkdir -p "$W"
# Open MPI as root, more ranks than cores, shared memory only, quietly.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
# a hung job fails the test instead of hanging it
mpi() { timeout -k 5 60 mpirun --oversubscribe "$@"; }
. "$(dirname "$0")/group_lib.sh"
common=(--data "$W/train" --valid "$W/valid" --lr 0.05 --nesterov --wd 1e-4 --augment flip,crop=2
        --threads 1)

# ---- 1. R ranks = --accumulate R ----
for R in 1 2 3 4; do
    run acc$R "$NET" train "${common[@]}" --epochs 2 --accumulate $R --save "$W/acc$R.safetensors"
    run mpi$R mpi -np $R "$MNET" train "${common[@]}" --epochs 2 --save "$W/mpi$R.safetensors"
    same acc$R mpi$R
done
grep -q "4 ranks x --accumulate 1 x batch 4: 16 images an update" "$W/mpi4.out" ||
    fail "4 ranks: no '16 images an update' in $(head -5 "$W/mpi4.out")"
"$STCMP" "$W/acc2.safetensors" "$W/acc3.safetensors" >/dev/null 2>&1 &&
    fail "--accumulate 2 and 3 gave the same weights"

# ---- 2. the MPI trainer without mpirun ----
run solo "$MNET" train "${common[@]}" --epochs 2 --accumulate 2 --save "$W/solo.safetensors"
same acc2 solo

# ---- 3. resumed with another R ----
run acc_a "$NET" train "${common[@]}" --epochs 1 --accumulate 2 --save "$W/acc_r.safetensors"
run acc_b "$NET" train --resume "$W/acc_r.safetensors" --epochs 2 --accumulate 3
run mpi_a mpi -np 2 "$MNET" train "${common[@]}" --epochs 1 --save "$W/mpi_r.safetensors"
run mpi_b mpi -np 3 "$MNET" train --resume "$W/mpi_r.safetensors" --epochs 2
same acc_r mpi_r
"$STCMP" "$W/acc_r.safetensors" "$W/acc2.safetensors" >/dev/null 2>&1 &&
    fail "resuming with 3 batches an update changed nothing"

# ---- 4. evaluate on 3 ranks: every image once ----
run eval1 "$NET" evaluate --data "$W/valid" --weights "$W/acc2.safetensors"
run eval3 mpi -np 3 "$MNET" evaluate --data "$W/valid" --weights "$W/acc2.safetensors"
report() { sed -n '/^loss/,$p' "$W/$1.out"; }
grep -q "(.* of 9)" "$W/eval3.out" || fail "evaluate on 3 ranks: not 9 images: $(report eval3)"
[ "$(report eval1)" = "$(report eval3)" ] ||
    fail "evaluate on 3 ranks differs from one process: $(report eval3)"

# ---- 5. ranks that differ ----
# must_stop NAME MESSAGE CMD...: CMD fails within the timeout, saying MESSAGE
must_stop() {
    local name=$1 message=$2
    shift 2
    "$@" >"$W/$name.out" 2>&1
    local status=$?
    [ $status != 0 ] || fail "$name: the job succeeded"
    [ $status != 124 ] && [ $status != 137 ] || fail "$name: the job hung"
    grep -q "$message" "$W/$name.out" || fail "$name: no '$message' in: $(tail -5 "$W/$name.out")"
}
# (folders not named train, so that neither validates)
cp -r "$W/train" "$W/same" && cp -r "$W/train" "$W/other"
mv "$W/other/circle" "$W/other/disc"
must_stop classes "rank 1's class list in --data" \
    mpi -np 1 "$MNET" train --data "$W/same" --save "$W/x.safetensors" : \
        -np 1 "$MNET" train --data "$W/other" --save "$W/x.safetensors"
must_stop network "rank 1's network" \
    mpi -np 1 "$MNET" train "${common[@]}" --save "$W/x.safetensors" : \
        -np 1 "$MNET2" train "${common[@]}" --save "$W/x.safetensors"
must_stop missing "rank 1 of 2 failed" \
    mpi -np 1 "$MNET" train "${common[@]}" --save "$W/x.safetensors" : \
        -np 1 "$MNET" train "${common[@]}" --data "$W/nowhere" --save "$W/x.safetensors"
[ -e "$W/x.safetensors" ] && fail "a job stopped at its start wrote a checkpoint"
must_stop eval_folders "rank 1's folder (its classes or files) differs" \
    mpi -np 1 "$MNET" evaluate --data "$W/valid" --weights "$W/acc2.safetensors" : \
        -np 1 "$MNET" evaluate --data "$W/same" --weights "$W/acc2.safetensors"

# rank_pid R: the process id of rank R of the job running $MNET train
rank_pid() {
    local p
    for p in $(pgrep -f "$MNET train"); do
        grep -qz "^OMPI_COMM_WORLD_RANK=$1\$" "/proc/$p/environ" 2>/dev/null && echo "$p"
    done
}

# ---- 6. a rank killed ----
FLATNET_TEST_DELAY_MS=100 mpi -np 2 "$MNET" train "${common[@]}" --epochs 100 \
    --save "$W/k.safetensors" >"$W/kill.out" 2>&1 &
job=$!
for _ in $(seq 200); do # the first checkpoint, then the rank's pid
    [ -e "$W/k.safetensors" ] && break
    sleep 0.1
done
victim=$(rank_pid 1)
if [ -z "$victim" ]; then
    fail "killed rank: no rank 1 found: $(tail -3 "$W/kill.out")"
    kill "$job" 2>/dev/null
else
    killed_at=$(date +%s)
    kill -KILL "$victim"
    wait "$job"
    status=$?
    took=$(($(date +%s) - killed_at))
    [ $status != 0 ] || fail "killed rank: the job exited 0"
    [ $status != 124 ] && [ $took -le 10 ] || fail "killed rank: the job took $took s to stop"
    grep -q "process rank 1 with PID .* exited on signal 9" "$W/kill.out" ||
        fail "killed rank: rank 1 and signal 9 not named: $(tail -8 "$W/kill.out")"
    run kill_eval "$NET" evaluate --data "$W/valid" --weights "$W/k.safetensors"
    echo "mpi: rank 1 killed: the job stopped in $took s, exit $status"
fi
wait

# ---- 6b. one rank asked to stop: every rank stops after the same update, rank 0
# saves, and the resumed run is the uninterrupted one ----
# (12 updates of 0.3 s: the signal comes 1 s after rank 1 started)
FLATNET_TEST_DELAY_MS=300 mpi -np 2 "$MNET" train "${common[@]}" --epochs 2 \
    --save "$W/t.safetensors" >"$W/term.out" 2>&1 &
job=$!
victim=""
for _ in $(seq 100); do
    victim=$(rank_pid 1)
    [ -n "$victim" ] && break
    sleep 0.1
done
sleep 1
if [ -z "$victim" ]; then
    fail "SIGTERM: no rank 1 found: $(tail -3 "$W/term.out")"
else
    kill -TERM "$victim"
fi
wait "$job"
status=$?
[ $status = 143 ] || fail "SIGTERM to rank 1: exit $status, not 143: $(tail -3 "$W/term.out")"
run term_resume mpi -np 2 "$MNET" train --resume "$W/t.safetensors"
same mpi2 t

# ---- 7. refused ----
must_stop plain "linked with the plain libflatnet" mpi -np 2 "$NET" train "${common[@]}"
must_stop split "split runs in one process" mpi -np 2 "$MNET" split "$W/train" "$W/parts"
[ -e "$W/parts" ] && fail "split under mpirun wrote $W/parts"

# ---- 8. the plain library ----
nm "$PLAIN_LIB" | grep -i mpi >"$W/nm.out" && fail "$PLAIN_LIB has MPI symbols: $(head -3 "$W/nm.out")"

[ $failures = 0 ] && echo "mpi: 1-4 ranks bitwise = --accumulate 1-4, resumed on 3 ranks, evaluate once per image, mismatches and a killed rank stop the job, a stopped rank resumes bitwise"
[ $failures = 0 ]
