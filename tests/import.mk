# import: IDX files into image folders (tests/import_test.c, CMocka); the
# small-image ResNets generate, count their parameters, compile, and train on
# an imported set through the trainer's command line (tests/import_cli.sh).
.PHONY: test-import
TEST_TARGETS += test-import

IMPORT_TEST := $(B)/tests/import
IMPORT_LIBS := -L$(B) -lflatnet -lstb -lcmocka -lz -lm -fopenmp

$(IMPORT_TEST):
	mkdir -p $@

$(IMPORT_TEST)/import_test: tests/import_test.c tests/data_util.c tests/data_util.h \
    $(B)/libflatnet.a | $(IMPORT_TEST)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 $(STB_CFLAGS) -Iruntime -o $@ $< tests/data_util.c \
	    $(IMPORT_LIBS)

# where import_test leaves its IDX files
TEST_DATA_IMPORT := $(B)/test-data/import

test-import: $(IMPORT_TEST)/import_test $(IMPORT_TEST)/resnet20 $(IMPORT_TEST)/resnet18_small \
    $(B)/gen
	$(IMPORT_TEST)/import_test
	tests/import_cli.sh $(B)/gen $(IMPORT_TEST)/cli $(TEST_DATA_IMPORT) \
	    $(IMPORT_TEST)/resnet20 $(IMPORT_TEST)/resnet18_small

# Tiny trainers: ResNet-8 (resnet20.lua at depth 8) at the imported 7x5 gray
# images, and resnet18_small at width 8 on 8x8x3 (the loader resizes and
# repeats the gray channel).
$(IMPORT_TEST)/resnet20.c: networks/resnet20.lua networks/resnet.lua $(B)/gen | $(IMPORT_TEST)
	$(B)/gen -D depth=8 -D input=7x5x1 -D batch=4 -D classes=3 -o $@ $<
$(IMPORT_TEST)/resnet18_small.c: networks/resnet18_small.lua networks/resnet.lua $(B)/gen \
    | $(IMPORT_TEST)
	$(B)/gen -D width=8 -D input=8x8x3 -D batch=4 -D classes=3 -o $@ $<
$(IMPORT_TEST)/resnet20 $(IMPORT_TEST)/resnet18_small: %: %.c $(B)/libflatnet.a
	$(CC) -O1 -march=native -fopenmp $(WARN) -Iruntime -o $@ $< $(NET_LIBS)
