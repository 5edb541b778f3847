#!/bin/sh
# demo.sh - the README's main job, start to finish, on a dataset it makes.
# Change the settings here; `make demo` runs this after building.
set -eu

NET=resnet18                 # networks/$NET.lua
INPUT=48x48x3                # images are resized to this (HxWxC)
BATCH=16
WIDTH=16                     # channels of the stem and of layer1
PER_CLASS=300                # images per class (circle, square, triangle)
EPOCHS=6
LR=0.02
DIR=build/demo

rm -rf "$DIR"
mkdir -p "$DIR"
echo "== 1. a dataset: $((3 * PER_CLASS)) images of three shapes"
build/shapes "$DIR/shapes" --per-class "$PER_CLASS" --size 48 --seed 1

echo "== 2. generate and compile $NET ($INPUT, batch $BATCH, width $WIDTH)"
build/gen -D input=$INPUT -D batch=$BATCH -D width=$WIDTH -D classes=3 \
    -o "$DIR/$NET.c" "networks/$NET.lua"
cc -O3 -march=native -fopenmp "$DIR/$NET.c" -Iruntime -Lbuild -lflatnet -lstb -lcjson -lm -lz \
    -o "$DIR/$NET"

echo "== 3. split 60/20/20 into train, valid and test"
"$DIR/$NET" split "$DIR/shapes" "$DIR/dataset" --ratios 0.6,0.2,0.2 --seed 1

echo "== 4. train $EPOCHS epochs with validation"
"$DIR/$NET" train --data "$DIR/dataset/train" --valid "$DIR/dataset/valid" \
    --epochs "$EPOCHS" --lr "$LR" --save "$DIR/model.safetensors"

echo "== 5. evaluate on the test set"
"$DIR/$NET" evaluate --data "$DIR/dataset/test" --weights "$DIR/model.safetensors"
