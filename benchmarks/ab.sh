#!/bin/sh
# ab.sh - this tree's generated trainers against those of another revision,
# side by side in one run: did a generator change make the kernels faster?
#
#   benchmarks/ab.sh [--threads N] [--steps N] [--rounds N] [--calls] REV
#
# REV's gen and runtime are built in build/ab/base (a git worktree); each of
# bench.sh's networks is generated and compiled by both, with the same
# compiler and flags, and `profile` alternates base and this tree's trainer
# for --rounds rounds.  Each side's figure is the median over rounds of the
# median step; the ratio is this tree's images/s over the base's.  With
# --calls, the last round's per-kernel tables are kept in build/ab/ for a
# per-layer comparison.
set -eu

THREADS=2
STEPS=10
ROUNDS=3
CALLS=""
while [ $# -gt 1 ]; do
    case "$1" in
    --threads) THREADS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --calls) CALLS=--calls; shift ;;
    *) break ;;
    esac
done
if [ $# -ne 1 ]; then
    echo "usage: ab.sh [--threads N] [--steps N] [--rounds N] [--calls] REV" >&2
    exit 2
fi
REV=$1
# The commit, resolved here: inside the worktree, HEAD or a relative name
# like HEAD~1 would name the worktree's own commit, not this tree's.
COMMIT=$(git rev-parse --verify -q "$REV^{commit}") || { echo "ab.sh: no revision '$REV'" >&2; exit 2; }

DIR=build/ab
BASE=$DIR/base
mkdir -p "$DIR"
if [ -d "$BASE" ]; then
    git -C "$BASE" checkout -q --detach "$COMMIT"
else
    git worktree prune # a `make clean` removed an earlier one
    git worktree add -q --detach "$BASE" "$COMMIT"
fi
make -s -C "$BASE" build/gen build/libflatnet.a >"$DIR/base-build.log" 2>&1 ||
    { echo "ab.sh: building $REV failed (see $DIR/base-build.log)" >&2; exit 1; }
make -s build/gen build/libflatnet.a

. benchmarks/stats.sh
. benchmarks/trainer.sh

# name         network   batch input      classes mode (bench.sh's rows)
ROWS="resnet50-224-b8-train   resnet50 8  224x224x3 3  train
resnet18-224-b8-train   resnet18 8  224x224x3 3  train
resnet18-28x28x1-b64-train resnet18 64 28x28x1 10 train
resnet50-224-b8-infer   resnet50 8  224x224x3 3  eval"

# build SIDE TREE NET DEFS: the trainer of NET by TREE's gen and runtime
build() {
    exe="$DIR/$1-$3-$(echo "$4" | tr -c 'a-z0-9\n' _)"
    "$2/build/gen" $4 -o "$exe.c" "networks/$3.lua"
    trainer_cc "$exe.c" "$exe" "$2"
}

echo "$ROWS" | while read -r name net batch input classes mode; do
    defs="-D batch=$batch -D input=$input -D classes=$classes"
    [ "$mode" = eval ] && continue # the training build also runs inference
    build base "$BASE" "$net" "$defs"
    build this . "$net" "$defs"
done

echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores;" \
    "$THREADS threads; $STEPS steps after 3 untimed, $ROUNDS rounds alternating"
echo "base: $REV ($(git -C "$BASE" rev-parse --short HEAD)); this: $(git describe --always --dirty)"
printf '\n%-28s %10s %10s %7s %8s %8s\n' "images/s (median)" base this ratio "base %" "this %"
echo "$ROWS" | while read -r name net batch input classes mode; do
    defs="-D batch=$batch -D input=$input -D classes=$classes"
    tag=$(echo "$defs" | tr -c 'a-z0-9\n' _)
    eval_flag=""
    [ "$mode" = eval ] && eval_flag=--eval
    : >"$DIR/$name.base"
    : >"$DIR/$name.this"
    r=0
    while [ $r -lt "$ROUNDS" ]; do
        for side in base this; do
            "$DIR/$side-$net-$tag" profile --threads "$THREADS" --steps "$STEPS" --warmup 3 \
                $eval_flag $CALLS >"$DIR/$name.$side.out"
            sed -n 's/^step: .* \([0-9.]*\) images\/s.*= \([0-9.]*\)% of peak$/\1 \2/p' \
                "$DIR/$name.$side.out" >>"$DIR/$name.$side"
        done
        r=$((r + 1))
    done
    b=$(cut -d' ' -f1 "$DIR/$name.base" | median)
    t=$(cut -d' ' -f1 "$DIR/$name.this" | median)
    bp=$(cut -d' ' -f2 "$DIR/$name.base" | median)
    tp=$(cut -d' ' -f2 "$DIR/$name.this" | median)
    printf '%-28s %10.2f %10.2f %6.2fx %7s%% %7s%%\n' "$name" "$b" "$t" \
        "$(awk -v b="$b" -v t="$t" 'BEGIN { print t / b }')" "$bp" "$tp"
done
