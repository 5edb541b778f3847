#!/bin/sh
# make_seeds.sh - writes fuzz/corpus/ (run from the repository root after
# `make`): the hand-made seeds of make_seeds.py, then real checkpoints of
# fuzz/tiny.lua, trained one epoch by its own trainer, for fuzz_checkpoint.
set -eu
/usr/bin/python3 fuzz/make_seeds.py
work=build/fuzz-seeds
rm -rf "$work" && mkdir -p "$work"
build/gen -o "$work/tiny.c" fuzz/tiny.lua
cc -O1 -march=native -fopenmp "$work/tiny.c" -Iruntime -Lbuild -lflatnet -lstb -lcjson -lm -lz -o "$work/tiny"
build/shapes "$work/images" --per-class 4 --size 8 --seed 1 >/dev/null
"$work/tiny" split "$work/images" "$work/data" --ratios 0.5,0.5,0 --seed 1 >/dev/null
"$work/tiny" train --data "$work/data/train" --epochs 1 --save "$work/sgd.safetensors" >/dev/null
"$work/tiny" train --data "$work/data/train" --epochs 1 --optimizer adam \
    --save "$work/adam.safetensors" >/dev/null
for f in sgd.safetensors sgd.best.safetensors adam.optim.safetensors; do
    cp "$work/$f" "fuzz/corpus/checkpoint/$f"
done
# checkpoint and sibling in one input (fuzz_checkpoint.c)
for opt in sgd adam; do
    /usr/bin/python3 -c 'import struct, sys
ck, sib = (open(f, "rb").read() for f in sys.argv[1:3])
open(sys.argv[3], "wb").write(b"PAIR" + struct.pack("<I", len(ck)) + ck + sib)' \
        "$work/$opt.safetensors" "$work/$opt.optim.safetensors" "fuzz/corpus/checkpoint/pair_$opt"
done
