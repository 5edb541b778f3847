# flatnet - build, test and benchmark.  Everything built goes to build/.
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

# What a generated program links against (the compile line of README).
NET_CFLAGS := -O3 -march=native -fopenmp
NET_LIBS   := -L$(B) -lflatnet -lstb -lcjson -lm -lz

.PHONY: all clean deps test demo bench bench-libxsmm
all: $(B)/gen $(B)/tune $(B)/libflatnet.a $(B)/shapes

deps:
	@tools/deps.sh

# Each tests/*.mk adds its phony runners to TEST_TARGETS; `make test` runs them all.
TEST_TARGETS :=
include $(wildcard tests/*.mk)

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory $(TEST_TARGETS)
	@echo "all tests passed"

$(B)/embed: generator/embed.c | $(B)
	$(CC) $(CFLAGS) $(WARN) -o $@ $<

$(B)/templates.c: $(TEMPLATES) $(B)/embed
	$(B)/embed $(TEMPLATES) > $@.tmp && mv $@.tmp $@

$(B)/gen-obj/%.o: generator/%.c $(wildcard generator/*.h) runtime/flatnet.h | $(B)/gen-obj
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 $(LUA_CFLAGS) -Iruntime \
	    -DFLATNET_NETWORKS_DIR='"$(CURDIR)/networks"' -c -o $@ $<

$(B)/gen: $(GEN_OBJ) $(B)/templates.c
	$(CC) $(CFLAGS) -o $@ $(GEN_OBJ) $(B)/templates.c $(LUA_LIBS) -lm

# build/tune: the schedule tuner, gen's passes without gen's main
TUNE_SRC := $(wildcard tuner/*.c)
TUNE_GEN_OBJ := $(filter-out $(B)/gen-obj/main.o,$(GEN_OBJ))
$(B)/tune: $(TUNE_SRC) $(wildcard tuner/*.h) $(TUNE_GEN_OBJ) $(B)/templates.c
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 $(LUA_CFLAGS) -Igenerator -Iruntime \
	    -DFLATNET_NETWORKS_DIR='"$(CURDIR)/networks"' -o $@ $(TUNE_SRC) $(TUNE_GEN_OBJ) \
	    $(B)/templates.c $(LUA_LIBS) -lm

$(B)/rt-obj/%.o: runtime/%.c $(wildcard runtime/*.h) | $(B)/rt-obj
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -fopenmp $(STB_CFLAGS) -Iruntime -c -o $@ $<

$(B)/libflatnet.a: $(RT_OBJ)
	rm -f $@ && ar rcs $@ $^

# a small labelled image folder for the demo and the end-to-end tests
$(B)/shapes: tools/shapes.c runtime/rng.c runtime/rng.h | $(B)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 $(STB_CFLAGS) -Iruntime -o $@ tools/shapes.c runtime/rng.c -lstb -lm

# The README's main job: import Fashion-MNIST, generate and compile a ResNet,
# train it with validation and evaluate it on the test set.  Settings:
# tools/demo.sh.
demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

# flatnet against PyTorch, side by side, then ResNet-50's convolutions
# against LIBXSMM layer by layer (docs/PERFORMANCE.md).
bench: deps
	@$(MAKE) --no-print-directory all
	@benchmarks/bench.sh
	@benchmarks/libxsmm.sh

# the LIBXSMM table alone
bench-libxsmm: deps
	@$(MAKE) --no-print-directory all
	@benchmarks/libxsmm.sh

$(B) $(B)/gen-obj $(B)/rt-obj:
	mkdir -p $@

clean:
	rm -rf $(B)
