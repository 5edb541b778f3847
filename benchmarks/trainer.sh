# trainer.sh - how the benchmark scripts compile a generated trainer
# (sourced): the flags make bench and README use, and the tuner's default
# TUNE_CFLAGS, so that what is timed is what a user would build.

# trainer_cc SRC EXE [TREE]: SRC (gen's C) linked with TREE's runtime (default
# this tree) into EXE
trainer_cc() {
    cc -O3 -march=native -fopenmp "$1" -I"${3:-.}/runtime" -L"${3:-.}/build" -lflatnet -lstb \
        -lcjson -lz -lm -o "$2"
}
