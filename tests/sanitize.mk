# Sanitizers (docs/RELIABILITY.md).  Not part of `make test`: CI runs them
# after it (.ci/run).
#
#   make test-sanitize   test-asan, test-tsan, test-valgrind and fuzz-corpus:
#   make test-asan       every test of `make test` rebuilt in build-asan/ with
#                        AddressSanitizer + UndefinedBehaviorSanitizer (gen,
#                        libflatnet, the generated networks, the tests)
#   make test-tsan       ThreadSanitizer on the loader, the bucket thread and a
#                        small training run
#   make test-valgrind   valgrind memcheck on a small training run
#
# Each sanitized process writes its report, if it has one, to a file under
# build-asan/san-logs/: the run fails when any such file exists, so a report
# from a process whose exit status a test does not look at (a killed or
# expected-to-fail trainer) still fails it.
.PHONY: test-sanitize test-asan test-tsan test-valgrind deps-hardening

# clang, its sanitizer runtimes, libomp and valgrind (tools/deps.sh)
deps-hardening:
	@tools/deps.sh hardening

ASAN_B := build-asan
# -O1: the generated networks compile in reasonable time and run fast enough.
ASAN_CC := $(CC) -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_OPT := -O1 -g
SAN_LOGS := $(CURDIR)/$(ASAN_B)/san-logs
# exitcode 86: a test expecting status 1 does not mistake a report for its failure.
ASAN_ENV := ASAN_OPTIONS=log_path=$(SAN_LOGS)/asan:exitcode=86:detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=log_path=$(SAN_LOGS)/ubsan:print_stacktrace=1:halt_on_error=1:exitcode=86

# What CI runs after `make test` (.ci/run): the sanitizers, valgrind, and the
# fuzz targets over their seeds (past findings among them).
test-sanitize: test-asan test-tsan test-valgrind fuzz-corpus

# test-gen-compile only compiles the five ResNets (nothing runs): left out.
# test-mpi and test-mpi-buckets too: LeakSanitizer reports Open MPI's own
# allocations at exit; the runtime code they run (group.c, the loader's
# slices, the bucket thread) runs under ASan in test-accumulate, whose one
# process takes the same path, and test-buckets.
# (test-tune runs: its harnesses are built with $(CC), so they are sanitized
# too, and free what they allocate so that LeakSanitizer lets them exit 0.)
ASAN_TARGETS = $(filter-out test-gen-compile test-mpi test-mpi-buckets,$(TEST_TARGETS))

# The whole suite with B=build-asan; every compile and link goes through
# ASAN_CC, so what the tests run is instrumented from end to end.
test-asan: deps-hardening
	@rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	@$(ASAN_ENV) $(MAKE) --no-print-directory B=$(ASAN_B) CC="$(ASAN_CC)" \
	    CFLAGS="$(ASAN_OPT) -DBUILD_DIR='\"$(ASAN_B)\"'" \
	    NET_CFLAGS="$(ASAN_OPT) -march=native -fopenmp" RT_NET_CFLAGS="$(ASAN_OPT) -march=native -fopenmp" \
	    OPS_CFLAGS="$(ASAN_OPT) -march=native -fopenmp" SCHED_CFLAGS="$(ASAN_OPT) -march=native -fopenmp" \
	    SCHED_SEEDS="1 2 3" SCHED_W_SEEDS="1" all $(ASAN_TARGETS)
	@tests/san_logs.sh $(SAN_LOGS) "AddressSanitizer + UndefinedBehaviorSanitizer"

# ThreadSanitizer, built with clang in build-tsan/: OpenMP is then LLVM's
# libomp, whose Archer tool (libarcher, loaded by libomp) tells TSan about
# OpenMP's barriers and locks, so the kernels run with 2 threads for real.
# TSan ignores accesses inside uninstrumented libraries (libomp's own, cJSON,
# zlib); stb_image is compiled in instrumented (fuzz/stb_impl.c), since the
# loader decodes on several threads at once (libstb still provides the
# writer, which import uses).
TSAN_B := build-tsan
TSAN_CC := clang -fsanitize=thread -fno-omit-frame-pointer
TSAN_CFLAGS := -O1 -g -std=gnu11 $(WARN)
TSAN_RT_OBJ := $(patsubst runtime/%.c,$(TSAN_B)/rt/%.o,$(RT_SRC))
TSAN_LIBS := $(TSAN_B)/stb_impl.o -L$(TSAN_B) -lflatnet -lstb -lcjson -lm -lz
TSAN_LOGS := $(CURDIR)/$(TSAN_B)/san-logs
TSAN_ENV := TSAN_OPTIONS=log_path=$(TSAN_LOGS)/tsan:exitcode=86:ignore_noninstrumented_modules=1 \
    ARCHER_OPTIONS=verbose=1 OMP_NUM_THREADS=2

$(TSAN_B) $(TSAN_B)/rt:
	mkdir -p $@
$(TSAN_B)/rt/%.o: runtime/%.c $(wildcard runtime/*.h) | $(TSAN_B)/rt
	$(TSAN_CC) $(TSAN_CFLAGS) -fopenmp $(STB_CFLAGS) -Iruntime -I$(B) -c -o $@ $<
$(TSAN_B)/rt/cli_version.o: $(B)/version.h
$(TSAN_B)/libflatnet.a: $(TSAN_RT_OBJ)
	rm -f $@ && ar rcs $@ $^
$(TSAN_B)/stb_impl.o: fuzz/stb_impl.c | $(TSAN_B)
	$(TSAN_CC) $(TSAN_CFLAGS) $(STB_CFLAGS) -c -o $@ $<
$(TSAN_B)/data_loader_test: tests/data_loader_test.c tests/data_util.c tests/data_util.h \
    $(TSAN_B)/stb_impl.o $(TSAN_B)/libflatnet.a
	$(TSAN_CC) $(TSAN_CFLAGS) -fopenmp -DBUILD_DIR='"$(TSAN_B)"' $(STB_CFLAGS) -Iruntime -o $@ \
	    tests/data_loader_test.c tests/data_util.c $(TSAN_LIBS) -lcmocka
# the bucket thread beside its caller (test-buckets)
$(TSAN_B)/buckets_test: tests/buckets_test.c runtime/buckets.h $(TSAN_B)/stb_impl.o \
    $(TSAN_B)/libflatnet.a
	$(TSAN_CC) $(TSAN_CFLAGS) -fopenmp -Iruntime -o $@ $< $(TSAN_LIBS) -lcmocka
# the trainer of test-runtime (resnet18 at 16x16x3, width 8, batch 4)
$(TSAN_B)/net.c: $(B)/gen networks/resnet18.lua networks/resnet.lua | $(TSAN_B)
	$(B)/gen -D batch=4 -D input=16x16x3 -D width=8 -o $@ networks/resnet18.lua
$(TSAN_B)/net: $(TSAN_B)/net.c $(TSAN_B)/stb_impl.o $(TSAN_B)/libflatnet.a
	$(TSAN_CC) -O1 -g -march=native -fopenmp -Wno-unused-function -Iruntime -o $@ $< $(TSAN_LIBS)

test-tsan: deps-hardening
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory $(TSAN_B)/data_loader_test $(TSAN_B)/buckets_test $(TSAN_B)/net
	@rm -rf $(TSAN_LOGS) && mkdir -p $(TSAN_LOGS)
	$(TSAN_ENV) $(TSAN_B)/data_loader_test
	$(TSAN_ENV) $(TSAN_B)/buckets_test
	$(TSAN_ENV) tests/tsan_train.sh $(TSAN_B)/net $(B)/shapes $(TSAN_B)/train
	@tests/san_logs.sh $(TSAN_LOGS) ThreadSanitizer

# valgrind memcheck on a small training run.  valgrind 3.19 does not know
# AVX-512, so this trainer is generated for avx2 and compiled without
# -march=native; the runtime (CFLAGS) has no -march anyway.
VG_DIR := $(B)/tests/valgrind
$(VG_DIR)/net.c: $(B)/gen networks/resnet18.lua networks/resnet.lua
	mkdir -p $(@D)
	$(B)/gen --target avx2 -D batch=4 -D input=16x16x3 -D width=8 -o $@ networks/resnet18.lua
$(VG_DIR)/net: $(VG_DIR)/net.c $(B)/libflatnet.a
	$(CC) -O2 -g -mavx2 -mfma -fopenmp $(WARN) -Iruntime -o $@ $< $(NET_LIBS)

test-valgrind: deps-hardening
	@$(MAKE) --no-print-directory all $(VG_DIR)/net
	tests/valgrind_train.sh $(VG_DIR)/net $(B)/shapes $(VG_DIR)/work
