# group_lib.sh - what accumulate.sh and mpi.sh share; sourced with W (the
# work folder, fresh), STCMP and SHAPES set.  Writes the images: W/train
# (48 in 3 classes) and W/valid (9).
. "$(dirname "$0")/check_lib.sh"
failures=0
checks=0

"$SHAPES" "$W/train" --per-class 16 --size 12 --seed 3 >/dev/null || exit 1
"$SHAPES" "$W/valid" --per-class 3 --size 12 --seed 4 >/dev/null || exit 1

# same A B: A's and B's weights and statistics, optimizer state and best
# model (W/A.safetensors and its siblings), bitwise
same() {
    local suffix
    for suffix in "" .optim .best; do
        "$STCMP" "$W/$1$suffix.safetensors" "$W/$2$suffix.safetensors" >"$W/cmp" 2>&1 ||
            fail "$1 and $2: $(cat "$W/cmp")"
    done
}

# run NAME CMD...: CMD's output into W/NAME.out; a failure is reported
run() {
    local name=$1
    shift
    "$@" >"$W/$name.out" 2>&1 || fail "$name: exit $?: $(tail -3 "$W/$name.out")"
}
