# Schedules (generator/schedule.c, sched_file.c):
#   test-sched-random  every legal schedule computes the same: each
#                      tests/ops case generated under random legal schedules
#                      (gen --schedule-seed), a target per seed, checked by
#                      test_ops against the reference and finite differences
#   test-sched-weights every bwd_weights schedule gives the model's bits
#   test-sched-file    gen -S: overrides by layer, shape and for the whole
#                      network land in the generated code; every bad schedule
#                      file is refused with its file, line and layer
.PHONY: test-sched-random test-sched-file
TEST_TARGETS += test-sched-random test-sched-file

SCHED_DIR := $(B)/tests/sched
# 10 seeds x 20 cases: the targets take turns (seed mod 3), so each target's
# legal space is drawn from 3 or 4 times a case.  -O1: compiling is most of
# the time, and the kernels' vectors are explicit.
SCHED_SEEDS ?= 1 2 3 4 5 6 7 8 9 10
SCHED_CFLAGS ?= -O1 -march=native -fopenmp
SCHED_SO := $(foreach c,$(OPS_CASES),$(foreach s,$(SCHED_SEEDS),$(SCHED_DIR)/$(c)_s$(s).so))
.SECONDARY: $(SCHED_SO:.so=.c)

define SCHED_GEN_RULE
$(SCHED_DIR)/%_s$(1).c: tests/ops/%.lua $(B)/gen | $(SCHED_DIR)
	$(B)/gen --input-grad --target $(word $(shell expr $(1) % 3 + 1),$(OPS_TARGETS)) \
	    --schedule-seed $(1) -o $$@ $$<
endef
$(foreach s,$(SCHED_SEEDS),$(eval $(call SCHED_GEN_RULE,$(s))))

$(SCHED_DIR)/%.so: $(SCHED_DIR)/%.c runtime/flatnet.h
	$(CC) $(SCHED_CFLAGS) $(WARN) -Iruntime -DFN_NO_MAIN -fPIC -shared -o $@ $<

TEST_BUILDS += $(SCHED_SO)
test-sched-random: $(OPS_DIR)/test_ops $(SCHED_SO)
	$(OPS_DIR)/test_ops $(SCHED_SO)

test-sched-file: $(B)/gen
	tests/sched_cli.sh $(B)/gen $(SCHED_DIR)/cli

$(SCHED_DIR):
	mkdir -p $@

# build/tune on tests/tune/tiny.lua (tests/tune.sh, about 90 s)
.PHONY: test-tune
TEST_TARGETS += test-tune
test-tune: $(B)/tune $(B)/gen
	tests/tune.sh $(B)/tune $(B)/gen $(SCHED_DIR)/tune

# Every bwd_weights schedule gives the same bits (schedule.h): each tests/ops
# case under the model's schedule, then under random bwd_weights tiles only
# (gen --schedule-seed bwd_weights:N); test_ops compares each step with the
# model's bit for bit.  The generic target's 4-channel blocks make the most
# tasks and slices to draw from.
.PHONY: test-sched-weights
TEST_TARGETS += test-sched-weights
SCHED_W_SEEDS ?= 1 2 3
SCHED_W_SO := $(foreach c,$(OPS_CASES),$(SCHED_DIR)/$(c)_w0.so \
    $(foreach s,$(SCHED_W_SEEDS),$(SCHED_DIR)/$(c)_w$(s).so))
.SECONDARY: $(SCHED_W_SO:.so=.c)

$(SCHED_DIR)/%_w0.c: tests/ops/%.lua $(B)/gen | $(SCHED_DIR)
	$(B)/gen --input-grad --target generic -o $@ $<
define SCHED_W_RULE
$(SCHED_DIR)/%_w$(1).c: tests/ops/%.lua $(B)/gen | $(SCHED_DIR)
	$(B)/gen --input-grad --target generic --schedule-seed bwd_weights:$(1) -o $$@ $$<
endef
$(foreach s,$(SCHED_W_SEEDS),$(eval $(call SCHED_W_RULE,$(s))))

TEST_BUILDS += $(SCHED_W_SO)
test-sched-weights: $(OPS_DIR)/test_ops $(SCHED_W_SO)
	$(OPS_DIR)/test_ops $(SCHED_W_SO)
