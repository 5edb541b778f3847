#!/bin/sh
# fashion.sh - the full Fashion-MNIST run of docs/RESULTS.md, flatnet then
# PyTorch, the same network, recipe, threads and images.
#
#   benchmarks/fashion.sh [flatnet|torch|both]     (default both)
#
# flatnet: networks/resnet20.lua generated for 28x28x1, batch 128; the data
# set imported by `import` (54,000 train, 6,000 valid, 10,000 test); trained
# 10 epochs and tested after each one (the test set is only watched: the
# weights reported are the last epoch's, nothing is chosen by it); then
# `evaluate` on the test set.  PyTorch: benchmarks/fashion_torch.py on the
# same folders with the same recipe.  Everything goes to build/results/; the
# plots to docs/.  Run `make` first; PyTorch needs python3-torch and
# python3-torchvision (make bench installs them).
set -eu
. benchmarks/trainer.sh
WHICH=${1:-both}
R=build/results
EPOCHS=10
BATCH=128
RECIPE_FLAT="--epochs $EPOCHS --lr 0.1 --nesterov --wd 0.0005 --schedule cosine --augment flip --seed 1 --threads 2"
RECIPE_TORCH="--epochs $EPOCHS --batch $BATCH --lr 0.1 --nesterov --wd 5e-4 --schedule cosine --augment flip --seed 1 --threads 2"
TITLE="ResNet-20 on Fashion-MNIST, $EPOCHS epochs"

mkdir -p "$R"
build/gen -D depth=20 -D input=28x28x1 -D batch=$BATCH -D classes=10 -o "$R/resnet20.c" \
    networks/resnet20.lua
trainer_cc "$R/resnet20.c" "$R/resnet20"
[ -d "$R/fashion" ] || "$R/resnet20" import --seed 1 "$R/fashion"

if [ "$WHICH" != torch ]; then
    # shellcheck disable=SC2086
    "$R/resnet20" train --data "$R/fashion/train" --valid "$R/fashion/test" $RECIPE_FLAT \
        --log "$R/flatnet.csv" --save "$R/flatnet.safetensors" --overwrite
    "$R/resnet20" evaluate --data "$R/fashion/test" --weights "$R/flatnet.safetensors"
    tools/plot.sh "$R/flatnet.csv" docs/results-flatnet.png "flatnet: $TITLE" test
fi
if [ "$WHICH" != flatnet ]; then
    # shellcheck disable=SC2086
    /usr/bin/python3 benchmarks/fashion_torch.py --data "$R/fashion/train" \
        --valid "$R/fashion/test" --net resnet20 --depth 20 $RECIPE_TORCH --log "$R/torch.csv"
    tools/plot.sh "$R/torch.csv" docs/results-torch.png "PyTorch: $TITLE" test
fi
