# What a user types must not tear or destroy their files (issue 13,
# docs/RELIABILITY.md): checkpoint locks, checksums and identity, outputs that
# are inputs, split's folders, FIFOs, interruptions (tests/robust.sh), on the
# small trainers of test-runtime and a 2-class one (predict's default --top).
.PHONY: test-robust
TEST_TARGETS += test-robust

$(B)/tests/runtime/net2.c: $(B)/gen networks/resnet18.lua networks/resnet.lua | $(B)/tests/runtime
	$(B)/gen $(RT_NET_FLAGS) -D classes=2 -o $@ networks/resnet18.lua
$(B)/tests/runtime/net2: %: %.c $(B)/libflatnet.a
	$(CC) $(RT_NET_CFLAGS) $(WARN) -Iruntime -o $@ $< $(NET_LIBS)

test-robust: $(B)/tests/runtime/net3 $(B)/tests/runtime/net2 $(B)/tests/runtime/net5 $(B)/tests/runtime/stcmp $(B)/shapes $(B)/gen
	tests/robust.sh $(B)/tests/runtime $(B)/shapes $(B)/gen
