# stats.sh - what the benchmark scripts compute over their rounds (sourced).

# median: the median of the numbers on stdin, one a line
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# maximum: the largest
maximum() { sort -g | tail -n 1; }
# minimum: the smallest
minimum() { sort -g | head -n 1; }
