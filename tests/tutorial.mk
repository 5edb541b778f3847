# The tutorial variant is the Keras tutorial's network (issue 11): its
# strides and Keras's initialisation, checked on a small tutorial ResNet-50
# (tests/init_test.c).
.PHONY: test-tutorial-init
TEST_TARGETS += test-tutorial-init

INIT_TEST := $(B)/tests/init
$(INIT_TEST)/tutorial.c: $(B)/gen networks/resnet50.lua networks/resnet.lua
	mkdir -p $(dir $@)
	$(B)/gen -D variant=tutorial -D width=4 -D input=32x32x3 -D batch=2 -o $@ networks/resnet50.lua
$(INIT_TEST)/tutorial.o: $(INIT_TEST)/tutorial.c runtime/flatnet.h
	$(CC) $(RT_NET_CFLAGS) $(WARN) -Iruntime -DFN_NO_MAIN -c -o $@ $<
$(INIT_TEST)/init_test: tests/init_test.c $(INIT_TEST)/tutorial.o $(B)/libflatnet.a
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -fopenmp -Iruntime -o $@ $< $(INIT_TEST)/tutorial.o $(NET_LIBS)

test-tutorial-init: $(INIT_TEST)/init_test
	$(INIT_TEST)/init_test
