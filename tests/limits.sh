#!/bin/bash
# limits.sh - the runtime's stated limits, each enforced with a clear message
# (docs/RELIABILITY.md lists them): classes in a data folder, the bytes of an
# image file, a checkpoint's header length and tensor count, a tensor's
# element count.  gen's limits are in test_gen.c; the pixel limit in
# data_test.c.
#
#   tests/limits.sh DIR SHAPES
#
# DIR holds net3 (tests/runtime.mk), SHAPES is build/shapes; work files go to
# DIR/limits, and to /dev/shm (a tmpfs) where a test makes a hundred
# thousand folders.
set -u
NET=$1/net3
SHAPES=$2
W=$1/limits
rm -rf "$W" && mkdir -p "$W"
failures=0
checks=0

. tests/check_lib.sh

# safetensors FILE HEADER_JSON [DATA_BYTES]: a file with that header
safetensors() {
    /usr/bin/python3 -c 'import struct, sys
header = sys.argv[2].encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(header)) + header + bytes(int(sys.argv[3])))' \
        "$1" "$2" "${3:-0}"
}

"$SHAPES" "$W/src" --per-class 4 --size 16 --seed 1 >/dev/null || exit 1
img=$(ls "$W/src/circle/"*.png | head -1)
M=$W/m.safetensors
"$NET" train --data "$W/src" --epochs 1 --batches 1 --save "$M" >/dev/null 2>&1 ||
    { echo "limits: cannot train the checkpoint to test with"; exit 1; }

# ---- classes: FN_MAX_CLASSES (100000) folders at most, counted before any is read ----
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=$W
classes=$(mktemp -d "$shm/flatnet-classes.XXXXXX")
/usr/bin/python3 -c 'import os, sys
for i in range(100001):
    os.mkdir(f"{sys.argv[1]}/c{i:06d}")' "$classes"
check "100001 classes" 1 "$classes: 100001 class folders, more than 100000" \
    "$NET" train --data "$classes" --save "$W/never.safetensors"
rm -rf "$classes"

# ---- an image file larger than its pixels can take is not read ----
# an 8x8 PNG's header, then 600 MB (sparse) of nothing
head -c 33 "$img" >"$W/huge.png"
truncate -s 600M "$W/huge.png"
check "a 600 MB file for 16x16 pixels" 1 "629145600 bytes for a 16 x 16 image, more than the" \
    "$NET" predict --weights "$M" "$W/huge.png"

# ---- checkpoints ----
# a header of 100 MB + 1 byte (sparse), within a file long enough to hold it
/usr/bin/python3 -c 'import struct, sys
open(sys.argv[1], "wb").write(struct.pack("<Q", 100_000_001))' "$W/big_header.safetensors"
truncate -s 100000100 "$W/big_header.safetensors"
check "a 100 MB header" 1 "a header of 100000001 bytes, more than the limit of 100000000 bytes" \
    "$NET" evaluate --data "$W/src" --weights "$W/big_header.safetensors"
# 200000 tensors: checked for duplicates and found by bisection, not pairwise
/usr/bin/python3 -c 'import json, struct, sys
n = 200000
header = json.dumps({f"t{i}": {"dtype": "U8", "shape": [1], "data_offsets": [i, i + 1]}
                     for i in range(n)}).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(header)) + header + bytes(n))' \
    "$W/many.safetensors"
start=$(date +%s)
check "200000 tensors" 1 "has no tensor 'conv1.weight'" \
    "$NET" evaluate --data "$W/src" --weights "$W/many.safetensors"
checks=$((checks + 1))
[ $(($(date +%s) - start)) -le 20 ] || fail "200000 tensors: $(($(date +%s) - start)) s to refuse"
safetensors "$W/twice.safetensors" \
    '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}' 2
check "a tensor twice" 1 "tensor 'a' appears twice in the header" \
    "$NET" evaluate --data "$W/src" --weights "$W/twice.safetensors"
# a shape whose element count overflows 64 bits, with a byte count that wraps to 0
safetensors "$W/wrap.safetensors" \
    '{"w":{"dtype":"F32","shape":[9007199254740992,9007199254740992],"data_offsets":[0,0]}}'
check "a shape of 2^64 elements" 1 "tensor 'w' has a shape of more than 2^59 elements" \
    "$NET" evaluate --data "$W/src" --weights "$W/wrap.safetensors"

echo "limits: $checks checks, $failures failed"
[ $failures = 0 ]
