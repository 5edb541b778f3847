#!/bin/sh
# variants.sh - hand schedules of one network timed in its trainer, side by
# side in one run: does this tile beat the model's where it matters, in the
# trainer rather than the tuner's harness?
#
#   benchmarks/variants.sh [--threads N] [--steps N] [--rounds N] [-D key=value]...
#                          NETWORK.lua VARIANTS
#
# VARIANTS holds one line a schedule record, `NAME SELECTOR PASS FIELD=VALUE...`
# (the rest of the line is a gen -S line); the lines of one NAME make that
# variant's schedule file, and a NAME alone on its line is the model's
# schedule.  Each variant's trainer is generated and compiled as ab.sh does;
# `profile --calls` alternates them for --rounds rounds.  Printed: a row a
# conv pass (and the step), a column a variant, each its median ms over the
# rounds and its fastest in brackets (on a loaded machine the least
# disturbed).
set -eu

THREADS=2
STEPS=10
ROUNDS=5
DEFS=""
while [ $# -gt 2 ]; do
    case "$1" in
    --threads) THREADS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -D) DEFS="$DEFS -D $2"; shift 2 ;;
    *) break ;;
    esac
done
if [ $# -ne 2 ] || [ ! -r "$1" ] || [ ! -r "$2" ]; then
    echo "usage: variants.sh [--threads N] [--steps N] [--rounds N] [-D key=value]... NETWORK.lua VARIANTS" >&2
    exit 2
fi
NET=$1
VARIANTS=$2
DIR=build/variants
rm -rf "$DIR"
mkdir -p "$DIR"
make -s build/gen build/libflatnet.a

. benchmarks/stats.sh
. benchmarks/trainer.sh

# calls OUT: "layer pass ms" for each conv pass in a profile --calls table
calls() {
    awk '{ for (i = NF; i > 2; i--) if ($i ~ /^conv[0-9].*_(fwd|bwd_data|bwd_weights)(_|$)/) break
           if (i == 2) next
           pass = $i ~ /_fwd(_|$)/ ? "fwd" : $i ~ /_bwd_weights(_|$)/ ? "bwd_weights" : "bwd_data"
           for (j = 3; j < i; j++) if ($j ~ /^[0-9]+\.[0-9]+$/) { print $1, pass, $j; next } }' "$1"
}

NAMES=$(awk 'NF && $1 !~ /^#/ && !seen[$1]++ { print $1 }' "$VARIANTS")
for v in $NAMES; do
    awk -v v="$v" '$1 == v && NF > 1 { $1 = ""; sub(/^ /, ""); print }' "$VARIANTS" >"$DIR/$v.sched"
    # shellcheck disable=SC2086 # DEFS is a list of -D arguments
    build/gen $DEFS -S "$DIR/$v.sched" -o "$DIR/$v.c" "$NET"
    trainer_cc "$DIR/$v.c" "$DIR/$v"
done

r=0
while [ $r -lt "$ROUNDS" ]; do
    for v in $NAMES; do
        "$DIR/$v" profile --threads "$THREADS" --steps "$STEPS" --warmup 3 --calls >"$DIR/$v.$r.out"
    done
    r=$((r + 1))
done

echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores;" \
    "$THREADS threads; $STEPS steps after 3 untimed, $ROUNDS rounds alternating"
for v in $NAMES; do
    records=$(sed 's/#.*//; s/[[:space:]]*$//' "$DIR/$v.sched" | awk 'NF' | tr '\n' ';' | sed 's/;$//; s/;/; /g')
    [ -n "$records" ] || records="the model's schedule"
    echo "$v: $records"
    # each conv pass's median ms over the rounds and its fastest, then the step's
    calls "$DIR/$v.0.out" | while read -r layer pass ms; do
        times=$(for f in "$DIR/$v".*.out; do
            calls "$f" | awk -v l="$layer" -v p="$pass" '$1 == l && $2 == p { print $3 }'
        done)
        echo "$layer $pass $(echo "$times" | median) $(echo "$times" | minimum)"
    done >"$DIR/$v.table"
    step=$(sed -n 's/^step: median \([0-9.]*\) ms.*/\1/p' "$DIR/$v".*.out)
    echo "step - $(echo "$step" | median) $(echo "$step" | minimum)" >>"$DIR/$v.table"
done
# a row a conv pass, a column a variant: median ms (fastest)
printf '\n%-24s %-12s' layer pass
for v in $NAMES; do printf ' %16s' "$v"; done
echo
awk '{ key = $1 " " $2 }
     !(key in seen) { seen[key] = 1; order[++n] = key }
     { cell[key, FILENAME] = sprintf("%.2f (%.2f)", $3, $4) }
     FNR == 1 { files[++f] = FILENAME }
     END { for (i = 1; i <= n; i++) {
               split(order[i], k, " ")
               printf "%-24s %-12s", k[1], k[2]
               for (j = 1; j <= f; j++) printf " %16s", cell[order[i], files[j]]
               print "" } }' $(for v in $NAMES; do echo "$DIR/$v.table"; done)
