# End to end: a tiny ResNet-18 learns an image folder (tests/train_learns.sh).
.PHONY: test-learns
TEST_TARGETS += test-learns

$(B)/tests/learn/net.c: $(B)/gen networks/resnet18.lua networks/resnet.lua
	mkdir -p $(dir $@)
	$(B)/gen -D input=32x32x3 -D width=8 -D batch=16 -o $@ networks/resnet18.lua
$(B)/tests/learn/net: $(B)/tests/learn/net.c $(B)/libflatnet.a
	$(CC) $(NET_CFLAGS) $(WARN) -Iruntime -o $@ $< $(NET_LIBS)

test-learns: $(B)/tests/learn/net $(B)/shapes
	tests/train_learns.sh $(B)/tests $(B)/shapes $(B)/tests/learn/net
