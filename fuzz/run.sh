#!/bin/sh
# run.sh BUILD TARGET SECONDS - fuzzes BUILD/fuzz_TARGET for SECONDS, starting
#   from fuzz/corpus/TARGET and growing BUILD/corpus/TARGET; a finding's input
#   goes to BUILD/crashes/TARGET/.  One line per run is added to
#   BUILD/fuzz-history.txt: date, target, seconds, executions, status.
# run.sh BUILD TARGET replay - runs each seed of fuzz/corpus/TARGET once.
#
# Fails (status 1) on a crash, a sanitizer report, a leak or a timeout.
set -u
B=$1
T=$2
mode=$3
bin=$B/fuzz_$T
# Per input: 25 s at most, 2 GiB of memory.  The image decoder may not make
# one allocation of 64 MiB: its input is limited to 1 Mi pixels (fuzz_image.c).
opts="-timeout=25 -rss_limit_mb=2048 -print_final_stats=1"
case $T in
image) opts="$opts -max_len=65536 -malloc_limit_mb=64" ;;
gen) opts="$opts -max_len=8192 -dict=fuzz/gen.dict" ;;
sched) opts="$opts -max_len=4096 -dict=fuzz/sched.dict" ;;
*) opts="$opts -max_len=16384" ;;
esac
# FUZZ_FLAGS adds libFuzzer flags, e.g. "-fork=1 -ignore_crashes=1" to go on
# after a finding and collect them all
opts="$opts ${FUZZ_FLAGS:-}"
mkdir -p "$B/logs"
log=$B/logs/$T.log

if [ "$mode" = replay ]; then
    # shellcheck disable=SC2086
    if ! "$bin" $opts "fuzz/corpus/$T"/* >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz-corpus: $T: FAILED (log: $log)"
        exit 1
    fi
    echo "fuzz-corpus: $T: $(ls "fuzz/corpus/$T" | wc -l) inputs, no finding"
    exit 0
fi

corpus=$B/corpus/$T
crashes=$B/crashes/$T
mkdir -p "$corpus" "$crashes"
# shellcheck disable=SC2086
"$bin" $opts -max_total_time="$mode" -artifact_prefix="$crashes/" "$corpus" "fuzz/corpus/$T" \
    >"$log" 2>&1
status=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
result=$([ $status = 0 ] && echo "no finding" || echo "FINDING (status $status)")
line="$(date -u +%Y-%m-%dT%H:%MZ) $T ${mode}s ${execs:-?} executions, corpus $(ls "$corpus" | wc -l), $result"
echo "$line" >>"$B/fuzz-history.txt"
echo "fuzz: $line"
if [ $status != 0 ]; then
    grep -A30 -m1 -E "ERROR|==[0-9]+==|SUMMARY|timeout|runtime error" "$log" | head -50
    echo "fuzz: $T: the input is in $crashes/ (log: $log)"
    exit 1
fi
