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

. tests/check_lib.sh

"$SHAPES" "$W/src" --per-class 4 --size 16 --seed 1 >/dev/null || exit 1
M=$W/m.safetensors
"$NET" train --data "$W/src" --epochs 1 --batches 1 --save "$M" >/dev/null 2>&1 || exit 1

# found_image NAME INPUT FILE TEXT: fuzz/corpus/image/INPUT without fuzz_image's
# two configuration bytes in front, as FILE, through predict: status 1, and
# "FILE: TEXT" said
found_image() {
    tail -c +3 "fuzz/corpus/image/$2" >"$W/$3"
    check "$1" 1 "$W/$3: $4" "$NET" predict --weights "$M" "$W/$3"
}

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
# stb_image 2.27 writes past its arrays (jpeg_guard.c)
found_image "a JPEG Huffman table of 2301 codes" found_jpeg_dht_overflow dht.jpg \
    "corrupt JPEG: a Huffman table of more than 256 codes"

# fuzz_image: a 16-bit PGM converted to the network's 3 channels, which
# stb_image 2.27 does past its buffers (image.c refuses 16-bit PGM and PPM)
found_image "a 16-bit PGM" found_pnm16_convert deep.pgm \
    "a 16-bit PGM, which this stb_image (2.27) cannot decode"
cp "$W/deep.pgm" "$W/src/circle/deep.pgm"
check "training beside a 16-bit PGM" 0 "skipped 2 files" \
    "$NET" train --data "$W/src" --epochs 1 --save "$W/t2.safetensors"

# fuzz_image: a 100-byte PNG whose second IDAT chunk states a length far past
# the end of the file, for which stb_image 2.27 allocated 256 MiB before
# reading (image.c checks every chunk against the file's size first)
found_image "a PNG chunk past the end" found_png_idat_length long.png \
    "truncated PNG: a chunk runs past the end of the file"

# fuzz_image: a PGM header number of 13 digits, which stb_image 2.27 parses
# into an int past its range (undefined behaviour; image.c checks the digits)
found_image "a 13-digit PGM width" found_pnm_long_number long.pgm \
    "corrupt PGM or PPM header: a number of more than 9 digits"

# fuzz_image: the same overflow behind 100 fill bytes (0xFF) before SOI,
# which stb_image skips and jpeg_guard.c did not
found_image "a JPEG of 854 codes behind fill bytes" found_jpeg_fill_before_soi fill.jpg \
    "corrupt JPEG: a Huffman table of more than 256 codes"

# fuzz_image: the same, a 33-digit maxval after a comment that follows the
# height with no space between (the check had dropped the '#')
found_image "a 33-digit PPM maxval after a comment" found_pnm_comment_after_number comment.ppm \
    "corrupt PGM or PPM header: a number of more than 9 digits"

# fuzz_image: a progressive JPEG whose AC scan names a Huffman table no DHT
# defined, which stb_image 2.27 reads uninitialised and indexes its arrays
# with (jpeg_guard.c checks every scan's tables)
found_image "a JPEG scan with an undefined table" found_jpeg_undefined_table undefined.jpg \
    "corrupt JPEG: a scan decodes with a Huffman table that no DHT defines"

echo "fuzz_found: $checks checks, $failures failed"
[ $failures = 0 ]
