#!/bin/bash
# robust.sh - nothing a user types tears or destroys their files (issue 13;
# docs/RELIABILITY.md has a row for each part): two trainings on one --save,
# checksums, outputs that are inputs, fresh runs onto a checkpoint, identity
# checks, split's folders, names JSON cannot hold, FIFOs, limits, and a
# second Ctrl-C during a save.
#
#   tests/robust.sh DIR SHAPES GEN
#
# DIR holds net3, net2, net5 (resnet18, 16x16x3, width 8, batch 4; 3, 2 and
# 5 classes) and stcmp (tests/runtime.mk, tests/robust.mk); SHAPES is
# build/shapes, GEN build/gen.  Work files go to DIR/robust.
set -u
DIR=$1
SHAPES=$2
GEN=$3
NET=$DIR/net3
NET2=$DIR/net2
NET5=$DIR/net5
STCMP=$DIR/stcmp
META=tests/st_meta.py
W=$DIR/robust
rm -rf "$W" && mkdir -p "$W"
export OMP_NUM_THREADS=2
failures=0
checks=0

. tests/check_lib.sh

# ok NAME CONDITION...: CONDITION (a command) succeeds
ok() {
    local name=$1
    shift
    checks=$((checks + 1))
    "$@" || fail "$name"
}

# said TEXT: the last check's output holds TEXT
said() { grep -qF -- "$1" "$W/out"; }

# no_temps NAME: no temporary or lock file anywhere under $W
no_temps() {
    local left
    left=$(find "$W" -name '*.tmp' -o -name '*.part' -o -name '*.lock')
    checks=$((checks + 1))
    [ -z "$left" ] || fail "$1: left behind: $left"
}

# wait_until CMD...: CMD succeeds within 60 s
wait_until() {
    local i
    for i in $(seq 600); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

"$SHAPES" "$W/src" --per-class 6 --size 16 --seed 1 >/dev/null || exit 1
img=$(ls "$W/src/circle/"*.png | head -1)
M=$W/m.safetensors
common=(--data "$W/src" --epochs 2 --batches 2 --threads 1)
"$NET" train "${common[@]}" --save "$M" >/dev/null 2>&1 || { echo "robust: cannot train"; exit 1; }

# ---- 1. two trainings on one --save: one run's checkpoint exactly, or a refusal ----
for seed in 1 2; do
    "$NET" train "${common[@]}" --seed $seed --save "$W/solo$seed.safetensors" >/dev/null 2>&1 ||
        fail "solo run of seed $seed"
done
C=$W/shared.safetensors
FLATNET_TEST_DELAY_MS=150 "$NET" train "${common[@]}" --seed 1 --save "$C" >"$W/a.out" 2>&1 &
a=$!
wait_until grep -q "saving to" "$W/a.out" || fail "the first run never started"
check "a second run on one --save" 1 "is being written by another run (process $a holds $C.lock)" \
    env FLATNET_TEST_DELAY_MS=150 "$NET" train "${common[@]}" --seed 2 --save "$C"
wait $a
ok "the first run, beside the refused one" [ $? = 0 ]
ok "the result is the first run's checkpoint" "$STCMP" "$C" "$W/solo1.safetensors"
ok "the result's seed" [ "$($META "$C" get seed 2>/dev/null)" = 1 ]
# started at the same moment: whichever takes the lock trains, the other refuses
rm -f "$W"/shared*
for seed in 1 2; do
    FLATNET_TEST_DELAY_MS=100 "$NET" train "${common[@]}" --seed $seed --save "$C" \
        >"$W/race$seed.out" 2>&1 &
    pids[$seed]=$!
done
wait "${pids[1]}"; s1=$?
wait "${pids[2]}"; s2=$?
winner=$($META "$C" get seed 2>/dev/null) || winner=0
ok "a race on one --save: one run trained ($s1, $s2)" [ $((s1 + s2)) = 1 ]
ok "a race on one --save: its checkpoint, not a mixture" \
    "$STCMP" "$C" "$W/solo$winner.safetensors"
ok "a race on one --save: its optimizer state" \
    "$STCMP" "$W/shared.optim.safetensors" "$W/solo$winner.optim.safetensors"
ok "the loser named the winner" grep -q "is being written by another run (process ${pids[$winner]:-0}" \
    "$W/race$((3 - winner)).out"
no_temps "after the races"

# checksums: a changed byte in the tensor data is refused by every reader, naming the file
cp "$M" "$W/flip.safetensors"
cp "$W/m.optim.safetensors" "$W/flip.optim.safetensors"
$META "$W/flip.safetensors" flip
why="$W/flip.safetensors: the tensor data fails its checksum"
check "checksum: evaluate" 1 "$why" "$NET" evaluate --data "$W/src" --weights "$W/flip.safetensors"
check "checksum: predict" 1 "$why" "$NET" predict --weights "$W/flip.safetensors" "$img"
check "checksum: --init" 1 "$why" "$NET" train --data "$W/src" --init "$W/flip.safetensors" \
    --save "$W/never.safetensors"
check "checksum: --resume" 1 "$why" "$NET" train --resume "$W/flip.safetensors" --epochs 3
cp "$M" "$W/flip.safetensors"
$META "$W/flip.optim.safetensors" flip
check "checksum: --resume's optimizer state" 1 \
    "$W/flip.optim.safetensors: the tensor data fails its checksum" \
    "$NET" train --resume "$W/flip.safetensors" --epochs 3
cp "$M" "$W/old.safetensors"
$META "$W/old.safetensors" set data_crc32=
check "a checkpoint without a checksum (older flatnet) loads" 0 "accuracy" \
    "$NET" evaluate --data "$W/src" --weights "$W/old.safetensors"

# ---- 2. outputs never clobber inputs ----
cp networks/resnet18.lua "$W/net.lua"
cp "$W/net.lua" "$W/net.lua.before"
for out in "$W/net.lua" "$W/./net.lua" "$W/../robust/net.lua"; do
    check "gen -o its own input ($out)" 1 "is the network description" \
        "$GEN" -I networks -o "$out" "$W/net.lua"
done
ln -sf net.lua "$W/link.lua"
check "gen -o a link to its input" 1 "is the network description" \
    "$GEN" -I networks -o "$W/link.lua" "$W/net.lua"
ok "gen left its input as it was" cmp -s "$W/net.lua" "$W/net.lua.before"
cp "$M" "$W/m.before"
cp "$W/m.optim.safetensors" "$W/m.optim.before"
check "--log the checkpoint" 2 "--log $M is the same file as --save $M" \
    "$NET" train --resume "$M" --epochs 3 --log "$M"
check "--log the optimizer state" 2 "is the same file as --save's optimizer state" \
    "$NET" train --resume "$M" --epochs 3 --log "$W/m.optim.safetensors"
check "--log ./the checkpoint" 2 "is the same file as --save" \
    "$NET" train --resume "$M" --epochs 3 --log "$W/../robust/./m.safetensors"
ln -sf m.safetensors "$W/log-link.csv"
check "--log a link to the checkpoint" 2 "is the same file as --save" \
    "$NET" train --resume "$M" --epochs 3 --log "$W/log-link.csv"
check "--log a new checkpoint" 2 "is the same file as --save" \
    "$NET" train "${common[@]}" --save "$W/new.safetensors" --log "$W/./new.safetensors"
check "--log the --init file" 2 "is the same file as --init" \
    "$NET" train "${common[@]}" --init "$M" --save "$W/new.safetensors" --log "$M"
check "--save over --resume's optimizer state" 2 "this run would write over what it reads" \
    "$NET" train --resume "$M" --epochs 3 --save "$W/m.optim.safetensors"
ok "the checkpoint is as it was" cmp -s "$M" "$W/m.before"
ok "its optimizer state is as it was" cmp -s "$W/m.optim.safetensors" "$W/m.optim.before"
ok "no new checkpoint was written" [ ! -e "$W/new.safetensors" ]
mkdir -p "$W/adir"
check "--save a directory" 2 "--save $W/adir is a directory" \
    "$NET" train "${common[@]}" --save "$W/adir"
ok "--save a directory: nothing written" [ -z "$(ls "$W" | grep '^adir\.')" ]
# a fresh run onto an existing checkpoint needs --overwrite
check "a fresh run onto a checkpoint" 2 "this run would replace $M (a checkpoint after epoch 2)" \
    "$NET" train "${common[@]}" --seed 3 --save "$M"
said "--overwrite replaces it" || fail "a fresh run onto a checkpoint: no word of --overwrite"
ok "the checkpoint is untouched" cmp -s "$M" "$W/m.before"
check "--overwrite" 0 "epoch 2/2" "$NET" train "${common[@]}" --seed 3 --save "$M" --overwrite
ok "--overwrite replaced it" [ "$($META "$M" get seed)" = 3 ]
check "train --help states it" 0 "--overwrite" "$NET" train --help

# ---- 3. identity: what wrote a checkpoint, checked by its readers ----
for key in network=resnet18 input=16x16x3 batch=4 n_classes=3 abi=4; do
    ok "metadata $key" [ "$($META "$M" get "${key%%=*}")" = "${key#*=}" ]
done
ok "metadata layers" grep -q . <($META "$M" get layers)
ok "metadata generator" grep -q '^gen ' <($META "$M" get generator)
ok "metadata gen_command" grep -q 'resnet18' <($META "$M" get gen_command)
ok "metadata schedule" grep -q 'the cost model' <($META "$M" get schedule)
cp "$M" "$W/b8.safetensors"
cp "$W/m.optim.safetensors" "$W/b8.optim.safetensors"
$META "$W/b8.safetensors" set batch=8
check "--resume of another batch" 1 "was trained with batch 8, this resnet18 has batch 4" \
    "$NET" train --resume "$W/b8.safetensors" --epochs 3
cp "$M" "$W/in48.safetensors"
cp "$W/m.optim.safetensors" "$W/in48.optim.safetensors"
$META "$W/in48.safetensors" set input=48x48x3
check "--resume of another input" 1 "was trained at input 48x48x3, this resnet18 takes 16x16x3" \
    "$NET" train --resume "$W/in48.safetensors" --epochs 3
check "evaluate: another input" 0 "warning: --weights $W/in48.safetensors was trained at input 48x48x3" \
    "$NET" evaluate --data "$W/src" --weights "$W/in48.safetensors"
check "predict: another input" 0 "was trained at input 48x48x3, this resnet18 takes 16x16x3" \
    "$NET" predict --weights "$W/in48.safetensors" "$img"
check "--init: another input" 0 "warning: --init $W/in48.safetensors was trained at input 48x48x3" \
    "$NET" train "${common[@]}" --init "$W/in48.safetensors" --save "$W/i1.safetensors"
mkdir -p "$W/five"
for c in a b c d e; do cp -r "$W/src/circle" "$W/five/$c"; done
"$NET5" train --data "$W/five" --epochs 1 --batches 1 --save "$W/five.safetensors" >/dev/null 2>&1 ||
    fail "net5: cannot train"
check "--init --strict from another class count" 1 "--strict: 100 of 102 tensors of resnet18 match" \
    "$NET" train "${common[@]}" --init "$W/five.safetensors" --strict --save "$W/i2.safetensors"
ok "--init --strict: nothing written" [ ! -e "$W/i2.safetensors" ]
cp "$M" "$W/one.safetensors"
$META "$W/one.safetensors" keep conv1.weight
check "--init loading 1 tensor" 0 "warning: --init $W/one.safetensors: only 1 of 102 tensors loaded" \
    "$NET" train "${common[@]}" --init "$W/one.safetensors" --save "$W/i3.safetensors"
check "--init --strict: a matching file" 0 "loaded 102 of 102 tensors" \
    "$NET" train "${common[@]}" --init "$M" --strict --save "$W/i4.safetensors"

# ---- 4. predict's default --top, names JSON cannot hold, FIFOs, limits ----
mkdir -p "$W/two"
cp -r "$W/src/circle" "$W/src/square" "$W/two/"
"$NET2" train --data "$W/two" --epochs 1 --batches 1 --save "$W/two.safetensors" >/dev/null 2>&1 ||
    fail "net2: cannot train"
check "predict on 2 classes, default --top" 0 "circle" "$NET2" predict --weights "$W/two.safetensors" "$img"
ok "predict on 2 classes: 2 lines" [ "$(grep -c '^  ' "$W/out")" = 2 ]
check "predict --top above the classes, asked" 2 "--top 3: the network has 2 classes" \
    "$NET2" predict --weights "$W/two.safetensors" --top 3 "$img"
mkdir -p "$W/names"
cp -r "$W/src/circle" "$W/names/caf$(printf '\xe9')"
cp -r "$W/src/square" "$W/names/square"
cp -r "$W/src/triangle" "$W/names/triangle"
check "a class name that is not UTF-8" 1 "the class folder name 'caf\\xe9' is not UTF-8" \
    "$NET" train --data "$W/names" --epochs 1 --save "$W/names.safetensors"
ok "a class name that is not UTF-8: nothing written" [ ! -e "$W/names.safetensors" ]
mv "$W/names/caf$(printf '\xe9')" "$W/names/café"
check "a UTF-8 class name" 0 "epoch 1/1" \
    "$NET" train --data "$W/names" --epochs 1 --batches 1 --save "$W/names.safetensors"
ok "Python's json reads its header" /usr/bin/python3 -c 'import json, struct, sys
raw = open(sys.argv[1], "rb").read()
meta = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])["__metadata__"]
assert json.loads(meta["classes"])[0] == "café", meta["classes"]' "$W/names.safetensors"
mkfifo "$W/fifo"
fifo="$W/fifo: not a regular file (a FIFO)"
check "evaluate --weights FIFO" 1 "$fifo" timeout 10 "$NET" evaluate --data "$W/src" --weights "$W/fifo"
check "predict --weights FIFO" 1 "$fifo" timeout 10 "$NET" predict --weights "$W/fifo" "$img"
check "predict a FIFO" 1 "$W/fifo: cannot open: not a regular file (a FIFO)" timeout 10 "$NET" predict --weights "$M" "$W/fifo"
check "--resume FIFO" 1 "$fifo" timeout 10 "$NET" train --resume "$W/fifo"
check "--init FIFO" 1 "$fifo" timeout 10 "$NET" train "${common[@]}" --init "$W/fifo" \
    --save "$W/never.safetensors"
check "import a FIFO" 1 "$W/fifo: cannot open: not a regular file (a FIFO)" timeout 10 "$NET" import --train-images "$W/fifo" \
    --train-labels "$W/fifo" --test-images "$W/fifo" --test-labels "$W/fifo" "$W/never"
check "--log FIFO" 2 "--log $W/fifo is not a regular file" \
    timeout 10 "$NET" train "${common[@]}" --save "$W/never.safetensors" --log "$W/fifo"
check "--weights /dev/zero" 1 "not a regular file (a character device)" \
    timeout 10 "$NET" predict --weights /dev/zero "$img"
check "predict --max-pixels" 1 "16 x 16 image, more than the limit of 100 pixels" \
    "$NET" predict --weights "$M" --max-pixels 100 "$img"
check "OMP_NUM_THREADS above the cap" 0 "threads: 4096" env OMP_NUM_THREADS=100000 "$NET" info
said "OMP_NUM_THREADS asks for 100000 threads, more than the limit of 4096" ||
    fail "OMP_NUM_THREADS above the cap: no warning"

# a second Ctrl-C during a save quits at once, leaving no temporary file
cp "$M" "$W/m.before"
FLATNET_TEST_DELAY_MS=1500 "$NET" train --resume "$M" --epochs 4 >"$W/int.out" 2>&1 &
pid=$!
wait_until compgen -G "$W/m.optim.safetensors*.tmp" >/dev/null ||
    fail "second Ctrl-C: the save never started"
kill -INT $pid
sleep 0.2
kill -INT $pid
wait $pid
ok "second Ctrl-C: killed by SIGINT ($?)" [ $? = 130 ]
ok "second Ctrl-C: the checkpoint as it was" cmp -s "$M" "$W/m.before"
no_temps "second Ctrl-C during a save"

# ---- 5. split's folders, small classes, --link, --batches below the saved step ----
check "split into its source" 1 "$W/src/out is inside $W/src" "$NET" split "$W/src" "$W/src/out"
ok "split into its source: nothing written" [ ! -e "$W/src/out" ]
check "split into ./its source" 1 "is inside" "$NET" split "$W/src" "$W/src/../src/./x/y"
ok "split into ./its source: nothing written" [ ! -e "$W/src/x" ]
FLATNET_TEST_DELAY_MS=3000 "$NET" split "$W/src" "$W/int_ds" >"$W/split.out" 2>&1 &
pid=$!
wait_until compgen -G "$W/int_ds/train/*/.*.part" >/dev/null || fail "split: no copy to interrupt"
kill -INT $pid
wait $pid
ok "Ctrl-C during split: killed by SIGINT ($?)" [ $? = 130 ]
no_temps "Ctrl-C during split" # its half-copied hidden .part file
rm -rf "$W/int_ds"
mkdir -p "$W/small"
cp -r "$W/src/circle" "$W/src/square" "$W/small/"
mkdir -p "$W/small/tiny"
cp "$img" "$W/small/tiny/"
check "split of a 1-image class" 0 "stays empty" "$NET" split "$W/small" "$W/small_ds"
check "train beside an empty valid class" 0 "note: $W/small_ds/valid/tiny holds no files" \
    "$NET" train --data "$W/small_ds/train" --epochs 1 --save "$W/small.safetensors"
check "evaluate an empty test class" 0 "note: $W/small_ds/test/tiny holds no files" \
    "$NET" evaluate --data "$W/small_ds/test" --weights "$W/small.safetensors"
mkdir -p "$W/small/hollow"
check "split of an empty source class" 1 "$W/small/hollow: class folder holds no files" \
    "$NET" split "$W/small" "$W/never_ds"
ok "split of an empty source class: nothing created" [ ! -e "$W/never_ds" ]
rmdir "$W/small/hollow"
check "train on an empty train class" 1 "$W/small_ds/valid/tiny: class folder holds no files" \
    "$NET" train --data "$W/small_ds/valid" --save "$W/never.safetensors"
shm=/dev/shm
if [ -d $shm ] && [ -w $shm ] && [ "$(stat -c %d $shm)" != "$(stat -c %d "$W")" ]; then
    dst=$(mktemp -d $shm/flatnet-link.XXXXXX)
    check "split --link across file systems" 0 "--link: cannot link" \
        "$NET" split "$W/src" "$dst/ds" --link
    said "copying it and any other file that cannot be linked" || fail "--link: no word of copying"
    rm -rf "$dst"
else
    echo "robust: split --link across file systems: skipped ($shm is not another writable file system)"
fi
cp "$M" "$W/mid.safetensors"
cp "$W/m.optim.safetensors" "$W/mid.optim.safetensors"
$META "$W/mid.safetensors" set epoch=1 epoch_step=3
check "--resume with --batches below the saved step" 1 \
    "stopped after step 3 of epoch 2, and this run's epochs end at step 2 (--batches): give --batches 4" \
    "$NET" train --resume "$W/mid.safetensors" --batches 2
no_temps "the end"

echo "robust: $checks checks, $failures failed"
[ $failures = 0 ]
