#!/bin/sh
# train_learns.sh BUILD_DIR SHAPES TRAINER - a tiny ResNet-18 trains end to end
# on an image folder written with stb_image_write (tools/shapes.c): its loss
# falls and its test accuracy ends well above chance (3 classes: 33%).
set -eu
dir=$1/learn-run
shapes=$2
net=$3
rm -rf "$dir" && mkdir -p "$dir"
"$shapes" "$dir/images" --per-class 200 --size 32 --seed 2 >/dev/null
"$net" split "$dir/images" "$dir/data" --seed 1 >/dev/null
"$net" train --data "$dir/data/train" --epochs 16 --lr 0.02 --seed 2 --threads 2 \
    --log "$dir/history.csv" --save "$dir/model.safetensors" >"$dir/train.out"
"$net" evaluate --data "$dir/data/test" --weights "$dir/model.best.safetensors" >"$dir/eval.out"

# history.csv: epoch,lr,train_loss,train_acc,valid_loss,valid_acc,...
first=$(awk -F, 'NR == 2 { print $3 }' "$dir/history.csv")
last=$(awk -F, 'END { print $3 }' "$dir/history.csv")
acc=$(sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' "$dir/eval.out" | head -n 1)
echo "train_learns: train loss $first -> $last, test accuracy $acc% (chance 33%)"
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < 0.6 * f) }' ||
    { echo "train_learns: FAIL: the loss did not fall to 60% of its first epoch's"; exit 1; }
awk -v a="$acc" 'BEGIN { exit !(a >= 60) }' ||
    { echo "train_learns: FAIL: test accuracy $acc% is not above 60%"; exit 1; }
