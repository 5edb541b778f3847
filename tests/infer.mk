# gen --infer: trained networks exported as inference C (tests/infer.sh).
# The trainers are compiled at -O0: they run a few images, and their
# compile time is what this test would otherwise spend.
.PHONY: test-infer
TEST_TARGETS += test-infer

INFER_NET_CFLAGS ?= -O0 -march=native -fopenmp
test-infer: $(B)/gen $(B)/shapes $(B)/libflatnet.a
	CC="$(CC)" NET_CFLAGS="$(INFER_NET_CFLAGS)" STB_CFLAGS="$(STB_CFLAGS)" tests/infer.sh $(B)
