#!/bin/sh
# infer.sh - ResNet-50's inference export (gen --infer) against the trainer's
# eval forward and PyTorch, side by side, in one run.
#
#   benchmarks/infer.sh [--threads N] [--steps N] [--rounds N]
#
# At 224x224x3, 3 classes: batch-1 latency and batch-8 throughput of the
# export (benchmarks/infer_bench.c; exports for --block 1 and --block 8), of
# the trainer's eval forward (profile --eval of trainers generated for batch
# 1 and batch 8) and of torchvision under torch.inference_mode()
# (benchmarks/torch_bench.py infer), on the same threads, alternating the
# three for --rounds rounds; each number is the median over rounds of the
# median call, and beside it the fastest call of all (on a loaded machine,
# the one least disturbed).  "passed" is the block-1 export made with
# --separate-weights, its weights read into the heap: the same kernels, the
# weights in anonymous memory rather than in the program's file-backed
# pages.  Then what the block-1 export costs to build: gen's time, the C's
# size, cc -O3's time and the object's size.
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
build/gen --infer --separate-weights --weights "$DIR/model.safetensors" $defs \
    -o "$DIR/resnet50_passed" networks/resnet50.lua
cc $CFLAGS -I"$DIR" -DNET=resnet50_passed -DSEPARATE_WEIGHTS benchmarks/infer_bench.c \
    "$DIR/resnet50_passed.c" -lm -o "$DIR/infer_bench_passed"
for b in 8 1; do # block 1 last: its times are the ones reported
    gen_s=$( { /usr/bin/time -f %e build/gen --infer --block $b --weights \
        "$DIR/model.safetensors" $defs -o "$DIR/resnet50_infer$b" networks/resnet50.lua; } 2>&1)
    cc_s=$( { /usr/bin/time -f %e cc $CFLAGS -c "$DIR/resnet50_infer$b.c" \
        -o "$DIR/resnet50_infer$b.o"; } 2>&1)
    cc $CFLAGS -I"$DIR" -DNET=resnet50_infer$b benchmarks/infer_bench.c "$DIR/resnet50_infer$b.o" \
        -lm -o "$DIR/infer_bench$b"
done

for f in e1 e8 s1 t1 t8 p1 p8; do : >"$DIR/$f"; done
r=0
while [ $r -lt "$ROUNDS" ]; do
    for b in 1 8; do
        # each: "images/s fastest-ms" into $DIR/<side><batch>
        OMP_NUM_THREADS=$THREADS "$DIR/infer_bench$b" $b "$STEPS" |
            sed -n 's/.*images_per_s=\([0-9.]*\) fastest_ms=\([0-9.]*\).*/\1 \2/p' >>"$DIR/e$b"
        [ $b = 1 ] && OMP_NUM_THREADS=$THREADS "$DIR/infer_bench_passed" 1 "$STEPS" \
            "$DIR/resnet50_passed.bin" |
            sed -n 's/.*images_per_s=\([0-9.]*\) fastest_ms=\([0-9.]*\).*/\1 \2/p' >>"$DIR/s1"
        "$DIR/resnet50-b$b" profile --eval --threads "$THREADS" --steps "$STEPS" --warmup 3 |
            sed -n 's/^step: .*(fastest \([0-9.]*\)), \([0-9.]*\) images\/s.*/\2 \1/p' >>"$DIR/t$b"
        $PY benchmarks/torch_bench.py resnet50 $b 224x224x3 3 infer --threads "$THREADS" \
            --steps "$STEPS" --warmup 3 |
            sed -n 's/.*images_per_s=\([0-9.]*\) fastest_s=\([0-9.]*\).*/\1 \2/p' |
            awk '{ print $1, 1e3 * $2 }' >>"$DIR/p$b"
    done
    r=$((r + 1))
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "machine: $cpu, $(nproc) cores; $THREADS threads; $STEPS calls after 3 untimed, $ROUNDS rounds"
minimum() { sort -g | head -n 1; }
printf '\n%-30s %9s %9s %9s %9s %9s %9s\n' "ResNet-50 224x224x3" export passed trainer \
    PyTorch "/trainer" "/PyTorch"
for b in 1 8; do
    for k in 1 2; do # 1: the medians; 2: the fastest calls
        if [ $k = 1 ]; then pick=median; else pick=minimum; fi
        e=$(cut -d' ' -f$k "$DIR/e$b" | $pick) t=$(cut -d' ' -f$k "$DIR/t$b" | $pick)
        p=$(cut -d' ' -f$k "$DIR/p$b" | $pick) sep=-
        [ $b = 1 ] && sep=$(cut -d' ' -f$k "$DIR/s1" | $pick)
        awk -v b=$b -v k=$k -v e="$e" -v s="$sep" -v t="$t" -v p="$p" 'BEGIN {
            if (k == 2) { # ms -> images/s
                e = b * 1e3 / e; t = b * 1e3 / t; p = b * 1e3 / p; if (s != "-") s = b * 1e3 / s }
            what = b == 1 ? "batch-1 latency, ms" : "batch-8 throughput, images/s"
            ps = s == "-" ? sprintf("%9s", "-") : sprintf("%9.2f", b == 1 ? 1e3 / s : s)
            printf "%-30s %9.2f %s %9.2f %9.2f %8.2fx %8.2fx\n", what (k == 1 ? "" : ", fastest"),
                b == 1 ? 1e3 / e : e, ps, b == 1 ? 1e3 / t : t, b == 1 ? 1e3 / p : p, e / t, e / p }'
    done
done
src=$(wc -c <"$DIR/resnet50_infer1.c")
obj=$(size -A "$DIR/resnet50_infer1.o" | awk '$1 ~ /^\.(text|rodata|data)/ { s += $2 } END { print s }')
printf '\nexport (--block 1): gen --infer %s s; the C %.1f MB; cc -O3 -c %s s; text+data %.1f MB\n' \
    "$gen_s" "$(echo "$src" | awk '{ print $1 / 1e6 }')" "$cc_s" "$(echo "$obj" | awk '{ print $1 / 1e6 }')"
echo "(medians over rounds of each side's median call, and the fastest call of all; ratios:"
echo " the export's speed over the other's, latency too, so above 1 is faster)"
