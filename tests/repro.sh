#!/bin/bash
# repro.sh - reproducibility: a fixed seed gives bitwise the same weights, run
# after run and at any thread count, because every kernel sums in a fixed
# order.  (Resuming after a kill gives the uninterrupted run's weights:
# kill_resume.sh.)
#
#   tests/repro.sh DIR SHAPES GEN
#
# DIR holds net3 and stcmp (tests/runtime.mk); work files go to DIR/repro.
#   1. two runs with the same seed and 2 threads: the same weights, optimizer
#      state and best model
#   2. 1 and 3 threads: the same again (conv and BN split their sums by
#      channel and by image, never by thread)
#   3. another seed: different weights (the comparison can fail)
#   4. the generated code of every target: each OpenMP loop has a static
#      schedule, none has an atomic, a critical section or a reduction (the
#      one reduction is the FMA probe's timing, not training arithmetic)
set -u
DIR=$1
SHAPES=$2
GEN=$3
NET=$DIR/net3
STCMP=$DIR/stcmp
W=$DIR/repro
rm -rf "$W" && mkdir -p "$W"
export OMP_WAIT_POLICY=passive
failures=0

fail() {
    echo "repro: FAIL: $*"
    failures=$((failures + 1))
}

"$SHAPES" "$W/train" --per-class 8 --size 16 --seed 4 >/dev/null || exit 1
"$SHAPES" "$W/valid" --per-class 3 --size 16 --seed 5 >/dev/null || exit 1
common=(--data "$W/train" --valid "$W/valid" --epochs 2 --lr 0.05 --nesterov --wd 1e-4
        --augment flip,crop=2)

# train NAME THREADS SEED: a run into $W/NAME.safetensors
train() {
    "$NET" train "${common[@]}" --threads "$2" --seed "$3" --save "$W/$1.safetensors" \
        >"$W/$1.out" 2>&1 || fail "$1: $(tail -3 "$W/$1.out")"
}

# same A B: every tensor of A and B bitwise equal, and of their optimizer
# state and best model
same() {
    local a b
    for suffix in "" .optim .best; do
        a=$W/$1$suffix.safetensors
        b=$W/$2$suffix.safetensors
        "$STCMP" "$a" "$b" >"$W/cmp" 2>&1 || fail "$1 and $2: $(cat "$W/cmp")"
    done
}

train a 2 11
train b 2 11
same a b
train one 1 11
train three 3 11
same a one
same a three
train other 2 12
"$STCMP" "$W/a.safetensors" "$W/other.safetensors" >/dev/null 2>&1 &&
    fail "seeds 11 and 12 gave the same weights"

# ---- the generated code's OpenMP pragmas ----
# check_pragmas FILE MIN: FILE has at least MIN pragmas, every one static
check_pragmas() {
    awk -v min="$2" '/#pragma omp/ {
        n++
        if ($0 ~ /atomic|critical|ordered|schedule\((dynamic|guided|auto|runtime)/ ||
            ($0 ~ /parallel for/ && $0 !~ /schedule\(static/) ||
            ($0 ~ /reduction/ && $0 !~ /reduction\(\+ : flops, checksum\) reduction\(max : seconds\)/))
            bad = bad "\n    " FILENAME ":" FNR ": " $0
    }
    END {
        if (bad != "") { print "repro: FAIL: pragmas whose result depends on the threads:" bad; exit 1 }
        if (n < min) { print "repro: FAIL: " FILENAME ": only " n " OpenMP pragmas"; exit 1 }
        print "repro: " FILENAME ": " n " OpenMP pragmas, each static"
    }' "$1" || failures=$((failures + 1))
}
for target in avx512 zen5 avx2 generic; do
    "$GEN" --target $target -o "$W/r50_$target.c" networks/resnet50.lua || fail "gen $target"
    check_pragmas "$W/r50_$target.c" 100
done
"$GEN" -D variant=tutorial -o "$W/tutorial.c" networks/resnet50.lua || fail "gen tutorial"
check_pragmas "$W/tutorial.c" 100
check_pragmas runtime/optim.c 4

[ $failures = 0 ] && echo "repro: seed 11 twice, and at 1, 2 and 3 threads: bitwise the same weights, optimizer state and best model"
[ $failures = 0 ]
