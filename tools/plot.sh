#!/bin/sh
# plot.sh - draws a training history (the CSV of `train --log`, or of
# benchmarks/fashion_torch.py --log) to a PNG with gnuplot: loss on the left,
# accuracy on the right, train and valid per epoch.
#
#   tools/plot.sh HISTORY.csv OUT.png [TITLE] [VALID_NAME]
#
# VALID_NAME labels the validation curves ("valid" by default; "test" when
# --valid pointed at the test set).  Needs gnuplot (Debian: gnuplot-nox).
set -eu

if [ $# -lt 2 ] || [ $# -gt 4 ]; then
    echo "usage: $(basename "$0") HISTORY.csv OUT.png [TITLE] [VALID_NAME]" >&2
    exit 2
fi
csv=$1
out=$2
title=${3:-$(basename "$csv" .csv)}
valid=${4:-valid}
command -v gnuplot >/dev/null 2>&1 ||
    { echo "plot: gnuplot is not installed (apt-get install gnuplot-nox, or make deps-demo)" >&2; exit 1; }
[ -r "$csv" ] || { echo "plot: $csv: cannot read" >&2; exit 1; }
header=$(head -n 1 "$csv")
case "$header" in
epoch,lr,train_loss,train_acc,valid_loss,valid_acc*) ;;
*) echo "plot: $csv: not a training history (its first line is '$header', expected" \
        "epoch,lr,train_loss,train_acc,valid_loss,valid_acc,...)" >&2; exit 1 ;;
esac
rows=$(($(wc -l <"$csv") - 1))
[ "$rows" -ge 1 ] || { echo "plot: $csv: no epochs in it yet" >&2; exit 1; }
# A run without validation leaves the valid columns empty: draw train only.
has_valid=$(awk -F, 'NR > 1 && $6 != "" { print 1; exit }' "$csv")

xstep=$(( (rows + 9) / 10 )) # about ten epoch tics

# gnuplot writes into a temporary file, renamed once complete.
tmp="$out.part.png"
trap 'rm -f "$tmp"' EXIT
valid_loss="" valid_acc=""
if [ -n "$has_valid" ]; then
    valid_loss=", '$csv' using 1:5 with linespoints lw 2 pt 7 ps 0.6 title '$valid'"
    valid_acc=", '$csv' using 1:(100*\$6) with linespoints lw 2 pt 7 ps 0.6 title '$valid'"
fi
gnuplot <<EOF
set terminal pngcairo size 1200,480 font "sans,11"
set output "$tmp"
set datafile separator ","
set key autotitle columnhead
set grid
set xlabel "epoch"
set xrange [0.5:$rows + 0.5]
set xtics $xstep
set multiplot layout 1,2 title "$title"
set title "loss"
set ylabel "cross-entropy"
set key top right
plot '$csv' using 1:3 with linespoints lw 2 pt 7 ps 0.6 title 'train'$valid_loss
set title "accuracy"
set ylabel "%"
set key bottom right
plot '$csv' using 1:(100*\$4) with linespoints lw 2 pt 7 ps 0.6 title 'train'$valid_acc
unset multiplot
EOF
mv "$tmp" "$out"
trap - EXIT
echo "plot: $out ($rows epochs)"
