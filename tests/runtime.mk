# libflatnet: unit tests of its pieces (runtime_test, CMocka), the trainer's
# command line end to end (runtime_cli.sh), and PyTorch compatibility
# (torch_compat.py, skipped when python3-torch/torchvision are missing).
.PHONY: test-runtime
TEST_TARGETS += test-runtime

RT_TEST := $(B)/tests/runtime
RT_NET_FLAGS := -D batch=4 -D input=16x16x3 -D width=8
# Test trainers train a few steps: compile time matters more than speed.
RT_NET_CFLAGS := -O2 -march=native -fopenmp

$(RT_TEST):
	mkdir -p $@

# Small resnet18s: 3 classes (most tests, compiled once without main() and
# linked into both the trainer net3 and runtime_test), 5 classes (another
# network's weights, --init across class counts), and torchvision's own
# architecture at 32x32 for torch_compat.
$(RT_TEST)/net3.c: $(B)/gen networks/resnet18.lua networks/resnet.lua | $(RT_TEST)
	$(B)/gen $(RT_NET_FLAGS) -D classes=3 -o $@ networks/resnet18.lua
$(RT_TEST)/net5.c: $(B)/gen networks/resnet18.lua networks/resnet.lua | $(RT_TEST)
	$(B)/gen $(RT_NET_FLAGS) -D classes=5 -o $@ networks/resnet18.lua
$(RT_TEST)/torchnet.c: $(B)/gen networks/resnet18.lua networks/resnet.lua | $(RT_TEST)
	$(B)/gen -D batch=4 -D input=64x64x3 -D classes=3 -o $@ networks/resnet18.lua

$(RT_TEST)/net3.o: $(RT_TEST)/net3.c runtime/flatnet.h
	$(CC) $(RT_NET_CFLAGS) $(WARN) -Iruntime -DFN_NO_MAIN -c -o $@ $<
$(RT_TEST)/net3: tests/runtime_main.c $(RT_TEST)/net3.o $(B)/libflatnet.a
	$(CC) $(RT_NET_CFLAGS) $(WARN) -Iruntime -o $@ $< $(RT_TEST)/net3.o $(NET_LIBS)
$(RT_TEST)/net5 $(RT_TEST)/torchnet: %: %.c $(B)/libflatnet.a
	$(CC) $(RT_NET_CFLAGS) $(WARN) -Iruntime -o $@ $< $(NET_LIBS)

$(RT_TEST)/runtime_test: tests/runtime_test.c $(RT_TEST)/net3.o $(B)/libflatnet.a
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -fopenmp -Iruntime -o $@ $< $(RT_TEST)/net3.o \
	    $(NET_LIBS) -lcmocka

$(RT_TEST)/stcmp: tests/runtime_stcmp.c $(B)/libflatnet.a
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -Iruntime -o $@ $< $(NET_LIBS)

test-runtime: $(RT_TEST)/runtime_test $(RT_TEST)/net3 $(RT_TEST)/net5 $(RT_TEST)/stcmp $(B)/shapes
	rm -rf $(RT_TEST)/work && mkdir -p $(RT_TEST)/work
	$(RT_TEST)/runtime_test $(RT_TEST)/work
	tests/runtime_cli.sh $(RT_TEST) $(B)/shapes
	@if /usr/bin/python3 -c "import torch, torchvision" 2>/dev/null; then \
	    $(MAKE) --no-print-directory $(RT_TEST)/torchnet && \
	    /usr/bin/python3 tests/torch_compat.py $(RT_TEST)/torchnet $(RT_TEST)/torch; \
	else \
	    echo "torch_compat: skipped (python3-torch and python3-torchvision are not installed)"; \
	fi
