#!/bin/bash
# runtime_cli.sh - the trainer's command line end to end, on small generated
# trainers: every command, resuming bit for bit, interruption, kills and full
# disks while saving, NaN losses, and the bad inputs of issue 3, each checked
# for its message and for what it must leave untouched.
#
#   tests/runtime_cli.sh DIR SHAPES
#
# DIR holds net3 and net5 (resnet18, 16x16x3, width 8, batch 4, 3 and 5
# classes) and stcmp; SHAPES is build/shapes.  Work files go to DIR/cli.
set -u
DIR=$1
SHAPES=$2
NET=$DIR/net3
NET5=$DIR/net5
STCMP=$DIR/stcmp
W=$DIR/cli
rm -rf "$W"
mkdir -p "$W"
export OMP_NUM_THREADS=2
failures=0
checks=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# run NAME WANT_STATUS CMD... : runs CMD with its output in $W/out, checks the status
run() {
    local name=$1 want=$2
    shift 2
    checks=$((checks + 1))
    "$@" >"$W/out" 2>&1
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "$name: exit status $got, expected $want: $*"
        sed 's/^/    /' "$W/out" | head -20
        return 1
    fi
    return 0
}

# expect NAME TEXT: the last run's output contains TEXT
expect() {
    if ! grep -qF -- "$2" "$W/out"; then
        fail "$1: no '$2' in the output:"
        sed 's/^/    /' "$W/out" | head -20
    fi
}

# same NAME A B: the files are byte for byte the same
same() {
    checks=$((checks + 1))
    cmp -s "$2" "$3" || fail "$1: $2 and $3 differ"
}

# same_tensors NAME A B: the tensors of two checkpoints are bitwise the same
same_tensors() {
    checks=$((checks + 1))
    "$STCMP" "$2" "$3" >"$W/cmp" 2>&1 || fail "$1: $(cat "$W/cmp")"
}

no_temp_files() {
    checks=$((checks + 1))
    local left
    left=$(find "$W" -name '*.tmp')
    [ -z "$left" ] || fail "$1: temporary files left: $left"
}

# wait_for_glob PATTERN: until a file matches PATTERN (at most 30 s)
wait_for_glob() {
    local i
    for i in $(seq 300); do
        compgen -G "$1" >/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# wait_for FILE: until FILE exists (at most 30 s)
wait_for() {
    local i
    for i in $(seq 300); do
        [ -e "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

"$SHAPES" "$W/src" --per-class 12 --size 16 --seed 1 >/dev/null || exit 1

# ---- commands, help, bad command lines ----
for cmd in train evaluate predict info split; do
    run "$cmd --help" 0 "$NET" "$cmd" --help && expect "$cmd --help" "usage: $cmd"
done
run "train --help" 0 "$NET" train --help && expect "train --help" ".best.safetensors"
run "no command" 2 "$NET" && expect "no command" "usage: net3 <command>"
run "unknown command" 2 "$NET" fly && expect "unknown command" "unknown command 'fly'"
run "info" 0 "$NET" info && expect "info" "memory plan" && expect "info" "threads: 2"
for bad in "--lr -1|--lr must be > 0 (got -1)" \
           "--lr fast|--lr: expected a number, got 'fast'" \
           "--epochs 0|--epochs must be in [1, 100000] (got 0)" \
           "--epochs 1.5|--epochs: expected a whole number" \
           "--momentum 1|--momentum must be in [0, 1) (got 1)" \
           "--bogus|unknown flag '--bogus'" \
           "--optimizer rmsprop|--optimizer: 'rmsprop' is not one of sgd|adam|adadelta" \
           "--optimizer adam --momentum 0.5|--momentum and --nesterov apply to --optimizer sgd only" \
           "--schedule cosine --gamma 0.5|--step-size and --gamma apply to --schedule step only" \
           "--momentum 0 --nesterov|--nesterov needs a --momentum above 0" \
           "--warmup 20 --epochs 3|--warmup 20 is longer than --epochs 3" \
           "--augment spin|--augment: 'spin' is not flip, crop or crop=PAD" \
           "--mean 0.5,0.5|--mean: 2 values, the network's input has 3 channels" \
           "--std 0|--std: each value must be > 0 (got 0)" \
           "--resume a --init b|--resume and --init exclude each other" \
           "--save $W/nodir/m.safetensors|--save $W/nodir/m.safetensors: cannot write in $W/nodir" \
           "--log $W/nodir/log.csv|--log $W/nodir/log.csv: cannot write in $W/nodir" \
           "--lr|--lr needs a value"; do
    args=${bad%%|*}
    message=${bad#*|}
    # shellcheck disable=SC2086
    run "train $args" 2 "$NET" train --data "$W/src" --save "$W/never.safetensors" $args &&
        expect "train $args" "$message"
done
run "train without --data" 2 "$NET" train && expect "train without --data" "--data DIR is required"
run "split --ratios" 2 "$NET" split "$W/src" "$W/never" --ratios 0.5,0.2,0.2 &&
    expect "split --ratios" "--ratios must sum to 1, they sum to 0.9"
run "split --ratios count" 2 "$NET" split "$W/src" "$W/never" --ratios 0.5,0.5 &&
    expect "split --ratios count" "--ratios needs 3 values"
run "predict --top" 2 "$NET" predict --weights x --top 4 a.png &&
    expect "predict --top" "--top 4: the network has 3 classes"
run "predict without images" 2 "$NET" predict --weights x && expect "predict without images" "missing IMAGE..."
checks=$((checks + 1))
[ ! -e "$W/never.safetensors" ] && [ ! -e "$W/never" ] || fail "a rejected command line wrote files"

# ---- bad data folders ----
mkdir -p "$W/empty" "$W/hollow/circle" "$W/junk/a" "$W/junk/b" "$W/junk/c"
touch "$W/afile"
for c in a b c; do for i in 1 2 3 4; do echo "not an image" >"$W/junk/$c/$i.png"; done; done
run "--data missing" 1 "$NET" train --data "$W/missing" && expect "--data missing" "$W/missing"
run "--data a file" 1 "$NET" train --data "$W/afile" && expect "--data a file" "not a directory"
run "--data no classes" 1 "$NET" train --data "$W/empty" && expect "--data no classes" "no class folders"
run "--data empty class" 1 "$NET" train --data "$W/hollow" && expect "--data empty class" "$W/hollow/circle"
run "--data nothing decodes" 1 "$NET" train --data "$W/junk" --save "$W/junk.safetensors" &&
    expect "--data nothing decodes" "gave no full batch of decodable images" &&
    expect "--data nothing decodes" "skipped 12 files"
run "--data class count" 1 "$NET5" train --data "$W/src" &&
    expect "--data class count" "has 3 classes, resnet18 was generated for 5"

# ---- split, train with validation, evaluate, predict ----
run "split" 0 "$NET" split "$W/src" "$W/ds" --seed 1
run "split into non-empty" 1 "$NET" split "$W/src" "$W/ds" --seed 1 &&
    expect "split into non-empty" "$W/ds"
M=$W/model.safetensors
run "train" 0 "$NET" train --data "$W/ds/train" --epochs 2 --lr 0.02 --save "$M" --log "$W/log.csv" &&
    expect "train" "validating on $W/ds/valid" && expect "train" "epoch 2/2" &&
    expect "train" "best validation accuracy"
for f in "$M" "$W/model.optim.safetensors" "$W/model.best.safetensors"; do
    checks=$((checks + 1))
    [ -s "$f" ] || fail "train did not write $f"
done
checks=$((checks + 1))
[ "$(wc -l <"$W/log.csv")" = 3 ] && head -1 "$W/log.csv" | grep -q "^epoch,lr,train_loss,train_acc,valid_loss,valid_acc,seconds,images_per_s$" ||
    fail "--log: expected a header and 2 rows, got: $(cat "$W/log.csv")"
no_temp_files "train"

# every test image counts once, though the last batch is padded
n_test=$(find "$W/ds/test" -name '*.png' | wc -l)
run "evaluate" 0 "$NET" evaluate --data "$W/ds/test" --weights "$M" &&
    expect "evaluate" "evaluate: $W/ds/test, $n_test images" && expect "evaluate" "accuracy" &&
    expect "evaluate" "confusion matrix" && expect "evaluate" "triangle"
checks=$((checks + 1))
[ $((n_test % 4)) != 0 ] || fail "evaluate: pick a test set that is not a whole number of batches"
mkdir -p "$W/other/circle" "$W/other/hexagon"
cp "$W/src/circle/"*.png "$W/other/circle/"
cp "$W/src/square/"*.png "$W/other/hexagon/"
run "evaluate unknown class" 1 "$NET" evaluate --data "$W/other" --weights "$M" &&
    expect "evaluate unknown class" "class folder 'hexagon' is not one of the 3 classes"
rm -rf "$W/other/hexagon"
run "evaluate subset of classes" 0 "$NET" evaluate --data "$W/other" --weights "$M" &&
    expect "evaluate subset of classes" "folders for 1 of the 3 classes"

img=$(ls "$W/src/circle/"*.png | head -1)
run "predict" 0 "$NET" predict --weights "$M" --top 2 "$img" "$W/src/square/"*.png
checks=$((checks + 1))
[ "$(grep -c '^  ' "$W/out")" = 26 ] || fail "predict --top 2 on 13 images: expected 26 class lines"
run "predict --probs" 0 "$NET" predict --weights "$M" --probs "$img"
checks=$((checks + 1))
awk '/^  / { s += $2; n++ } END { exit !(n == 3 && s > 0.999 && s < 1.001) }' "$W/out" ||
    fail "predict --probs: expected 3 probabilities summing to 1"
run "predict a non-image" 1 "$NET" predict --weights "$M" "$W/afile" "$img" &&
    expect "predict a non-image" "$W/afile" && expect "predict a non-image" "$img" &&
    expect "predict a non-image" "1 of 2 images could not be read"

# ---- weights files that do not fit ----
mkdir -p "$W/five"
for c in a b c d e; do cp -r "$W/src/circle" "$W/five/$c"; done
M5=$W/five.safetensors
run "train net5" 0 "$NET5" train --data "$W/five" --epochs 1 --batches 1 --save "$M5"
run "weights of another network" 1 "$NET" evaluate --data "$W/ds/test" --weights "$M5" &&
    expect "weights of another network" "tensor 'fc.weight' has shape [5, 64], the network's is [3, 64]"
run "--init across class counts" 0 "$NET" train --data "$W/src" --init "$M5" --epochs 1 --batches 1 \
    --save "$W/init.safetensors" &&
    expect "--init across class counts" "skipped: $M5: tensor 'fc.weight' has shape [5, 64]" &&
    expect "--init across class counts" "skipped: $M5: tensor 'fc.bias' has shape [5]" &&
    expect "--init across class counts" "loaded 100 of 102 tensors"
head -c 5000 "$M" >"$W/truncated.safetensors"
run "truncated header" 1 "$NET" evaluate --data "$W/ds/test" --weights "$W/truncated.safetensors" &&
    expect "truncated header" "$W/truncated.safetensors: the header length" &&
    expect "truncated header" "runs past the end of the file (5000 bytes): truncated"
head -c $(($(stat -c %s "$M") - 100)) "$M" >"$W/truncated.safetensors"
run "truncated data" 1 "$NET" evaluate --data "$W/ds/test" --weights "$W/truncated.safetensors" &&
    expect "truncated data" "$W/truncated.safetensors: truncated: tensor 'fc.weight' ends at byte"
printf '\x0e\x00\x00\x00\x00\x00\x00\x00{"a": [1, 2,  ' >"$W/badjson.safetensors"
run "malformed header" 1 "$NET" predict --weights "$W/badjson.safetensors" "$img" &&
    expect "malformed header" "the header is not valid JSON"
run "resume without optimizer state" 1 "$NET" train --resume "$W/model.best.safetensors" &&
    expect "resume without optimizer state" "$W/model.best.optim.safetensors: No such file" &&
    expect "resume without optimizer state" "--init $W/model.best.safetensors starts a new run"
run "resume of another network" 1 "$NET" train --resume "$M5" --data "$W/src" &&
    expect "resume of another network" "tensor 'fc.weight' has shape [5, 64]"

# ---- resuming is bitwise: 3 epochs straight == 1 epoch, then resume to 3 ----
A=$W/straight.safetensors
B=$W/resumed.safetensors
common=(--data "$W/src" --lr 0.02 --seed 5 --augment flip,crop=2 --threads 2)
run "straight run" 0 "$NET" train "${common[@]}" --epochs 3 --save "$A"
run "first epoch" 0 "$NET" train "${common[@]}" --epochs 1 --save "$B" --log "$W/resumed.csv"
run "resume" 0 "$NET" train --resume "$B" --epochs 3 && expect "resume" "resuming from $B: epoch 2"
same_tensors "resume to epoch 3" "$A" "$B"
same_tensors "resume: optimizer state" "$W/straight.optim.safetensors" "$W/resumed.optim.safetensors"
checks=$((checks + 1))
[ "$(wc -l <"$W/resumed.csv")" = 4 ] || fail "resume: --log remembered and appended: $(cat "$W/resumed.csv")"
# the same with Adam (its step count), a cosine schedule and warm-up
adam=(--data "$W/src" --optimizer adam --schedule cosine --warmup 1 --seed 9 --batches 4)
run "adam straight" 0 "$NET" train "${adam[@]}" --epochs 3 --save "$W/adam_a.safetensors"
run "adam first epoch" 0 "$NET" train "${adam[@]}" --epochs 1 --save "$W/adam_b.safetensors"
run "adam resume" 0 "$NET" train --resume "$W/adam_b.safetensors" --epochs 3
same_tensors "adam resume" "$W/adam_a.safetensors" "$W/adam_b.safetensors"
same_tensors "adam resume: optimizer state" "$W/adam_a.optim.safetensors" "$W/adam_b.optim.safetensors"
run "resume with another optimizer" 1 "$NET" train --resume "$W/adam_b.safetensors" --epochs 4 \
    --optimizer sgd && expect "resume with another optimizer" "holds the state of optimizer adam, this run uses sgd"
run "resume past the end" 1 "$NET" train --resume "$B" && expect "resume past the end" "has done 3 epochs already"

# ---- Ctrl-C mid-epoch saves; resuming from it is still bitwise ----
C=$W/interrupted.safetensors
FLATNET_TEST_DELAY_MS=100 "$NET" train "${common[@]}" --epochs 3 --save "$C" >"$W/out" 2>&1 &
pid=$!
wait_for "$C" && sleep 0.35
kill -INT $pid
wait $pid
status=$?
checks=$((checks + 1))
[ $status = 130 ] || fail "SIGINT: exit status $status, expected 130"
expect "SIGINT" "saved $C; continue with --resume $C"
run "resume after SIGINT" 0 "$NET" train --resume "$C"
same_tensors "resume after SIGINT" "$A" "$C"
no_temp_files "SIGINT"

# ---- SIGKILL while a checkpoint is written: the previous one stays ----
D=$W/killed.safetensors
run "checkpoint to kill" 0 "$NET" train --data "$W/src" --epochs 1 --batches 2 --save "$D"
cp "$D" "$W/killed.before"
cp "$W/killed.optim.safetensors" "$W/killed.optim.before"
FLATNET_TEST_DELAY_MS=700 "$NET" train --resume "$D" --epochs 2 >"$W/out" 2>&1 &
pid=$!
checks=$((checks + 1))
wait_for_glob "$D.??????.tmp" || fail "SIGKILL: the checkpoint write never started"
{ kill -KILL $pid && wait $pid; } 2>/dev/null # (quietly: bash reports the kill)
same "SIGKILL: checkpoint" "$D" "$W/killed.before"
same "SIGKILL: optimizer state" "$W/killed.optim.safetensors" "$W/killed.optim.before"
run "SIGKILL: still loads" 0 "$NET" evaluate --data "$W/ds/test" --weights "$D"
run "SIGKILL: still resumes" 0 "$NET" train --resume "$D" --epochs 2
no_temp_files "SIGKILL, then a save"

# ---- a full disk (a file-size limit): an error, the previous checkpoint intact ----
cp "$D" "$W/killed.before"
cp "$W/killed.optim.safetensors" "$W/killed.optim.before"
run "file-size limit" 1 bash -c "ulimit -f 64; exec \"$NET\" train --resume \"$D\" --epochs 3" &&
    expect "file-size limit" "File too large" && expect "file-size limit" "is left as it was"
same "file-size limit: checkpoint" "$D" "$W/killed.before"
same "file-size limit: optimizer state" "$W/killed.optim.safetensors" "$W/killed.optim.before"
no_temp_files "file-size limit"

# ---- a full disk for real (a small tmpfs), where mounting is allowed ----
mkdir -p "$W/full"
if mount -t tmpfs -o size=2m tmpfs "$W/full" 2>/dev/null; then
    F=$W/full/model.safetensors
    run "tmpfs: first checkpoint" 0 "$NET" train --data "$W/src" --epochs 1 --batches 1 --save "$F"
    cp "$F" "$W/full.before"
    cp "$W/full/model.optim.safetensors" "$W/full.optim.before"
    run "tmpfs: disk full" 1 "$NET" train --resume "$F" --epochs 2 &&
        expect "tmpfs: disk full" "No space left on device" &&
        expect "tmpfs: disk full" "is left as it was"
    same "tmpfs: checkpoint" "$F" "$W/full.before"
    same "tmpfs: optimizer state" "$W/full/model.optim.safetensors" "$W/full.optim.before"
    no_temp_files "tmpfs: disk full"
    umount "$W/full"
else
    echo "runtime_cli: the tmpfs disk-full check is skipped (mounting needs root); the file-size limit above covers it"
fi

# ---- a NaN loss stops training; the last checkpoint stays as it was ----
# lr x wd overflows: the first step makes the weights infinite, the second loss NaN
run "NaN loss" 1 "$NET" train --resume "$D" --epochs 3 --lr 1e30 --wd 1e30 &&
    expect "NaN loss" "at epoch 3, step 2" && expect "NaN loss" "(after epoch 2) is left as it was"
grep -qE "the loss is (NaN|infinite)" "$W/out" || fail "NaN loss: no 'the loss is NaN' message"
same "NaN loss: checkpoint" "$D" "$W/killed.before"

# ---- profile: a row per layer or per kernel call, the optimizer's own row ----
run "profile" 0 "$NET" profile --steps 2 --warmup 1 --threads 1 &&
    expect "profile" "all layers" && expect "profile" "(optimizer)" &&
    expect "profile" "SGD, " && expect "profile" "of peak"
run "profile --calls" 0 "$NET" profile --steps 2 --warmup 0 --calls &&
    expect "profile --calls" "conv backward weights" && expect "profile --calls" "(optimizer)"
grep -qE '^layer1\.0\.conv1 +conv +[0-9.]+ +[0-9.]+ +[0-9.]+% +conv3x3s1p1_.*_fwd +(row|plane) p=' \
    "$W/out" || fail "profile --calls: layer1.0.conv1 has no kernel and tile beside its time"
run "profile --eval" 0 "$NET" profile --steps 2 --eval &&
    ! grep -q "(optimizer)" "$W/out" || fail "profile --eval: an optimizer row without a step of it"

# ---- the progress bar on a terminal ----
if command -v script >/dev/null; then
    checks=$((checks + 1))
    script -qec "\"$NET\" train --data \"$W/src\" --epochs 1 --save \"$W/tty.safetensors\"" /dev/null \
        >"$W/out" 2>&1
    grep -q "ETA" "$W/out" && grep -q $'\r' "$W/out" || fail "no progress bar on a terminal"
fi

echo "runtime_cli: $checks checks, $failures failed"
[ $failures = 0 ]
