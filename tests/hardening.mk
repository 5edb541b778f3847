# Hardening (docs/RELIABILITY.md): reproducibility, crash safety, limits, and
# the inputs the fuzzers found, through the small trainer of test-runtime.
#
#   test-hardening   in `make test`: repro.sh, kill_resume.sh with 5 kills,
#                    limits.sh, fuzz_found.sh (about 15 s)
#   test-kill        kill_resume.sh with 50 kills (about a minute)
#
# test-sanitize, test-valgrind (tests/sanitize.mk) and fuzz, fuzz-corpus
# (tests/fuzz.mk) are the slow ones.
.PHONY: test-hardening test-kill
TEST_TARGETS += test-hardening

HARD_DIR := $(B)/tests/runtime
HARD_DEPS := $(HARD_DIR)/net3 $(HARD_DIR)/stcmp $(B)/shapes $(B)/gen

test-hardening: $(HARD_DEPS)
	tests/repro.sh $(HARD_DIR) $(B)/shapes $(B)/gen
	tests/kill_resume.sh $(HARD_DIR) $(B)/shapes 5
	tests/limits.sh $(HARD_DIR) $(B)/shapes
	tests/fuzz_found.sh $(HARD_DIR) $(B)/shapes

test-kill: $(HARD_DEPS)
	tests/kill_resume.sh $(HARD_DIR) $(B)/shapes 50
