#!/bin/bash
# fuzz_found.sh - inputs the fuzzers found (docs/RELIABILITY.md), each through
# the command that reads such a file, checked for a clear message instead of
# the crash it caused.  (The fuzzers' own inputs are in fuzz/corpus/*/found_*,
# which make fuzz-corpus replays.)
#
#   tests/fuzz_found.sh DIR SHAPES
#
# DIR holds net3 (tests/runtime.mk); work files go to DIR/found.
set -u
NET=$1/net3
SHAPES=$2
W=$1/found
rm -rf "$W" && mkdir -p "$W"
failures=0
checks=0

fail() {
    echo "fuzz_found: FAIL: $*"
    failures=$((failures + 1))
}

# check NAME WANT_STATUS TEXT CMD...
check() {
    local name=$1 want=$2 text=$3
    shift 3
    checks=$((checks + 1))
    "$@" >"$W/out" 2>&1
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "$name: exit status $got, expected $want: $*"
        sed 's/^/    /' "$W/out" | head -10
    elif ! grep -qF -- "$text" "$W/out"; then
        fail "$name: no '$text' in:"
        sed 's/^/    /' "$W/out" | head -10
    fi
}

"$SHAPES" "$W/src" --per-class 4 --size 16 --seed 1 >/dev/null || exit 1
M=$W/m.safetensors
"$NET" train --data "$W/src" --epochs 1 --batches 1 --save "$M" >/dev/null 2>&1 || exit 1

# fuzz_image: a PGM or PPM of width or height 0 decoded to no pixels, and
# resizing them aborted in stb_image_resize (every command that reads images)
printf 'P5\n0 0\n255\n' >"$W/empty.pgm"
printf 'P6\n0 5\n255\n' >"$W/flat.ppm"
check "a 0 x 0 PGM" 1 "$W/empty.pgm: a 0 x 0 image has no pixels" "$NET" predict --weights "$M" "$W/empty.pgm"
check "a 0 x 5 PPM" 1 "$W/flat.ppm: a 0 x 5 image has no pixels" "$NET" predict --weights "$M" "$W/flat.ppm"
cp "$W/empty.pgm" "$W/src/circle/empty.pgm"
check "training beside a 0 x 0 PGM" 0 "skipped 1 file" \
    "$NET" train --data "$W/src" --epochs 1 --save "$W/t.safetensors"

# fuzz_image: a JPEG whose Huffman table has more than 256 codes, which
# stb_image 2.27 writes past its arrays (jpeg_guard.c); the corpus file has
# fuzz_image's two configuration bytes in front
tail -c +3 fuzz/corpus/image/found_jpeg_dht_overflow >"$W/dht.jpg"
check "a JPEG Huffman table of 2301 codes" 1 "$W/dht.jpg: corrupt JPEG: a Huffman table of more than 256 codes" \
    "$NET" predict --weights "$M" "$W/dht.jpg"

# fuzz_image: a 16-bit PGM converted to the network's 3 channels, which
# stb_image 2.27 does past its buffers (image.c refuses 16-bit PGM and PPM)
tail -c +3 fuzz/corpus/image/found_pnm16_convert >"$W/deep.pgm"
check "a 16-bit PGM" 1 "$W/deep.pgm: a 16-bit PGM, which this stb_image (2.27) cannot decode" \
    "$NET" predict --weights "$M" "$W/deep.pgm"
cp "$W/deep.pgm" "$W/src/circle/deep.pgm"
check "training beside a 16-bit PGM" 0 "skipped 2 files" \
    "$NET" train --data "$W/src" --epochs 1 --save "$W/t2.safetensors"

# fuzz_image: a 100-byte PNG whose second IDAT chunk states a length far past
# the end of the file, for which stb_image 2.27 allocated 256 MiB before
# reading (image.c checks every chunk against the file's size first)
tail -c +3 fuzz/corpus/image/found_png_idat_length >"$W/long.png"
check "a PNG chunk past the end" 1 "$W/long.png: truncated PNG: a chunk runs past the end of the file" \
    "$NET" predict --weights "$M" "$W/long.png"

# fuzz_image: a PGM header number of 13 digits, which stb_image 2.27 parses
# into an int past its range (undefined behaviour; image.c checks the digits)
tail -c +3 fuzz/corpus/image/found_pnm_long_number >"$W/long.pgm"
check "a 13-digit PGM width" 1 "$W/long.pgm: corrupt PGM or PPM header: a number of more than 9 digits" \
    "$NET" predict --weights "$M" "$W/long.pgm"

# fuzz_image: the same overflow behind 100 fill bytes (0xFF) before SOI,
# which stb_image skips and jpeg_guard.c did not
tail -c +3 fuzz/corpus/image/found_jpeg_fill_before_soi >"$W/fill.jpg"
check "a JPEG of 854 codes behind fill bytes" 1 "$W/fill.jpg: corrupt JPEG: a Huffman table of more than 256 codes" \
    "$NET" predict --weights "$M" "$W/fill.jpg"

# fuzz_image: the same, a 33-digit maxval after a comment that follows the
# height with no space between (the check had dropped the '#')
tail -c +3 fuzz/corpus/image/found_pnm_comment_after_number >"$W/comment.ppm"
check "a 33-digit PPM maxval after a comment" 1 "$W/comment.ppm: corrupt PGM or PPM header: a number of more than 9 digits" \
    "$NET" predict --weights "$M" "$W/comment.ppm"

# fuzz_image: a progressive JPEG whose AC scan names a Huffman table no DHT
# defined, which stb_image 2.27 reads uninitialised and indexes its arrays
# with (jpeg_guard.c checks every scan's tables)
tail -c +3 fuzz/corpus/image/found_jpeg_undefined_table >"$W/undefined.jpg"
check "a JPEG scan with an undefined table" 1 "$W/undefined.jpg: corrupt JPEG: a scan decodes with a Huffman table that no DHT defines" \
    "$NET" predict --weights "$M" "$W/undefined.jpg"

echo "fuzz_found: $checks checks, $failures failed"
[ $failures = 0 ]
