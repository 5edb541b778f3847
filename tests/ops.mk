# Generated ops against a double-precision reference and finite differences:
# every tests/ops/<case>.lua is generated for every target (block widths 16
# for avx512 and zen5, 8 and 4) and compiled into a shared object that
# test_ops loads.
.PHONY: test-ops
TEST_TARGETS += test-ops

OPS_DIR := $(B)/tests/ops
OPS_TARGETS := avx512 zen5 avx2 generic
OPS_CASES := $(basename $(notdir $(wildcard tests/ops/*.lua)))
# and once as trainers are built, without --input-grad: the first layer's input
# then needs no gradient, which changes what is lowered
OPS_SO := $(foreach c,$(OPS_CASES),$(foreach t,$(OPS_TARGETS) trainer,$(OPS_DIR)/$(c)_$(t).so))
OPS_C := $(OPS_SO:.so=.c)
OPS_CFLAGS := -O2 -march=native -fopenmp

# Keep the generated C: it is what one reads when a case fails.
.SECONDARY: $(OPS_C)

# One rule per target: build/tests/ops/<case>_<target>.c from tests/ops/<case>.lua.
define OPS_GEN_RULE
$(OPS_DIR)/%_$(1).c: tests/ops/%.lua $(B)/gen | $(OPS_DIR)
	$(B)/gen --input-grad --target $(1) -o $$@ $$<
endef
$(foreach t,$(OPS_TARGETS),$(eval $(call OPS_GEN_RULE,$(t))))
$(OPS_DIR)/%_trainer.c: tests/ops/%.lua $(B)/gen | $(OPS_DIR)
	$(B)/gen -o $@ $<

$(OPS_DIR)/%.so: $(OPS_DIR)/%.c runtime/flatnet.h
	$(CC) $(OPS_CFLAGS) $(WARN) -Iruntime -DFN_NO_MAIN -fPIC -shared -o $@ $<

# rng.c is compiled in rather than linked from libflatnet: this test needs
# nothing else of the runtime.
OPS_TEST_SRC := tests/test_ops.c tests/ref.c tests/check.c tests/fd.c runtime/rng.c
$(OPS_DIR)/test_ops: $(OPS_TEST_SRC) tests/ref.h tests/check.h tests/fd.h runtime/rng.h \
		runtime/flatnet.h | $(OPS_DIR)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -Iruntime -Itests -o $@ $(OPS_TEST_SRC) \
	    -lcmocka -ldl -lm

TEST_BUILDS += $(OPS_DIR)/test_ops $(OPS_SO)
test-ops: $(OPS_DIR)/test_ops $(OPS_SO)
	$(OPS_DIR)/test_ops $(OPS_SO)

$(OPS_DIR):
	mkdir -p $@
