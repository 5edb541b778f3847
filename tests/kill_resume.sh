#!/bin/bash
# kill_resume.sh - crash safety: training killed with SIGKILL again and again,
# at random moments, while a checkpoint file is being written, and between
# the renames that put a checkpoint and its optimizer state in place.  After
# every kill the last checkpoint must load, and training must resume from it;
# when the run is finally let finish, its weights, optimizer state and best
# model must be bitwise those of a run never interrupted.
#
#   tests/kill_resume.sh DIR SHAPES KILLS
#
# DIR holds net3 (resnet18, 16x16x3, width 8, batch 4) and stcmp; SHAPES is
# build/shapes.  Work files go to DIR/kill.  KILL_SEED=N repeats a sequence of
# kill moments (the default seed is 1).
set -u
DIR=$1
SHAPES=$2
KILLS=$3
NET=$DIR/net3
STCMP=$DIR/stcmp
W=$DIR/kill
rm -rf "$W" && mkdir -p "$W"
RANDOM=${KILL_SEED:-1}
DELAY_MS=30
EPOCHS=$((KILLS * 3 + 10))
# Sleeping OpenMP workers, not spinning ones: the delays make the trainer
# mostly idle, and on a busy machine spinning would slow it tenfold.
export OMP_WAIT_POLICY=passive

fail() {
    echo "kill_resume: FAIL: $*"
    exit 1
}

"$SHAPES" "$W/train" --per-class 6 --size 16 --seed 1 >/dev/null || exit 1
"$SHAPES" "$W/valid" --per-class 3 --size 16 --seed 2 >/dev/null || exit 1
common=(--data "$W/train" --valid "$W/valid" --batches 2 --epochs "$EPOCHS" --seed 7 --threads 2
        --lr 0.02 --augment flip,crop=2)

"$NET" train "${common[@]}" --save "$W/ref.safetensors" >"$W/ref.out" 2>&1 ||
    fail "the uninterrupted run failed: $(tail -3 "$W/ref.out")"

M=$W/m.safetensors
OPTIM=$W/m.optim.safetensors
BEST=$W/m.best.safetensors

# wait_until TEST...: polls every 5 ms until the test holds or the trainer
# has exited (at most 20 s); 0 when it held
wait_until() {
    local i
    for i in $(seq 4000); do
        "$@" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.005
    done
    return 1
}
# a temporary file written since this run started (one a kill left behind is
# stale: the next save of that file overwrites it)
writing() { [ -n "$(find "$W" -name '*.tmp' -newer "$W/started")" ]; }
# (a save writes FILE.XXXXXX.tmp, the sibling first)
between_renames() { compgen -G "$M.??????.tmp" >/dev/null && ! compgen -G "$OPTIM.??????.tmp" >/dev/null; }

# up to a second after the start: a few epochs of 2 steps (30 ms each) and 4
# saves (30 ms each)
random_moment() { sleep "$(printf '0.%03d' $((RANDOM % 1000)))"; }

killed=0 in_write=0 in_rename=0 finished=0
for k in $(seq "$KILLS"); do
    if [ -e "$M" ]; then
        args=(--resume "$M" --epochs "$EPOCHS")
    else
        args=("${common[@]}" --save "$M")
    fi
    mode=$((k % 4)) # 0: between the renames, 1: while writing, else: any moment
    [ $mode = 0 ] && rm -f "$W"/*.tmp # a stale temporary file would look like a save
    touch "$W/started"
    FLATNET_TEST_DELAY_MS=$DELAY_MS "$NET" train "${args[@]}" >"$W/run.out" 2>&1 &
    pid=$!
    case $mode in
    0) wait_until between_renames ;;
    1) wait_until writing && sleep "0.0$((RANDOM % 3))" ;;
    *) random_moment ;;
    esac
    if between_renames; then
        in_rename=$((in_rename + 1))
    elif writing; then
        in_write=$((in_write + 1))
    fi
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    status=$?
    if [ $status = 0 ]; then
        finished=1
        break
    fi
    [ $status = 137 ] || fail "kill $k: the trainer exited $status before the kill: $(tail -3 "$W/run.out")"
    killed=$((killed + 1))
    # what is on disk now must load into the network: the checkpoint and the best model
    for f in "$M" "$BEST"; do
        [ -e "$f" ] || continue
        "$NET" evaluate --data "$W/valid" --weights "$f" >"$W/eval.out" 2>&1 ||
            fail "kill $k: $f does not load: $(tail -3 "$W/eval.out")"
    done
done

# the last run, left to finish, resumes from whatever the kills left
if [ $finished = 0 ]; then
    if [ -e "$M" ]; then
        "$NET" train --resume "$M" --epochs "$EPOCHS" >"$W/run.out" 2>&1
    else
        "$NET" train "${common[@]}" --save "$M" >"$W/run.out" 2>&1
    fi || fail "resuming after the last kill failed: $(tail -3 "$W/run.out")"
fi
for pair in "$M $W/ref.safetensors" "$OPTIM $W/ref.optim.safetensors" \
            "$BEST $W/ref.best.safetensors"; do
    # shellcheck disable=SC2086
    "$STCMP" $pair >"$W/cmp" 2>&1 || fail "after $killed kills, $pair differ: $(cat "$W/cmp")"
done
"$NET" evaluate --data "$W/valid" --weights "$M" >"$W/eval.out" 2>&1 ||
    fail "evaluate after the kills: $(tail -3 "$W/eval.out")"
echo "kill_resume: $killed SIGKILLs ($in_write while a checkpoint file was written, $in_rename" \
    "between its renames), each checkpoint loaded and resumed; the final weights, optimizer" \
    "state and best model are bitwise those of the uninterrupted run"
[ $killed = "$KILLS" ] || fail "only $killed of $KILLS kills happened before training ended"
