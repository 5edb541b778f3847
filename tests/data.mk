# The data side of the runtime: image folders, decoding, the loader, split.
# Tests write their images under $(B)/test-data/.
.PHONY: test-data
TEST_TARGETS += test-data

DATA_TESTS := $(B)/tests/data_test $(B)/tests/data_loader_test $(B)/tests/split_test
DATA_TEST_LIBS := -L$(B) -lflatnet -lstb -lcmocka -lm -lpthread -fopenmp

$(DATA_TESTS): $(B)/tests/%: tests/%.c tests/data_util.c tests/data_util.h $(B)/libflatnet.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -fopenmp $(STB_CFLAGS) -Iruntime -o $@ \
	    $< tests/data_util.c $(DATA_TEST_LIBS)

test-data: $(DATA_TESTS)
	@for t in $(DATA_TESTS); do $$t || exit 1; done
