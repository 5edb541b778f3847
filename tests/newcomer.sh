#!/bin/bash
# newcomer.sh - the newcomer's path of issue 11, end to end:
#   - gen finds a bare network name (and require()d modules) in the current
#     directory, -I dirs, FLATNET_PATH, then flatnet's networks, and says
#     where it looked when it does not; FLATNET_PATH naming a missing folder
#   - gen --version and a generated program's --version
#   - the #error a file compiled without its target's flags stops with
#   - gen --build: the program, the line it ran, a missing compiler, a failed
#     compile (the compiler's message, no half-written program)
#   - make install / uninstall (PREFIX, DESTDIR, an unwritable PREFIX, a copy
#     that fails half-way), then from an empty folder with nothing but PATH and
#     PKG_CONFIG_PATH: gen resnet50.lua > resnet50.c and pkg-config, and a
#     small network generated, compiled, split and trained
#
#   tests/newcomer.sh BUILD_DIR
set -u
B=$1
# the compiler make uses ($(CC), which the sanitizer runs set); words split
export CC_CMD=${CC:-cc}
ROOT=$(pwd)
GEN=$ROOT/$B/gen
W=$ROOT/$B/tests/newcomer
rm -rf "$W"
mkdir -p "$W"
export OMP_NUM_THREADS=2
failures=0
checks=0
# compiles and the sanitizer builds' runs are slow on a busy machine
export CHECK_SECONDS=300
# shellcheck source=tests/check_lib.sh
. tests/check_lib.sh

# a network of a few layers, quick to compile: conv, bn, relu, pool, fc
TINY='local p = defaults{batch = 4, classes = 3}
local x = input{8, 8, 3, batch = p.batch}
x = relu(bn(conv(x, 8, 3, {pad = 1, name = "conv1"}), {name = "bn1"}))
return softmax_cross_entropy(fc(global_avgpool(x), p.classes, {name = "fc"}))'

# ---------------------------------------------------------------- search path
mkdir -p "$W/empty" "$W/inc" "$W/envdir" "$W/envdir2" "$W/mods"
cd "$W/empty" || exit 1
check "bare name, shipped network" 0 "layer4.2.conv3" "$GEN" --summary resnet50.lua
check "bare name without .lua" 0 "layer4.2.conv3" "$GEN" --summary resnet50
check "bare name found nowhere" 1 "network 'nosuch.lua' not found; looked in . (current directory), $W/inc (-I), $W/envdir (FLATNET_PATH), $ROOT/networks (flatnet's networks)" \
    env FLATNET_PATH="$W/envdir" "$GEN" -I "$W/inc" nosuch.lua
check "FLATNET_PATH naming a missing folder" 1 "FLATNET_PATH: '$W/missing' is not a directory" \
    env FLATNET_PATH="$W/envdir:$W/missing" "$GEN" --summary resnet18.lua
touch "$W/plain-file"
check "FLATNET_PATH naming a file" 1 "FLATNET_PATH: '$W/plain-file' is not a directory" \
    env FLATNET_PATH="$W/plain-file" "$GEN" --summary resnet18.lua
echo "$TINY" >"$W/inc/tiny.lua"
sed 's/8, 3, {pad/16, 3, {pad/' "$W/inc/tiny.lua" >"$W/envdir/tiny.lua"
check "-I before FLATNET_PATH" 0 "8x8x8" env FLATNET_PATH="$W/envdir" "$GEN" --summary -I "$W/inc" tiny
check "FLATNET_PATH" 0 "8x8x16" env FLATNET_PATH="$W/envdir2:$W/envdir" "$GEN" --summary tiny
cp "$W/envdir/tiny.lua" "$W/empty/tiny.lua"
check "current directory first" 0 "8x8x16" "$GEN" --summary -I "$W/inc" tiny.lua
rm -f "$W/empty/tiny.lua"
# a module from FLATNET_PATH, required by a network in another folder
printf 'return {width = 4}\n' >"$W/mods/widths.lua"
printf 'local w = require "widths"\nreturn require("resnet").build{block = require("resnet").basic, layers = {1, 1, 1, 1}, defaults = {width = w.width}}\n' \
    >"$W/inc/mine.lua"
check "require from FLATNET_PATH" 0 "layer1.0.conv1" env FLATNET_PATH="$W/mods" "$GEN" --summary -I "$W/inc" mine
check "require found nowhere" 1 "module 'widths' not found (looked for widths.lua in $W/inc, ., $W/inc, $ROOT/networks)" \
    "$GEN" --summary -I "$W/inc" mine
cd "$ROOT" || exit 1

# ------------------------------------------------------------------- version
# what the build baked in (the tree may have changed since), which must be
# this checkout's git describe, or "unknown" outside a git checkout
git_describe=$(sed -n 's/^#define FLATNET_GIT "\(.*\)"$/\1/p' "$B/version.h")
now=unknown
if [ -e .git ]; then
    now=$(git describe --tags --always 2>/dev/null || echo unknown)
fi
checks=$((checks + 1))
[ "${git_describe%-dirty}" = "$now" ] || fail "version.h says git '$git_describe', git describe says '$now'"
version=$(sed -n 's/^VERSION *:= *//p' Makefile)
check "gen --version" 0 "gen (flatnet) $version, git $git_describe" "$GEN" --version

# ----------------------------------------------------------- the target guard
echo "$TINY" >"$W/tiny.lua"
for t in avx512:-mavx512f zen5:-mavx512f avx2:"-mavx2 -mfma"; do
    target=${t%%:*} flags=${t#*:}
    "$GEN" --target "$target" -o "$W/guard_$target.c" "$W/tiny.lua"
    check "compiled without $target's flags" 1 "compile with -march=native (on a machine with" \
        $CC_CMD -O1 -fopenmp -I runtime -c -o "$W/guard_$target.o" "$W/guard_$target.c"
    checks=$((checks + 1))
    grep -qF -- "or $flags, or regenerate with gen --target" "$W/out" ||
        fail "guard $target: the message does not name $flags and gen --target"
    [ "$(grep -c 'error:' "$W/out")" -eq 1 ] && ! grep -qi 'psabi\|ABI' "$W/out" ||
        { fail "guard $target: more than the one #error:"; sed 's/^/    /' "$W/out" | head; }
done
check "compiled with the flags" 0 "" $CC_CMD -O1 -mavx2 -mfma -fopenmp -Werror -I runtime -c \
    -o "$W/guard_avx2.o" "$W/guard_avx2.c"

# --------------------------------------------------------------- gen --build
cd "$W" || exit 1
check "gen --build" 0 "-lflatnet -lstb -lcjson -lm -lz -o tinyprog.gen-" \
    "$GEN" --build -D classes=2 tiny.lua -o tinyprog
check "gen --build's program runs" 0 "tiny: input 8x8x3, batch 4, 2 classes" ./tinyprog --help
check "--version: gen" 0 "generated: gen $version, git $git_describe, target " ./tinyprog --version
check "--version: runtime" 0 "runtime:   libflatnet $version, git $git_describe" ./tinyprog --version
check "--version: command" 0 "command:   gen -D classes=2 tiny.lua" ./tinyprog --version
check "--version: compiler" 0 "compiler:  gcc " ./tinyprog --version
check "--version: --build's flags" 0 "flags:     $CC_CMD -O3 " ./tinyprog --version
check "gen --build, no -o: the network's name" 0 "-o tiny.gen-" "$GEN" --build tiny.lua
[ -x tiny ] || fail "gen --build tiny.lua made no ./tiny"
echo old >keep
check "gen --build, no compiler" 1 "cannot run the C compiler '$W/no-cc' (from CC): No such file or directory" \
    env CC="$W/no-cc" "$GEN" --build tiny.lua -o keep
check "gen --build, compile fails" 1 "unrecognized command-line option" \
    env CC="cc -fno-such-option" "$GEN" --build tiny.lua -o keep
checks=$((checks + 1))
grep -qF "gen: --build: nothing written to 'keep'" "$W/out" || fail "no 'nothing written' after a failed compile"
[ "$(cat keep)" = old ] || fail "a failed gen --build changed its output file"
ls -a | grep -q 'gen-' && fail "gen --build left temporary files: $(ls -a | grep gen-)"
"$GEN" -o tiny.c tiny.lua
$CC_CMD -O1 -march=native -fopenmp -I "$ROOT/runtime" tiny.c -L "$ROOT/$B" -lflatnet -lstb -lcjson -lm -lz -o tinycc
check "--version without --build" 0 "flags:     not recorded (compiled outside gen --build)" ./tinycc --version
cd "$ROOT" || exit 1

# ---------------------------------------------------------- make install
P=$W/prefix
MK=(make --no-print-directory -C "$ROOT" B="$B")
check "make install" 0 "install: " "${MK[@]}" install PREFIX="$P"
for f in bin/gen bin/flatnet-plot lib/libflatnet.a include/flatnet/flatnet.h \
    share/flatnet/networks/resnet50.lua share/flatnet/networks/resnet.lua lib/pkgconfig/flatnet.pc; do
    checks=$((checks + 1))
    [ -f "$P/$f" ] || fail "make install: no $P/$f"
done
checks=$((checks + 1))
grep -q -- "-lflatnet -lstb -lcjson -lm -lz -fopenmp" "$P/lib/pkgconfig/flatnet.pc" || fail "flatnet.pc: Libs"
checks=$((checks + 1))
if [ -f "$B/libflatnet_mpi.a" ]; then
    [ -f "$P/lib/libflatnet_mpi.a" ] || fail "make install: $B/libflatnet_mpi.a is built but not installed"
else
    [ -e "$P/lib/libflatnet_mpi.a" ] && fail "make install: libflatnet_mpi.a installed but never built"
fi

# a new user: an empty folder, the install on PATH and PKG_CONFIG_PATH only
U=$W/user
mkdir -p "$U"
cd "$U" || exit 1
export PATH="$P/bin:$PATH" PKG_CONFIG_PATH="$P/lib/pkgconfig"
checks=$((checks + 1))
[ "$(command -v gen)" = "$P/bin/gen" ] || fail "gen on PATH is $(command -v gen)"
check "installed: gen resnet50.lua > resnet50.c" 0 "" sh -c 'gen resnet50.lua > resnet50.c'
check "installed: resnet50.c with pkg-config" 0 "" sh -c \
    '$CC_CMD -fsyntax-only -march=native resnet50.c $(pkg-config --cflags flatnet)'
check "installed: gen small net" 0 "" sh -c \
    'gen -D depth=8 -D input=16x16x3 -D batch=8 -D classes=3 resnet20.lua > small.c'
check "installed: compile with pkg-config" 0 "" sh -c \
    '$CC_CMD -O1 -march=native small.c $(pkg-config --cflags --libs flatnet) -o small'
"$ROOT/$B/shapes" images --per-class 20 --size 16 --seed 3 >/dev/null
mkdir -p images/triangle/more && mv images/triangle/0001.png images/triangle/more/
printf 'not an image' >images/circle/notes.txt
check "installed: split" 0 "left out images/circle/notes.txt" ./small split images data
checks=$((checks + 1))
grep -q "^all  *36  *12  *12  *60$" "$W/out" || { fail "split's table:"; cat "$W/out"; }
checks=$((checks + 1))
ls data/*/triangle/more/0001.png >/dev/null 2>&1 || fail "split: triangle/more/0001.png not placed in its folder"
check "installed: train" 0 "epoch 2" ./small train --data data/train --epochs 2 --threads 2 \
    --save model.safetensors
check "installed: evaluate" 0 "accuracy" ./small evaluate --data data/test --weights model.safetensors
mkdir -p junk/a && printf 'x' >junk/a/x.png
check "split of a folder with no image" 1 "junk: none of its 1 files is a readable image" ./small split junk junkout
[ -e junkout ] && fail "split of a folder with no image wrote junkout"
check "installed: gen --build" 0 "-I$P/include/flatnet -L$P/lib -lflatnet" gen --build -D batch=2 "$W/tiny.lua" -o built
check "installed: flatnet-plot" 1 "plot: nothing.csv: cannot read" flatnet-plot nothing.csv out.png
cd "$ROOT" || exit 1

n_installed=$(find "$P" -type f | wc -l)
check "make uninstall" 0 "uninstall: removed $n_installed files" "${MK[@]}" uninstall PREFIX="$P"
checks=$((checks + 1))
[ -z "$(find "$P" -type f)" ] || fail "make uninstall left $(find "$P" -type f | head -3)"

# DESTDIR: staged under it, flatnet.pc naming the real PREFIX
check "make install DESTDIR" 0 "install: " "${MK[@]}" install DESTDIR="$W/stage" PREFIX=/opt/flatnet
checks=$((checks + 1))
[ -x "$W/stage/opt/flatnet/bin/gen" ] && grep -q "^prefix=/opt/flatnet$" "$W/stage/opt/flatnet/lib/pkgconfig/flatnet.pc" ||
    fail "DESTDIR: not staged under $W/stage/opt/flatnet"
check "staged gen finds its networks" 0 "layer1.0.conv1" "$W/stage/opt/flatnet/bin/gen" --summary resnet18
check "make uninstall DESTDIR" 0 "uninstall: removed $n_installed files" "${MK[@]}" uninstall DESTDIR="$W/stage" PREFIX=/opt/flatnet

# an unwritable PREFIX (a file where a folder must be: root ignores modes)
touch "$W/a-file"
# (make's status is 2 when a recipe fails)
check "install into a file" 2 "cannot make $W/a-file/sub/bin" "${MK[@]}" install PREFIX="$W/a-file/sub"
checks=$((checks + 1))
grep -qF "nothing was installed" "$W/out" || fail "install into a file: no 'nothing was installed'"
# a copy that fails half-way (a folder where flatnet-plot goes): what was
# installed is taken back and named
mkdir -p "$W/half/bin/flatnet-plot/x"
check "install failing half-way" 2 "took back what this run had installed: bin/gen" \
    "${MK[@]}" install PREFIX="$W/half"
checks=$((checks + 1))
[ -e "$W/half/bin/gen" ] && fail "install failing half-way left bin/gen"
check "PREFIX not absolute" 2 "PREFIX must be an absolute path" "${MK[@]}" install PREFIX=relative

echo "newcomer: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
