# Fuzzing with libFuzzer (clang; docs/RELIABILITY.md).  Targets are
# fuzz/fuzz_<name>.c, seeds fuzz/corpus/<name>/, everything built and found
# goes to build-fuzz/.
#
#   make fuzz FUZZ_SECONDS=N   each target N seconds (default 60), one at a
#                              time; fails on a crash, leak or timeout, whose
#                              input is kept in build-fuzz/crashes/<name>/
#   make fuzz-corpus           each target once over its seeds, the inputs of
#                              past findings among them (test-sanitize runs it)
#
# FUZZ_NICE=19 runs the fuzzers at the lowest priority.
.PHONY: fuzz fuzz-build fuzz-corpus

FUZZ_B := build-fuzz
FUZZ_CC := clang
FUZZ_TARGETS := image checkpoint idx gen sched
FUZZ_SECONDS ?= 60
FUZZ_NICE ?= 0
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -O1 -g -std=gnu11 $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_LIBS := -lcjson -lz -lm

FUZZ_RT_OBJ := $(patsubst runtime/%.c,$(FUZZ_B)/rt/%.o,$(RT_SRC))
FUZZ_GEN_OBJ := $(patsubst generator/%.c,$(FUZZ_B)/gen/%.o,\
    $(filter-out generator/embed.c generator/main.c generator/infer%.c,$(GEN_SRC)))
FUZZ_COMMON := $(FUZZ_B)/fuzz_file.o $(FUZZ_B)/stb_impl.o

$(FUZZ_B)/rt/%.o: runtime/%.c $(wildcard runtime/*.h) | $(FUZZ_B)/rt
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fopenmp $(STB_CFLAGS) -Iruntime -I$(B) -c -o $@ $<
$(FUZZ_B)/libflatnet.a: $(FUZZ_RT_OBJ)
	rm -f $@ && ar rcs $@ $^
$(FUZZ_B)/gen/%.o: generator/%.c $(wildcard generator/*.h) runtime/flatnet.h | $(FUZZ_B)/gen
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(LUA_CFLAGS) -Iruntime -I$(B) -c -o $@ $<
$(FUZZ_B)/templates.o: $(B)/templates.c | $(FUZZ_B)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<
$(FUZZ_B)/%.o: fuzz/%.c fuzz/fuzz_file.h $(wildcard runtime/*.h generator/*.h) | $(FUZZ_B)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(STB_CFLAGS) -Iruntime -Igenerator -Ifuzz \
	    -DFLATNET_NETWORKS_DIR='"$(CURDIR)/networks"' -c -o $@ $<
# the network fuzz_checkpoint loads into (clang warns about the vector
# helpers a small network leaves unused; gcc does not)
$(FUZZ_B)/tiny.c: fuzz/tiny.lua $(B)/gen | $(FUZZ_B)
	$(B)/gen --target generic -o $@ $<
$(FUZZ_B)/tiny.o: $(FUZZ_B)/tiny.c runtime/flatnet.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-unused-function -fopenmp -Iruntime -DFN_NO_MAIN -c -o $@ $<

FUZZ_LINK = $(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^
$(FUZZ_B)/fuzz_image $(FUZZ_B)/fuzz_idx: $(FUZZ_B)/fuzz_%: $(FUZZ_B)/fuzz_%.o $(FUZZ_COMMON) \
    $(FUZZ_B)/libflatnet.a
	$(FUZZ_LINK) -fopenmp $(FUZZ_LIBS)
$(FUZZ_B)/fuzz_checkpoint: $(FUZZ_B)/fuzz_checkpoint.o $(FUZZ_B)/tiny.o $(FUZZ_COMMON) \
    $(FUZZ_B)/libflatnet.a
	$(FUZZ_LINK) -fopenmp $(FUZZ_LIBS)
$(FUZZ_B)/fuzz_gen $(FUZZ_B)/fuzz_sched: $(FUZZ_B)/fuzz_%: $(FUZZ_B)/fuzz_%.o $(FUZZ_B)/fuzz_file.o \
    $(FUZZ_GEN_OBJ) $(FUZZ_B)/templates.o
	$(FUZZ_LINK) $(LUA_LIBS) -lm

$(FUZZ_B) $(FUZZ_B)/rt $(FUZZ_B)/gen:
	mkdir -p $@

fuzz-build: deps-hardening
	@$(MAKE) --no-print-directory $(B)/gen $(B)/templates.c
	@$(MAKE) --no-print-directory $(patsubst %,$(FUZZ_B)/fuzz_%,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	    nice -n $(FUZZ_NICE) fuzz/run.sh $(FUZZ_B) $$t $(FUZZ_SECONDS) || exit 1; \
	done

fuzz-corpus: fuzz-build
	@for t in $(FUZZ_TARGETS); do fuzz/run.sh $(FUZZ_B) $$t replay || exit 1; done
# gen's and the runtime's --version read the build directory's version.h
$(FUZZ_B)/rt/cli_version.o $(FUZZ_B)/gen/origin.o $(FUZZ_B)/gen/build.o: $(B)/version.h
