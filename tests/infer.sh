#!/bin/sh
# infer.sh BUILD_DIR - gen --infer (issue 12), end to end on small networks:
# a trainer is built and trained briefly, its BN statistics and parameters
# are then drawn at random (tests/st_meta.py bn) so that folding them shows,
# the checkpoint is exported, compiled warning-free as C99 and run through
# examples/top5.c, whose probabilities must agree with the trainer's
# predict --probs within 1e-5 at n = 1, 3 and the trainer's batch (4).
# ResNet-18, ResNet-50 and the tutorial ResNet-50; the ResNet-18 export also
# with --block 4 (the last partial block staged) under AddressSanitizer with
# a malloc of exactly ARENA_BYTES, serial and for generic (run) and avx2
# (compiled), with --separate-weights (a .bin the caller reads), and from two
# threads at once (tests/infer_threads.c).  Then the bad inputs:
# another network's weights, a truncated and a malformed checkpoint, an
# unwritable output path, a NaN and an infinite weight: each named, exit 1,
# nothing written.
#
# CC, NET_CFLAGS (the trainers) and STB_CFLAGS come from the Makefile.
set -eu
b=$1
gen=$b/gen
dir=$b/tests/infer
cc=${CC:-cc}
stb=${STB_CFLAGS:--I/usr/include/stb}
c99="-std=c99 -Wall -Wextra -pedantic -Werror"
rm -rf "$dir" && mkdir -p "$dir"

fail() { echo "infer: FAIL: $*"; exit 1; }

"$b/shapes" "$dir/images" --per-class 4 --size 32 --seed 4 >/dev/null
set -- $(ls "$dir"/images/*/* | head -n 4)
one=$1 three="$1 $2 $3" four="$*"

# same_probs A B: every (image, class) of A is in B within 1e-5, and as many
same_probs() {
    awk 'FNR == 1 { f++ } /^[^ ]/ { img = $0; next }
         { key = img SUBSEP $1; if (f == 1) { a[key] = $2; n++ } else if (key in a) {
               d = a[key] - $2; if (d < 0) d = -d; if (d > max) max = d; m++ } }
         END { if (n == 0 || m != n) { print "compared " m " of " n; exit 1 }
               if (max > 1e-5) { print "largest difference " max; exit 1 }
               printf "%d probabilities, largest difference %.2g\n", n, max }' "$1" "$2"
}

# trainer NAME GEN-ARGS...: builds, trains (briefly) and randomises NAME's checkpoint
trainer() {
    name=$1
    shift
    "$gen" -D input=32x32x3 -D width=4 -D batch=4 "$@" -o "$dir/$name.c" >/dev/null
    $cc $NET_CFLAGS -Iruntime "$dir/$name.c" -L"$b" -lflatnet -lstb -lcjson -lm -lz \
        -o "$dir/$name"
    "$dir/$name" train --data "$dir/images" --valid "$dir/images" --epochs 1 --lr 0.0001 \
        --threads 2 --save "$dir/$name.safetensors" >/dev/null
    tests/st_meta.py "$dir/$name.safetensors" bn 7
    "$dir/$name" predict --probs --weights "$dir/$name.safetensors" --threads 2 $four \
        >"$dir/$name.predict"
}

# export NAME OUT GEN-ARGS...: gen --infer of NAME's checkpoint to OUT.c, OUT.h
export_net() {
    name=$1 out=$2
    shift 2
    "$gen" --infer --weights "$dir/$name.safetensors" -D input=32x32x3 -D width=4 -D batch=4 \
        "$@" -o "$dir/$out"
}

# check NAME OUT [CFLAGS...]: OUT compiled (C99, no warnings) with top5 and
# compared with NAME's predict at n = 1, 3, 4 (top5 given $bin first, if set)
bin=
check() {
    name=$1 out=$2
    shift 2
    $cc $c99 -O1 -march=native "$@" -I"$dir" -DNET="$out" $stb examples/top5.c "$dir/$out.c" \
        -lstb -lm -o "$dir/$out.top5"
    for images in "$one" "$three" "$four"; do
        OMP_NUM_THREADS=2 "$dir/$out.top5" $bin $images >"$dir/$out.out"
        grep -qv '^ ' "$dir/$out.out" || fail "$out printed nothing"
        r=$(same_probs "$dir/$out.out" "$dir/$name.predict") ||
            fail "$out ($*) disagrees with $name predict --probs: $r"
    done
    echo "infer: $out ($*): n = 1, 3, 4 agree with predict --probs: $r"
}

# two at a time: each is mostly one compiler process
trainer r50 networks/resnet50.lua & p50=$!
trainer t50 -D variant=tutorial networks/resnet50.lua & t50=$!
trainer r18 networks/resnet18.lua
wait $p50 || fail "the ResNet-50 trainer"
wait $t50 || fail "the tutorial ResNet-50 trainer"
export_net r18 r18_infer networks/resnet18.lua
export_net r18 r18_block4 --block 4 networks/resnet18.lua
export_net r50 r50_infer networks/resnet50.lua
export_net t50 t50_infer -D variant=tutorial networks/resnet50.lua
check r18 r18_infer -fopenmp
check r18 r18_block4 -fopenmp -fsanitize=address -fno-omit-frame-pointer # malloc(ARENA_BYTES)
check r50 r50_infer -fopenmp
check t50 t50_infer -fopenmp

# serial (no OpenMP), and the other targets: C99 without warnings
export_net r18 r18_avx2 --target avx2 networks/resnet18.lua
export_net r18 r18_generic --target generic networks/resnet18.lua
check r18 r18_generic
$cc $c99 -O1 -march=native -c "$dir/r18_infer.c" -o "$dir/r18_infer.o"
# --separate-weights: the same numbers from r18_sep.bin, none in the C
export_net r18 r18_sep --separate-weights networks/resnet18.lua
bin=$dir/r18_sep.bin
check r18 r18_sep -fopenmp -DSEPARATE_WEIGHTS
bin=
[ $(wc -c <"$dir/r18_sep.c") -lt $(($(wc -c <"$dir/r18_infer.c") / 2)) ] ||
    fail "r18_sep.c holds the weights"
for f in "" -fopenmp; do
    $cc $c99 -O1 -mavx2 -mfma $f -c "$dir/r18_avx2.c" -o "$dir/r18_avx2.o"
done
grep -q 'flatnet.h' "$dir/r18_infer.c" "$dir/r18_infer.h" && fail "the export includes flatnet.h"
echo "infer: serial, avx2 and generic exports compile warning-free"

$cc $c99 -D_POSIX_C_SOURCE=200809L -O1 -march=native -fopenmp -I"$dir" -DNET=r18_infer \
    tests/infer_threads.c "$dir/r18_infer.c" -lm -lpthread -o "$dir/threads"
OMP_NUM_THREADS=2 "$dir/threads"

# ---- bad input: each named, exit 1, nothing written (an older export kept)
# refused MESSAGE CHECKPOINT [GEN-ARGS...]: gen --infer fails naming the file and MESSAGE
refused() {
    want=$1 ckpt=$2
    shift 2
    printf 'old\n' >"$dir/keep.c"
    printf 'old\n' >"$dir/keep.h"
    : >"$dir/err"
    before=$(ls "$dir" | wc -l)
    if "$gen" --infer --weights "$ckpt" -D input=32x32x3 -D width=4 -D batch=4 "$@" \
        -o "$dir/keep" networks/resnet18.lua 2>"$dir/err"; then
        fail "gen --infer took $ckpt"
    fi
    grep -qF -- "$ckpt" "$dir/err" || fail "the message does not name $ckpt: $(cat "$dir/err")"
    grep -qF -- "$want" "$dir/err" || fail "expected '$want', got: $(cat "$dir/err")"
    [ "$(cat "$dir/keep.c" "$dir/keep.h")" = "$(printf 'old\nold')" ] ||
        fail "a failed export changed keep.c or keep.h"
    [ "$(ls "$dir" | wc -l)" = "$before" ] || fail "a failed export left a file: $(ls "$dir")"
    echo "infer: refused: $(cat "$dir/err")"
}
refused "tensor 'layer1.0.conv1.weight' has shape [4, 4, 1, 1], the network's is [4, 4, 3, 3]" \
    "$dir/r50.safetensors"
refused "tensor 'conv1.weight' has shape [4, 3, 7, 7], the network's is [8, 3, 7, 7]" \
    "$dir/r18.safetensors" -D width=8
size=$(wc -c <"$dir/r18.safetensors")
head -c $((size - 100)) "$dir/r18.safetensors" >"$dir/truncated.safetensors"
refused "truncated: tensor 'fc.weight' ends at byte" "$dir/truncated.safetensors"
printf '\020\000\000\000\000\000\000\000{"a": [1, 2, 3, ' >"$dir/malformed.safetensors"
refused "the header is not valid JSON" "$dir/malformed.safetensors"
cp "$dir/r18.safetensors" "$dir/nan.safetensors"
tests/st_meta.py "$dir/nan.safetensors" poke layer2.0.conv1.weight 5 nan
refused "tensor 'layer2.0.conv1.weight' element 5 is NaN" "$dir/nan.safetensors"
cp "$dir/r18.safetensors" "$dir/inf.safetensors"
tests/st_meta.py "$dir/inf.safetensors" poke layer3.1.bn2.running_var 2 -inf
refused "tensor 'layer3.1.bn2.running_var' element 2 is infinite" "$dir/inf.safetensors"
rm "$dir/nan.safetensors" "$dir/inf.safetensors" "$dir/truncated.safetensors" \
    "$dir/malformed.safetensors"
for out in "$dir/no/such/dir/x" "$dir/keep.c/x"; do
    if "$gen" --infer --weights "$dir/r18.safetensors" -D input=32x32x3 -D width=4 -D batch=4 \
        -o "$out" networks/resnet18.lua 2>"$dir/err"; then
        fail "gen --infer wrote to $out"
    fi
    grep -qF "cannot write '$out.h'" "$dir/err" || fail "unwritable $out: $(cat "$dir/err")"
    ls "$dir" | grep -q tmp && fail "an unwritable -o left a temporary file"
    echo "infer: refused: $(cat "$dir/err")"
done
echo "infer: all passed"
