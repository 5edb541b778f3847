#!/bin/bash
# tune.sh - build/tune on a small network: the schedule file it writes is one
# gen -S takes; a second run takes every task from the cache; a candidate
# that does not compile, crashes or computes another output is dropped,
# named and never chosen; Ctrl-C keeps the finished tasks' cache; bad
# options are refused.
#
#   tests/tune.sh TUNE GEN DIR
set -u
TUNE=$1
GEN=$2
W=$3
rm -rf "$W" && mkdir -p "$W"
failures=0
checks=0
. tests/check_lib.sh

NET=tests/tune/tiny.lua
FAST="--rounds 3 --candidates 3"
# a run compiles its harnesses: minutes under AddressSanitizer, not seconds
CHECK_SECONDS=${CHECK_SECONDS:-300}

# ---- a tuning run, and its file through gen -S ----
check "tune" 0 "tune: 8 tasks: 8 measured, 0 from the cache" \
    "$TUNE" $FAST --cache "$W/cache" -o "$W/tiny.sched" "$NET"
cp "$W/out" "$W/first"
for pass in fwd bwd_data bwd_weights; do
    [ "$(grep -c "^tune: \[[0-9]/8\] .* $pass: " "$W/first")" -ge 2 ] ||
        fail "no progress line for $pass tasks"
done
grep -q '^target ' "$W/tiny.sched" && grep -q '^threads ' "$W/tiny.sched" &&
    grep -q '^compiler ' "$W/tiny.sched" || fail "the file does not say target, threads, compiler"
[ "$(grep -c '^conv.* # .* us; the model' "$W/tiny.sched")" = 8 ] ||
    fail "the file has not a measured record for each of the 8 tasks"
"$GEN" -S "$W/tiny.sched" -o "$W/tiny.c" "$NET" || fail "gen -S refused the tuned file"
grep -q "the cost model, with the records tiny.sched sets" "$W/tiny.c" ||
    fail "the generated C does not name the tuned file"
checks=$((checks + 7))

# ---- the cache: a second run measures nothing ----
check "tune again" 0 "tune: 8 tasks: 0 measured, 8 from the cache" \
    "$TUNE" $FAST --cache "$W/cache" -o "$W/again.sched" "$NET"
[ "$(grep -c '(cached)' "$W/out")" = 8 ] || fail "not every task came from the cache"
checks=$((checks + 1))
# a line whose kernel is no longer the code gen writes (its hash, the last
# field) is measured again, not used
sed -i '1s/\t[0-9a-f]*$/\t0123456789abcdef/' "$W/cache/tune-cache.txt"
check "a stale cache line" 0 "tune: 8 tasks: 1 measured, 7 from the cache" \
    "$TUNE" $FAST --cache "$W/cache" -o "$W/again.sched" "$NET"

# ---- sabotaged candidates: dropped, named, not chosen ----
FLATNET_TUNE_FAULT=compile:0:1,crash:2:1,wrong:3:2 "$TUNE" $FAST --verbose --cache "$W/cache-faults" \
    -o "$W/faults.sched" "$NET" >"$W/faults" 2>&1 || fail "tune with faults: exit status $?"
# fault TASK REASON: task TASK's line names one candidate dropped for REASON, not chosen
fault() {
    local line dropped chosen
    line=$(grep "^tune: \[$(($1 + 1))/8\]" "$W/faults")
    checks=$((checks + 2))
    case "$line" in
    *"1 dropped; dropped "*" ($2)") ;;
    *) fail "a fault in task $1: not one candidate dropped as '$2': $line" ;;
    esac
    dropped=$(sed 's/.*; dropped \(.*\) (.*/\1/' <<<"$line")
    chosen=$(sed 's/^tune: \[[0-9]*\/8\] [^:]*: \(.*\) [0-9.]* us, the model.*/\1/' <<<"$line")
    [ "$dropped" != "$chosen" ] || fail "a fault in task $1: the dropped tile $dropped was chosen"
}
fault 0 "did not compile"
fault 2 "crashed"
fault 3 "its output differs"
# --verbose: under each task's line a line for each candidate that matched,
# the model's named; the dropped one is not among them
listed() {
    awk -v t="[$(($1 + 1))/8]" '/^tune: \[/ { on = index($0, t) == 7; next }
        on && /^tune:     / { n++ } END { print n + 0 }' "$W/faults"
}
checks=$((checks + 3))
[ "$(listed 4)" = 3 ] || fail "--verbose: task 4 lists $(listed 4) candidates, not 3"
[ "$(listed 3)" = 2 ] || fail "--verbose: task 3 lists $(listed 3) candidates, not the 2 that matched"
[ "$(grep -c "^tune:     .* 1.00x  (the model's)$" "$W/faults")" = 8 ] ||
    fail "--verbose: not every task lists the model's tile"

# ---- the candidates: a flat 1x1 is measured on both sides of the model's
# chunk rule: avx512 takes the L1 budget's chunk (4 of 8 blocks) and also
# measures every block, zen5 the other way round ----
for side in avx512:4:8 zen5:8:4; do
    target=${side%%:*} model=${side#*:} model=${model%%:*} other=${side##*:}
    check "tune a flat 1x1 for $target" 0 "tune: 2 tasks: 2 measured" \
        "$TUNE" $FAST --target "$target" --verbose --cache "$W/cache-flat-$target" \
        -o "$W/flat.sched" tests/tune/flat.lua
    checks=$((checks + 2))
    grep -q "^tune:     p=5 q=4 chunk=$model outer=blocks .*(the model's)$" "$W/out" ||
        fail "$target: the flat 1x1's model tile is not p=5 q=4 chunk=$model (the test needs a new tile)"
    grep -q "^tune:     p=5 q=4 chunk=$other outer=blocks " "$W/out" ||
        fail "$target: the flat 1x1 was not measured with chunk=$other beside the model's"
done
# ---- and a 1x1's dW on both sides of weight_task's rules: avx512 groups
# its tasks over L1 slices of dY and also measures a task a tile over whole
# rows, zen5 the other way round ----
for side in "avx512:ob=4 chunk=2 p=196:ob=2 chunk=1 p=784" "zen5:ob=2 chunk=1 p=784:ob=4 chunk=2 p=196"; do
    target=${side%%:*} model=${side#*:} model=${model%%:*} other=${side##*:}
    check "tune a 1x1's dW for $target" 0 "tune: 2 tasks: 2 measured" \
        "$TUNE" $FAST --target "$target" --verbose --cache "$W/cache-dw-$target" \
        -o "$W/dw.sched" tests/tune/dw.lua
    checks=$((checks + 2))
    grep -q "^tune:     q=2 cc=8 $model .*(the model's)$" "$W/out" ||
        fail "$target: the 1x1's dW model tile is not q=2 cc=8 $model (the test needs a new tile)"
    grep -q "^tune:     q=2 cc=8 $other " "$W/out" ||
        fail "$target: the 1x1's dW was not measured with $other beside the model's"
done
# a cached choice is the best of its candidates: another set is measured anew
check "tune with other candidates" 0 "tune: 2 tasks: 2 measured, 0 from the cache" \
    "$TUNE" --rounds 3 --candidates 2 --target avx512 --cache "$W/cache-flat-avx512" -o "$W/flat.sched" tests/tune/flat.lua
check "tune with those again" 0 "tune: 2 tasks: 0 measured, 2 from the cache" \
    "$TUNE" --rounds 3 --candidates 2 --target avx512 --cache "$W/cache-flat-avx512" -o "$W/flat.sched" tests/tune/flat.lua

# ---- Ctrl-C: what finished stays cached ----
"$TUNE" --rounds 30 --candidates 3 --cache "$W/cache-int" -o "$W/int.sched" "$NET" \
    >"$W/int.out" 2>&1 &
pid=$!
for _ in $(seq 600); do
    [ -s "$W/cache-int/tune-cache.txt" ] && break
    sleep 0.1
done
kill -INT $pid
wait $pid
status=$?
checks=$((checks + 3))
[ "$status" = 130 ] || fail "Ctrl-C: exit status $status, expected 130"
grep -q "tune: interrupted: .* tasks measured and cached" "$W/int.out" ||
    fail "Ctrl-C: no message saying what was kept"
[ -e "$W/int.sched" ] && fail "Ctrl-C: a schedule file was written"
kept=$(wc -l <"$W/cache-int/tune-cache.txt")
check "tune after Ctrl-C" 0 "$kept from the cache" \
    "$TUNE" $FAST --cache "$W/cache-int" -o "$W/int.sched" "$NET"

# ---- bad options ----
check "no -o" 2 "tune: -o FILE is required" "$TUNE" "$NET"
check "no network" 2 "tune: no network file" "$TUNE" -o "$W/x.sched"
check "a bad --threads" 2 "tune: --threads needs a whole number from 1 to 4096, got 'many'" \
    "$TUNE" --threads many -o "$W/x.sched" "$NET"
check "no compiler" 1 "tune: cannot run the C compiler 'no-such-cc' (set CC)" \
    env CC=no-such-cc "$TUNE" -o "$W/x.sched" "$NET"
check "a network that fails" 1 "tune: cannot read network file '$W/missing.lua'" \
    "$TUNE" -o "$W/x.sched" "$W/missing.lua"

echo "tune: $((checks - failures)) passed, $failures failed"
[ "$failures" = 0 ]
