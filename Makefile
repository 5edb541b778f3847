# flatnet - build, test, benchmark and install.  Everything built goes to build/.
VERSION := 0.2.0
PREFIX  ?= /usr/local
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra
STB_CFLAGS := $(shell pkg-config --cflags stb 2>/dev/null || echo -I/usr/include/stb)
LUA_CFLAGS := $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
LUA_LIBS   := $(shell pkg-config --libs lua5.4 2>/dev/null || echo -llua5.4)

B := build
GEN_SRC := $(wildcard generator/*.c)
GEN_OBJ := $(patsubst generator/%.c,$(B)/gen-obj/%.o,$(filter-out generator/embed.c,$(GEN_SRC)))
TEMPLATES := $(wildcard templates/*.c)
RT_SRC := $(wildcard runtime/*.c)
RT_OBJ := $(patsubst runtime/%.c,$(B)/rt-obj/%.o,$(RT_SRC))

# What a generated program links against (the compile line of README; also
# flatnet.pc's Libs and gen --build's line).
NET_CFLAGS := -O3 -march=native -fopenmp
NET_DEP_LIBS := -lstb -lcjson -lm -lz
NET_LIBS   := -L$(B) -lflatnet $(NET_DEP_LIBS)

# Baked into gen and libflatnet for --version ("unknown" outside a git checkout).
GIT_DESCRIBE := $(shell test -e .git && git describe --tags --always --dirty 2>/dev/null || echo unknown)

.PHONY: all clean deps deps-test deps-bench deps-demo test demo bench bench-infer bench-libxsmm \
    bench-mpi mpi install uninstall FORCE
all: $(B)/gen $(B)/tune $(B)/libflatnet.a $(B)/shapes

# make deps: what building and training need; each of test, bench and demo
# adds its own (tools/deps.sh lists them).
deps:
	@tools/deps.sh build
deps-test deps-bench deps-demo: deps-%:
	@tools/deps.sh $*

# Each tests/*.mk adds its phony runners to TEST_TARGETS, and to TEST_BUILDS
# what they only compile (generated kernels by the hundred); `make test` builds
# those on every core first, then runs the tests one at a time (some time
# themselves, or kill and resume processes: -j1, whatever -j make test got).
TEST_TARGETS :=
TEST_BUILDS :=
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
include $(wildcard tests/*.mk)

test: deps-test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) $(TEST_BUILDS)
	@$(MAKE) --no-print-directory -j1 $(TEST_TARGETS)
	@echo "all tests passed"

$(B)/embed: generator/embed.c | $(B)
	$(CC) $(CFLAGS) $(WARN) -o $@ $<

$(B)/templates.c: $(TEMPLATES) $(B)/embed
	$(B)/embed $(TEMPLATES) > $@.tmp && mv $@.tmp $@

# version.h: rewritten only when its text changes, so a build with nothing new
# recompiles nothing; what includes it depends on it below.  No install path
# is compiled in: gen finds its networks beside itself (generator/search.c).
$(B)/version.h: FORCE | $(B)
	@printf '%s\n' '#define FLATNET_VERSION "$(VERSION)"' '#define FLATNET_GIT "$(GIT_DESCRIBE)"' \
	    '#define FLATNET_LIBS "$(NET_DEP_LIBS)"' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(B)/gen-obj/origin.o $(B)/gen-obj/build.o $(B)/rt-obj/cli_version.o: $(B)/version.h

$(B)/gen-obj/%.o: generator/%.c $(wildcard generator/*.h) runtime/flatnet.h | $(B)/gen-obj
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 $(LUA_CFLAGS) -Iruntime -I$(B) -c -o $@ $<

# gen --infer reads checkpoints with the runtime's own reader
GEN_RT_OBJ := $(B)/rt-obj/safetensors.o $(B)/rt-obj/safe_path.o $(B)/rt-obj/clock.o
$(B)/gen: $(GEN_OBJ) $(GEN_RT_OBJ) $(B)/templates.c
	$(CC) $(CFLAGS) -o $@ $(GEN_OBJ) $(GEN_RT_OBJ) $(B)/templates.c $(LUA_LIBS) -lcjson -lz -lm

# build/tune: the schedule tuner, gen's passes without gen's main
TUNE_SRC := $(wildcard tuner/*.c)
TUNE_GEN_OBJ := $(filter-out $(B)/gen-obj/main.o $(B)/gen-obj/infer%.o,$(GEN_OBJ))
$(B)/tune: $(TUNE_SRC) $(wildcard tuner/*.h) $(TUNE_GEN_OBJ) $(B)/templates.c
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 $(LUA_CFLAGS) -Igenerator -Iruntime \
	    -DFLATNET_NETWORKS_DIR='"$(CURDIR)/networks"' -o $@ $(TUNE_SRC) $(TUNE_GEN_OBJ) \
	    $(B)/templates.c $(LUA_LIBS) -lm

$(B)/rt-obj/%.o: runtime/%.c $(wildcard runtime/*.h) | $(B)/rt-obj
	$(CC) $(CFLAGS) $(RT_FILE_CFLAGS) $(WARN) -std=gnu11 -fopenmp $(STB_CFLAGS) -Iruntime -I$(B) -c -o $@ $<

# The optimizers stream every parameter each step, and GCC vectorizes their
# loops only at -O3 (elementwise, so the values are bitwise the same): a
# standalone copy of the SGD loop over ResNet-50's 23.6 M parameters took
# 19-21 ms at -O2, 9-11 at -O3, on 2 threads of a Zen 4; the trainer's SGD
# step 16.5 -> 9.7 ms (docs/PERFORMANCE.md).
$(B)/rt-obj/optim.o: RT_FILE_CFLAGS := -O3

$(B)/libflatnet.a: $(RT_OBJ)
	rm -f $@ && ar rcs $@ $^

# The runtime with MPI (README: Many processes): the same objects but
# dist.c, built with mpicc -DFLATNET_MPI, so libflatnet.a has no MPI in it.
MPICC ?= mpicc
MPI_NET_LIBS := -L$(B) -lflatnet_mpi -lstb -lcjson -lm -lz
mpi: deps
	@$(MAKE) --no-print-directory all $(B)/libflatnet_mpi.a

$(B)/rt-mpi-obj/dist.o: runtime/dist.c $(wildcard runtime/*.h) | $(B)/rt-mpi-obj
	$(MPICC) $(CFLAGS) $(WARN) -std=gnu11 -fopenmp -DFLATNET_MPI -Iruntime -c -o $@ $<

$(B)/libflatnet_mpi.a: $(filter-out $(B)/rt-obj/dist.o,$(RT_OBJ)) $(B)/rt-mpi-obj/dist.o
	rm -f $@ && ar rcs $@ $^

# a small labelled image folder for the demo and the end-to-end tests
$(B)/shapes: tools/shapes.c runtime/rng.c runtime/rng.h | $(B)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 $(STB_CFLAGS) -Iruntime -o $@ tools/shapes.c runtime/rng.c -lstb -lm

# The README's main job: import Fashion-MNIST, generate and compile a ResNet,
# train it with validation and evaluate it on the test set.  Settings:
# tools/demo.sh.
demo: deps-demo
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

# flatnet against PyTorch, side by side, then ResNet-50's convolutions
# against LIBXSMM layer by layer (docs/PERFORMANCE.md), then 2 ranks against
# 2 threads (docs/DISTRIBUTED.md).
bench: deps-bench
	@$(MAKE) --no-print-directory all
	@benchmarks/bench.sh
	@benchmarks/infer.sh
	@benchmarks/libxsmm.sh
	@$(MAKE) --no-print-directory bench-mpi

# the ranks against threads table alone
bench-mpi: deps
	@$(MAKE) --no-print-directory mpi
	@benchmarks/mpi.sh

# the inference export's table alone (gen --infer against the trainer and PyTorch)
bench-infer: deps-bench
	@$(MAKE) --no-print-directory all
	@benchmarks/infer.sh

# the LIBXSMM table alone
bench-libxsmm: deps-bench
	@$(MAKE) --no-print-directory all
	@benchmarks/libxsmm.sh

$(B) $(B)/gen-obj $(B)/rt-obj $(B)/rt-mpi-obj:
	mkdir -p $@

# make install [PREFIX=/usr/local] [DESTDIR=...]; make uninstall (the same
# PREFIX and DESTDIR).  tools/install.sh lists what goes where.
install: all
	@tools/install.sh install "$(DESTDIR)" "$(PREFIX)" $(B) "$(VERSION)" "$(NET_DEP_LIBS)"
uninstall:
	@tools/install.sh uninstall "$(DESTDIR)" "$(PREFIX)" $(B) "$(VERSION)" "$(NET_DEP_LIBS)"

clean:
	rm -rf $(B)
