#!/bin/sh
# bench.sh - flatnet against PyTorch on this machine, side by side, in one run.
#
#   benchmarks/bench.sh [--threads N] [--steps N] [--rounds N]
#
# For each row the same network, batch and thread count is timed with
# flatnet's `profile` (the cost model's schedule, and the schedule build/tune
# measured on this machine) and with benchmarks/torch_bench.py (torchvision,
# SGD with momentum), alternating the three for --rounds rounds; each side's
# number is the median over its rounds of the median step time.  Peak resident
# memory is the largest of each side's rounds (GNU time's %M).  Tuning is
# cached in build/bench/tune-cache, so only the first run pays for it
# (--budget seconds a network at most).  `make bench` runs this after
# building and installing what it needs.
set -eu

THREADS=2
STEPS=10
ROUNDS=3
BUDGET=600
while [ $# -gt 0 ]; do
    case "$1" in
    --threads) THREADS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --budget) BUDGET=$2; shift 2 ;;
    *) echo "usage: bench.sh [--threads N] [--steps N] [--rounds N] [--budget S]" >&2; exit 2 ;;
    esac
done

DIR=build/bench
PY=/usr/bin/python3
mkdir -p "$DIR"

# name         network   batch input      classes mode
ROWS="resnet50-224-b8-train   resnet50 8  224x224x3 3  train
resnet18-224-b8-train   resnet18 8  224x224x3 3  train
resnet18-28x28x1-b64-train resnet18 64 28x28x1 10 train
resnet50-224-b8-infer   resnet50 8  224x224x3 3  eval"

. benchmarks/stats.sh
. benchmarks/trainer.sh

# flatnet trainers, one per network shape (inference reuses the training
# build): the cost model's, and the tuned one
echo "$ROWS" | while read -r name net batch input classes mode; do
    exe="$DIR/$net-$input-b$batch"
    defs="-D batch=$batch -D input=$input -D classes=$classes"
    # gen is cheap: a trainer is rebuilt when this gen writes other C for it
    build/gen $defs -o "$exe.new.c" "networks/$net.lua"
    if [ ! -x "$exe" ] || ! cmp -s "$exe.new.c" "$exe.c"; then
        mv "$exe.new.c" "$exe.c"
        rm -f "$exe.tuned"
        trainer_cc "$exe.c" "$exe"
    fi
    rm -f "$exe.new.c"
    if [ ! -x "$exe.tuned" ]; then
        /usr/bin/time -f "tune: $net $input b$batch: %e s" build/tune $defs --threads "$THREADS" \
            --budget "$BUDGET" --cache "$DIR/tune-cache" -o "$exe.sched" "networks/$net.lua" \
            >"$exe.tune.log"
        build/gen $defs -S "$exe.sched" -o "$exe.tuned.c" "networks/$net.lua"
        trainer_cc "$exe.tuned.c" "$exe.tuned"
    fi
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "machine: $cpu, $(nproc) cores; $THREADS threads; $STEPS steps after 3 untimed, $ROUNDS rounds"
echo "compilers: $(cc --version | head -n 1); PyTorch $($PY -c 'import torch; print(torch.__version__)')"
printf '\n%-28s %9s %9s %9s %7s %7s %9s %9s %7s %7s\n' "images/s (median)" flatnet tuned PyTorch \
    ratio tuned "flat MiB" "torch MiB" "peak %" tuned
echo "$ROWS" | while read -r name net batch input classes mode; do
    exe="$DIR/$net-$input-b$batch"
    eval_flag=""
    [ "$mode" = eval ] && eval_flag=--eval
    for f in flat tuned torch flat.rss torch.rss; do : >"$DIR/$name.$f"; done
    r=0
    while [ $r -lt "$ROUNDS" ]; do
        for side in flat tuned; do
            bin=$exe
            [ $side = tuned ] && bin=$exe.tuned
            /usr/bin/time -f %M -o "$DIR/rss" "$bin" profile --threads "$THREADS" --steps "$STEPS" \
                --warmup 3 $eval_flag >"$DIR/$name.out"
            sed -n 's/^step: .* \([0-9.]*\) images\/s.*= \([0-9.]*\)% of peak$/\1 \2/p' \
                "$DIR/$name.out" >>"$DIR/$name.$side"
            [ $side = flat ] && cat "$DIR/rss" >>"$DIR/$name.flat.rss"
        done
        /usr/bin/time -f %M -o "$DIR/rss" $PY benchmarks/torch_bench.py "$net" "$batch" "$input" \
            "$classes" "$mode" --threads "$THREADS" --steps "$STEPS" --warmup 3 >"$DIR/$name.tout"
        sed -n 's/.*images_per_s=\([0-9.]*\).*/\1/p' "$DIR/$name.tout" >>"$DIR/$name.torch"
        cat "$DIR/rss" >>"$DIR/$name.torch.rss"
        r=$((r + 1))
    done
    flat=$(cut -d' ' -f1 "$DIR/$name.flat" | median)
    peak=$(cut -d' ' -f2 "$DIR/$name.flat" | median)
    tuned=$(cut -d' ' -f1 "$DIR/$name.tuned" | median)
    tuned_peak=$(cut -d' ' -f2 "$DIR/$name.tuned" | median)
    torch=$(median <"$DIR/$name.torch")
    flat_mib=$(maximum <"$DIR/$name.flat.rss" | awk '{ printf "%.0f", $1 / 1024 }')
    torch_mib=$(maximum <"$DIR/$name.torch.rss" | awk '{ printf "%.0f", $1 / 1024 }')
    ratio=$(awk -v f="$flat" -v t="$torch" 'BEGIN { printf "%.2f", f / t }')
    tuned_ratio=$(awk -v f="$tuned" -v t="$torch" 'BEGIN { printf "%.2f", f / t }')
    printf '%-28s %9.2f %9.2f %9.2f %6sx %6sx %9s %9s %6s%% %6s%%\n' "$name" "$flat" "$tuned" \
        "$torch" "$ratio" "$tuned_ratio" "$flat_mib" "$torch_mib" "$peak" "$tuned_peak"
done
