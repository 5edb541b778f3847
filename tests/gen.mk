# gen's own tests: bad inputs, sizes, determinism; the five ResNets compile
# without a warning.
.PHONY: test-gen test-gen-compile
TEST_TARGETS += test-gen test-gen-compile

$(B)/tests/test_gen: tests/test_gen.c | $(B)/tests
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -DBUILD_DIR='"$(B)"' -o $@ $< -lcmocka

test-gen: $(B)/tests/test_gen $(B)/gen
	$(B)/tests/test_gen

# -Werror: issue 2 asks for no warning at -O3 -march=native -Wall -Wextra.
GEN_NETS := resnet18 resnet34 resnet50 resnet101 resnet152
.PRECIOUS: $(B)/tests/nets/%.c
$(B)/tests/nets/%.c: networks/%.lua networks/resnet.lua $(B)/gen | $(B)/tests/nets
	$(B)/gen -o $@ $<
$(B)/tests/nets/%.o: $(B)/tests/nets/%.c runtime/flatnet.h
	$(CC) $(NET_CFLAGS) $(WARN) -Werror -Iruntime -c -o $@ $<
TEST_BUILDS += $(patsubst %,$(B)/tests/nets/%.o,$(GEN_NETS))
test-gen-compile: $(patsubst %,$(B)/tests/nets/%.o,$(GEN_NETS))
	@echo "the five ResNets generate and compile without a warning"

$(B)/tests $(B)/tests/nets:
	mkdir -p $@

# The memory plan's invariants, checked on gen's own data structures.
# (gen --infer's modules need the runtime's checkpoint reader: not linked here)
PLAN_TEST_OBJ := $(filter-out $(B)/gen-obj/main.o $(B)/gen-obj/infer%.o,$(GEN_OBJ))
$(B)/tests/test_plan: tests/test_plan.c $(PLAN_TEST_OBJ) $(B)/templates.c | $(B)/tests
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -Igenerator -Iruntime $(LUA_CFLAGS) -o $@ \
	    tests/test_plan.c $(PLAN_TEST_OBJ) $(B)/templates.c $(LUA_LIBS) -lcmocka -lm

.PHONY: test-plan
TEST_TARGETS += test-plan
test-plan: $(B)/tests/test_plan
	$(B)/tests/test_plan
