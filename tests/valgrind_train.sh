#!/bin/sh
# valgrind_train.sh NET SHAPES WORK - valgrind memcheck on a small training
# run: train with validation and augmentation, resume, resume with
# --accumulate 2 (group.c's sum and BN replay), evaluate, predict.
# Fails on any memcheck error (invalid reads or writes, uses of uninitialised
# values, bad frees) and on any leak that is definitely or indirectly lost.
set -u
NET=$1
SHAPES=$2
W=$3
rm -rf "$W" && mkdir -p "$W"
command -v valgrind >/dev/null || { echo "valgrind_train: valgrind is not installed"; exit 1; }
"$SHAPES" "$W/src" --per-class 6 --size 16 --seed 3 >/dev/null || exit 1
"$NET" split "$W/src" "$W/data" --ratios 0.5,0.25,0.25 --seed 1 >/dev/null || exit 1
# two OpenMP threads: memcheck runs them one at a time, but every thread's
# code and stack is checked
export OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive
status=0
n=0
vg() {
    n=$((n + 1))
    log=$W/valgrind.$n.log
    if ! valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
            --track-origins=yes --log-file="$log" "$@" >"$W/out" 2>&1; then
        echo "valgrind_train: FAIL: $*"
        tail -5 "$W/out"
        grep -A12 -m3 -E "Invalid|uninitialised|definitely lost|indirectly lost|Mismatched" "$log"
        status=1
    fi
    grep -h "ERROR SUMMARY" "$log" | sed "s|^==[0-9]*==|valgrind_train: $2:|"
}
vg "$NET" train --data "$W/data/train" --epochs 2 --augment flip,crop=2 --save "$W/m.safetensors"
vg "$NET" train --resume "$W/m.safetensors" --epochs 3
vg "$NET" train --resume "$W/m.safetensors" --epochs 4 --accumulate 2
vg "$NET" evaluate --data "$W/data/test" --weights "$W/m.safetensors"
vg "$NET" predict --weights "$W/m.safetensors" --top 2 "$W/src/circle/"*.png
exit $status
