#!/bin/sh
# infer.sh - ResNet-50's inference export (gen --infer) against the trainer's
# eval forward and PyTorch, side by side, in one run.
#
#   benchmarks/infer.sh [--threads N] [--steps N] [--rounds N]
#
# At 224x224x3, 3 classes: batch-1 latency and batch-8 throughput of the
# export (benchmarks/infer_bench.c), of the trainer's eval forward (profile
# --eval of trainers generated for batch 1 and batch 8) and of torchvision
# under torch.inference_mode() (benchmarks/torch_bench.py infer), on the
# same threads, alternating the three for --rounds rounds; each number is the
# median over rounds of the median call.  Then what the export costs to
# build: gen's time, the C's size, cc -O3's time and the object's size.
# The weights are one SGD step's on generated images: the timing does not
# depend on their values.  `make bench` runs this; `make bench-infer` alone.
set -eu

THREADS=2
STEPS=10
ROUNDS=3
while [ $# -gt 0 ]; do
    case "$1" in
    --threads) THREADS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "usage: infer.sh [--threads N] [--steps N] [--rounds N]" >&2; exit 2 ;;
    esac
done

DIR=build/bench/infer
PY=/usr/bin/python3
CFLAGS="-O3 -march=native -fopenmp"
defs="-D input=224x224x3 -D classes=3"
mkdir -p "$DIR"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for b in 1 8; do
    if [ ! -x "$DIR/resnet50-b$b" ]; then
        build/gen $defs -D batch=$b -o "$DIR/resnet50-b$b.c" networks/resnet50.lua
        cc $CFLAGS "$DIR/resnet50-b$b.c" -Iruntime -Lbuild -lflatnet -lstb -lcjson -lz -lm \
            -o "$DIR/resnet50-b$b"
    fi
done
if [ ! -f "$DIR/model.safetensors" ]; then
    build/shapes "$DIR/images" --per-class 3 --size 224 --seed 1 >/dev/null
    "$DIR/resnet50-b8" train --data "$DIR/images" --epochs 1 --threads "$THREADS" \
        --save "$DIR/model.safetensors" --overwrite >/dev/null
fi
gen_s=$( { /usr/bin/time -f %e build/gen --infer --weights "$DIR/model.safetensors" $defs \
    -o "$DIR/resnet50_infer" networks/resnet50.lua; } 2>&1)
cc_s=$( { /usr/bin/time -f %e cc $CFLAGS -c "$DIR/resnet50_infer.c" -o "$DIR/resnet50_infer.o"; } 2>&1)
cc $CFLAGS -I"$DIR" -DNET=resnet50_infer benchmarks/infer_bench.c "$DIR/resnet50_infer.o" -lm \
    -o "$DIR/infer_bench"

for f in e1 e8 t1 t8 p1 p8; do : >"$DIR/$f"; done
r=0
while [ $r -lt "$ROUNDS" ]; do
    for b in 1 8; do
        OMP_NUM_THREADS=$THREADS "$DIR/infer_bench" $b "$STEPS" |
            sed -n 's/.*images_per_s=\([0-9.]*\).*/\1/p' >>"$DIR/e$b"
        "$DIR/resnet50-b$b" profile --eval --threads "$THREADS" --steps "$STEPS" --warmup 3 |
            sed -n 's/^step: .* \([0-9.]*\) images\/s.*/\1/p' >>"$DIR/t$b"
        $PY benchmarks/torch_bench.py resnet50 $b 224x224x3 3 infer --threads "$THREADS" \
            --steps "$STEPS" --warmup 3 | sed -n 's/.*images_per_s=\([0-9.]*\).*/\1/p' >>"$DIR/p$b"
    done
    r=$((r + 1))
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "machine: $cpu, $(nproc) cores; $THREADS threads; $STEPS calls after 3 untimed, $ROUNDS rounds"
printf '\n%-34s %9s %9s %9s %9s %9s\n' "ResNet-50 224x224x3 (median)" export trainer PyTorch \
    "/trainer" "/PyTorch"
for b in 1 8; do
    e=$(median <"$DIR/e$b") t=$(median <"$DIR/t$b") p=$(median <"$DIR/p$b")
    if [ $b = 1 ]; then # latency: ms a call of one image
        awk -v e="$e" -v t="$t" -v p="$p" 'BEGIN { printf "%-34s %9.2f %9.2f %9.2f %8.2fx %8.2fx\n",
            "batch-1 latency, ms", 1e3 / e, 1e3 / t, 1e3 / p, e / t, e / p }'
    else
        awk -v e="$e" -v t="$t" -v p="$p" 'BEGIN { printf "%-34s %9.2f %9.2f %9.2f %8.2fx %8.2fx\n",
            "batch-8 throughput, images/s", e, t, p, e / t, e / p }'
    fi
done
src=$(wc -c <"$DIR/resnet50_infer.c")
obj=$(size -A "$DIR/resnet50_infer.o" | awk '$1 ~ /^\.(text|rodata|data)/ { s += $2 } END { print s }')
printf '\nexport: gen --infer %s s; resnet50_infer.c %.1f MB; cc -O3 -c %s s; text+data %.1f MB\n' \
    "$gen_s" "$(echo "$src" | awk '{ print $1 / 1e6 }')" "$cc_s" "$(echo "$obj" | awk '{ print $1 / 1e6 }')"
echo "(ratios: the export's speed over the other's; latency ratios too, so above 1 is faster)"
