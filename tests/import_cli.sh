#!/bin/sh
# import_cli.sh - the small-image ResNets and the import command end to end.
#
#   tests/import_cli.sh GEN WORK IDX_DIR R20 R18S
#
# GEN is build/gen; R20 and R18S are tiny trainers of networks/resnet20.lua
# and networks/resnet18_small.lua; IDX_DIR holds the synthetic IDX files that
# import_test wrote (3 classes, 40 training and 9 test images of 7x5 pixels).
# Checks the networks' parameter counts, then imports through the command line
# and trains and evaluates each trainer on the result, plots a history, then
# checks the command's errors.  Work files go to WORK.
set -u
GEN=$1
W=$2
IDX=$3
R20=$4
R18S=$5
rm -rf "$W" && mkdir -p "$W"
export OMP_NUM_THREADS=2
failures=0

fail() {
    echo "import_cli: FAIL: $*"
    failures=$((failures + 1))
}

# run NAME WANT_STATUS CMD...: runs CMD with its output in $W/out
run() {
    name=$1 want=$2
    shift 2
    "$@" >"$W/out" 2>&1
    got=$?
    if [ "$got" != "$want" ]; then
        fail "$name: exit status $got, expected $want: $*"
        sed 's/^/    /' "$W/out" | head -20
    fi
}

# expect NAME TEXT: the last run's output holds TEXT
expect() {
    grep -qF -- "$2" "$W/out" || { fail "$1: no '$2' in:"; sed 's/^/    /' "$W/out" | head -20; }
}

# Parameter counts: ResNet-20 with option B shortcuts (0.27M, the paper's
# count with option A is 269,722); ResNet-110 (the paper's 1.7M); the CIFAR
# ResNet-18 (torchvision's resnet18 with a 3x3 stem, 10 classes).
run "resnet20 size" 0 "$GEN" --summary networks/resnet20.lua
expect "resnet20 size" "total: 272,474 params"
run "resnet56 size" 0 "$GEN" --summary -D depth=56 networks/resnet20.lua
expect "resnet56 size" "total: 855,770 params"
run "resnet110 size" 0 "$GEN" --summary -D depth=110 networks/resnet20.lua
expect "resnet110 size" "total: 1,730,714 params"
run "resnet18_small size" 0 "$GEN" --summary networks/resnet18_small.lua
expect "resnet18_small size" "total: 11,173,962 params"
run "resnet18_small has no maxpool" 0 "$GEN" --summary networks/resnet18_small.lua
grep -q maxpool "$W/out" && fail "resnet18_small: a maxpool in its summary"
run "depth not 6n+2" 1 "$GEN" --summary -D depth=21 networks/resnet20.lua
expect "depth not 6n+2" "resnet20.lua:20: -D depth=21: must be 6n+2"

files="--train-images $IDX/train-images.gz --train-labels $IDX/train-labels
       --test-images $IDX/test-images --test-labels $IDX/test-labels.gz"
# shellcheck disable=SC2086
run "import" 0 "$R20" import $files --classes zero,one,two --valid-fraction 0.2 "$W/data"
expect "import" "all                           32       8       9"
for net in "$R20" "$R18S"; do
    n=$(basename "$net")
    run "$n train" 0 "$net" train --data "$W/data/train" --epochs 2 --lr 0.05 \
        --augment flip,crop=1 --log "$W/$n.csv" --save "$W/$n.safetensors"
    expect "$n train" "valid: $W/data/valid, 8 images"
    [ "$(wc -l <"$W/$n.csv")" = 3 ] || fail "$n: $W/$n.csv has no 2 epochs"
    run "$n evaluate" 0 "$net" evaluate --data "$W/data/test" \
        --weights "$W/$n.safetensors"
    expect "$n evaluate" "9 images"
done

# tools/plot.sh draws the history; a file that is no history is refused.
run "plot" 0 tools/plot.sh "$W/resnet20.csv" "$W/history.png" "ResNet-8"
[ "$(head -c 4 "$W/history.png" | od -An -c | tr -d ' ')" = "211PNG" ] ||
    fail "plot: $W/history.png is not a PNG"
run "plot of no history" 1 tools/plot.sh "$W/data/test/zero/00000.png" "$W/no.png"
expect "plot of no history" "not a training history"
[ -e "$W/no.png" ] && fail "plot of no history: $W/no.png was written"

# Errors: each names what is wrong, and DST stays as it was.
run "no files" 1 "$R20" import --from "$W/nowhere" "$W/d1"
expect "no files" "--train-images not given, and neither $W/nowhere/train-images-idx3-ubyte.gz"
[ -e "$W/d1" ] && fail "no files: $W/d1 was made"
# shellcheck disable=SC2086
run "bad classes" 2 "$R20" import $files --classes "a,,b" "$W/d2"
expect "bad classes" "--classes: class 2: an empty name"
# shellcheck disable=SC2086
run "too few classes" 1 "$R20" import $files --classes a,b "$W/d3"
expect "too few classes" "label 2 of item"
expect "too few classes" "there are 2 classes"
[ -e "$W/d3" ] && fail "too few classes: $W/d3 was made"
run "valid fraction 1" 2 "$R20" import --valid-fraction 1 "$W/d4"
expect "valid fraction 1" "--valid-fraction"
# shellcheck disable=SC2086
run "DST not empty" 1 "$R20" import $files --classes zero,one,two "$W/data"
expect "DST not empty" "exists and is not empty"
run "no DST" 2 "$R20" import
ls -a "$W" | grep -q '\.import' && fail "a hidden .import folder was left in $W"

if [ "$failures" -ne 0 ]; then
    echo "import_cli: $failures failed"
    exit 1
fi
echo "import_cli: networks, import, train and evaluate: all passed"
