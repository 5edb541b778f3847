#!/bin/sh
# tsan_train.sh NET SHAPES WORK - a small training run under ThreadSanitizer
# (test-tsan builds NET): two OpenMP threads in every kernel, the loader's
# prefetching thread with its own decoding threads, augmentation, validation
# each epoch, checkpoints, then evaluate and predict.  Reports go to the
# TSAN_OPTIONS log_path; this script checks the commands and that Archer,
# which tells TSan about OpenMP's synchronisation, was active.
set -u
NET=$1
SHAPES=$2
W=$3
rm -rf "$W" && mkdir -p "$W"
"$SHAPES" "$W/src" --per-class 12 --size 20 --seed 3 >/dev/null || exit 1
"$NET" split "$W/src" "$W/data" --seed 1 >/dev/null || exit 1
status=0
run() {
    if ! "$@" >"$W/out" 2>&1; then
        echo "tsan_train: FAIL: $*"
        tail -20 "$W/out"
        status=1
    fi
}
run "$NET" train --data "$W/data/train" --epochs 2 --threads 2 --augment flip,crop=2 \
    --cache-mb 0 --save "$W/m.safetensors"
grep -q "Archer detected OpenMP application with TSan" "$W/out" || {
    echo "tsan_train: FAIL: Archer was not active (is libomp's libarcher installed?)"
    status=1
}
run "$NET" train --resume "$W/m.safetensors" --epochs 3
run "$NET" evaluate --data "$W/data/test" --weights "$W/m.safetensors"
run "$NET" predict --weights "$W/m.safetensors" "$W/src/circle/"*.png
[ $status = 0 ] && echo "tsan_train: train, resume, evaluate, predict with 2 threads: done"
exit $status
