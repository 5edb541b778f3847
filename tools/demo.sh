#!/bin/sh
# demo.sh - the README's main job, start to finish, on a real data set:
# Zalando's Fashion-MNIST (70,000 28x28 gray images of ten kinds of clothing;
# Debian's dataset-fashion-mnist, which `make demo` installs) is imported into
# image folders, a ResNet is generated and compiled for it, trained with
# validation, and evaluated on the 10,000 test images.
#
# The settings are these variables; `make demo` runs this after building.
# The defaults (a ResNet-14, 5 epochs) take about 5 minutes on 2 cores and
# reach about 92.7% test accuracy; docs/RESULTS.md has a longer run of a
# ResNet-20 and the same run in PyTorch.
set -eu

FASHION=/usr/share/datasets/fashion-mnist  # the IDX files (import --from)
VALID=0.1                    # share of each training class held out as valid
NET=resnet20                 # networks/$NET.lua: He et al.'s ResNets for small images
DEPTH=14                     # its 6n+2 layers: 8, 14, 20, 32, 44, 56, 110
BATCH=64                     # images a step (baked into the generated code)
EPOCHS=5
LR=0.05                      # SGD with Nesterov momentum 0.9
WD=0.0005                    # weight decay
SCHEDULE=cosine              # constant, step or cosine
AUGMENT=flip                 # flip, crop=PAD, or none
DIR=build/demo               # everything the demo writes

TRAINER=$DIR/resnet$DEPTH
rm -rf "$DIR"
mkdir -p "$DIR"
echo "== 1. generate and compile $NET at depth $DEPTH (28x28x1, batch $BATCH, 10 classes)"
build/gen -D depth=$DEPTH -D input=28x28x1 -D batch=$BATCH -D classes=10 \
    -o "$TRAINER.c" "networks/$NET.lua"
cc -O3 -march=native -fopenmp "$TRAINER.c" -Iruntime -Lbuild -lflatnet -lstb -lcjson -lm -lz \
    -o "$TRAINER"

echo "== 2. import Fashion-MNIST into $DIR/fashion/{train,valid,test}/<class>/"
"$TRAINER" import --from "$FASHION" --valid-fraction "$VALID" --seed 1 "$DIR/fashion"

echo "== 3. train $EPOCHS epochs, validating on $DIR/fashion/valid"
"$TRAINER" train --data "$DIR/fashion/train" --epochs "$EPOCHS" --lr "$LR" --nesterov \
    --wd "$WD" --schedule "$SCHEDULE" --augment "$AUGMENT" \
    --log "$DIR/history.csv" --save "$DIR/model.safetensors"

echo "== 4. evaluate on the 10,000 test images"
"$TRAINER" evaluate --data "$DIR/fashion/test" --weights "$DIR/model.safetensors" \
    >"$DIR/evaluate.txt"
cat "$DIR/evaluate.txt"
if command -v gnuplot >/dev/null 2>&1; then
    tools/plot.sh "$DIR/history.csv" "$DIR/history.png" "Fashion-MNIST, ResNet-$DEPTH"
fi
accuracy=$(sed -n 's/.*accuracy \([0-9.]*%\).*/\1/p' "$DIR/evaluate.txt" | head -n 1)
echo "== Fashion-MNIST test accuracy: $accuracy (ResNet-$DEPTH, $EPOCHS epochs)"
