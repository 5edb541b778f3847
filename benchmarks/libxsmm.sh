#!/bin/sh
# libxsmm.sh - ResNet-50's convolution passes, flatnet against LIBXSMM, per layer.
#
#   benchmarks/libxsmm.sh [--threads N] [--rounds N] [--steps N] [--runs N]
#
# Builds benchmarks/libxsmm_conv.c (Debian's libxsmm-dev, its libxsmm_dnn
# direct convolutions) and a ResNet-50 trainer (224x224, batch 8), then
# alternates, for --rounds rounds, flatnet's `profile --calls` (--steps
# steps) and the harness (median of --runs runs a pass).  Each round hands
# the harness the FMA peak that round's `profile` measured.  The table holds
# the median over rounds of each side's milliseconds per layer and pass, the
# share of the median peak, and flatnet's time over LIBXSMM's (above 1:
# flatnet slower); the totals divide the summed FLOPs by the summed time.
# `make bench` runs this at its end; `make bench-libxsmm` runs it alone.
set -eu
. benchmarks/trainer.sh

THREADS=2
ROUNDS=3
STEPS=10
RUNS=10
while [ $# -gt 0 ]; do
    case "$1" in
    --threads) THREADS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    *) echo "usage: libxsmm.sh [--threads N] [--rounds N] [--steps N] [--runs N]" >&2; exit 2 ;;
    esac
done

DIR=build/bench
mkdir -p "$DIR"
harness=$DIR/libxsmm_conv
if [ ! -x "$harness" ] || [ -n "$(find benchmarks/libxsmm_conv.c -newer "$harness")" ]; then
    cc -O3 -march=native -fopenmp -Wall -Wextra -std=gnu11 benchmarks/libxsmm_conv.c \
        -lxsmm -lxsmmnoblas -lm -ldl -o "$harness"
fi
# the trainer bench.sh builds for its resnet50-224-b8 rows
exe=$DIR/resnet50-224x224x3-b8
if [ ! -x "$exe" ]; then
    build/gen -D batch=8 -D input=224x224x3 -D classes=3 -o "$exe.c" networks/resnet50.lua
    trainer_cc "$exe.c" "$exe"
fi

# Rows "flat layer pass ms GFLOP/s" and "xsmm layer pass ms GFLOP" from both programs, every round, in rows.
rows=$DIR/libxsmm.rows
: >"$rows"
: >"$DIR/libxsmm.peaks"
r=0
while [ $r -lt "$ROUNDS" ]; do
    "$exe" profile --calls --threads "$THREADS" --steps "$STEPS" --warmup 3 >"$DIR/libxsmm.flat"
    peak=$(sed -n 's/.*FMA peak \([0-9.]*\) GFLOP\/s.*/\1/p' "$DIR/libxsmm.flat")
    echo "$peak" >>"$DIR/libxsmm.peaks"
    # "conv", "conv backward data[, added]", "conv backward weights": ms, GFLOP/s
    # follow; a packed strided 1x1's pack step (forward) and scatter step
    # (backward data) have no GFLOP/s and count in their pass's time, as
    # LIBXSMM's own handling of the stride counts in its
    awk '$2 == "conv" {
            pass = $3 == "backward" ? ($4 ~ /^data/ ? "bwd_data" : "bwd_weights") : "fwd"
            for (i = 3; $i !~ /^[0-9.]+$/; i++) ;
            key = $1 " " pass
            if (!(key in ms)) order[n++] = key
            ms[key] += $i
            if ($(i + 1) ~ /^[0-9.]+$/) gflop[key] += $i * $(i + 1) }
        END { for (k = 0; k < n; k++) print "flat", order[k], ms[order[k]], gflop[order[k]] / ms[order[k]] }' \
        "$DIR/libxsmm.flat" >>"$rows"
    OMP_NUM_THREADS=$THREADS "$harness" --peak "$peak" --runs "$RUNS" >"$DIR/libxsmm.xsmm"
    awk '$2 ~ /^(fwd|bwd_data|bwd_weights)$/ { print "xsmm", $1, $2, $3, $3 * $4 / 1e3 }' \
        "$DIR/libxsmm.xsmm" >>"$rows"
    r=$((r + 1))
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
peak=$(sort -g "$DIR/libxsmm.peaks" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo "machine: $cpu, $(nproc) cores; $THREADS threads; ResNet-50 224x224 batch 8; $ROUNDS rounds alternating"
echo "flatnet: profile --calls, mean of $STEPS steps after 3 untimed"
echo "xsmm:    $(sed -n '1s/; FMA peak.*(given)//p' "$DIR/libxsmm.xsmm")"
echo "each side: median of its rounds; peak: $peak GFLOP/s, the median of the rounds' measured FMA peak"
echo "ratio: flatnet's time over LIBXSMM's (above 1: flatnet slower)"
# A row per layer and pass in the harness's order (layer by layer, forward
# first), each side's median over its rounds.  flatnet's GFLOP/s (one
# decimal) must agree with the harness's FLOP count, or the two count
# different work.
awk -v peak="$peak" -v rounds="$ROUNDS" '
function median(key,   n, i, j, t, v) {
    n = split(ms[key], v, " ")
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function pct(gflop, msec) { return 100 * gflop / msec * 1e3 / peak }
function row(name, pass, f, x, g) {
    printf "%-24s %-12s %9.2f %5.1f%% %9.2f %5.1f%% %5.2fx\n", name, pass, f, pct(g, f), x, \
        pct(g, x), f / x
}
{
    key = $2 " " $3
    if ($1 == "xsmm" && !(key in gflop)) order[++n] = key
    ms[$1 " " key] = ms[$1 " " key] " " $4
    count[$1 " " key]++
    if ($1 == "xsmm") gflop[key] = $5; else { flat_ms[key] = $4; flat_rate[key] = $5 }
}
END {
    for (key in flat_ms)
        if (!(key in gflop)) {
            printf "libxsmm.sh: flatnet runs %s, the harness does not\n", key > "/dev/stderr"
            bad = 1
        }
    printf "\n%-24s %-12s %9s %6s %9s %6s %6s\n", "layer", "pass", "flat ms", "peak", \
        "xsmm ms", "peak", "ratio"
    for (i = 1; i <= n; i++) {
        key = order[i]
        if (count["flat " key] != rounds || count["xsmm " key] != rounds) {
            printf "libxsmm.sh: %s is not in every round of both programs\n", key > "/dev/stderr"
            bad = 1; continue
        }
        rate = gflop[key] / flat_ms[key] * 1e3
        if (rate - flat_rate[key] > 0.06 + 0.01 * rate || flat_rate[key] - rate > 0.06 + 0.01 * rate) {
            printf "libxsmm.sh: %s: flatnet runs %.1f GFLOP/s where the harness count says %.1f\n", \
                key, flat_rate[key], rate > "/dev/stderr"
            bad = 1
        }
        f = median("flat " key); x = median("xsmm " key)
        split(key, lp, " ")
        row(lp[1], lp[2], f, x, gflop[key])
        tf[lp[2]] += f; tx[lp[2]] += x; tg[lp[2]] += gflop[key]
        tf["all"] += f; tx["all"] += x; tg["all"] += gflop[key]
    }
    if (bad) exit 1
    split("fwd bwd_data bwd_weights all", passes, " ")
    for (i = 1; i <= 4; i++)
        row("total", passes[i], tf[passes[i]], tx[passes[i]], tg[passes[i]])
}' "$rows"
