# Gradient accumulation and data-parallel training over MPI
# (docs/DISTRIBUTED.md), on a tiny ResNet-8: 12x12x3, width 4, batch 4 (and
# batch 2, the "generated differently" rank), one thread a rank.
#
#   test-accumulate  train --accumulate in one process (tests/accumulate.sh)
#   test-mpi         1-4 ranks against --accumulate, resume with another rank
#                    count, evaluation, mismatched ranks, a killed rank
#                    (tests/mpi.sh; about 45 s)
#   test-buckets     the bucket thread in one process (tests/buckets_test.c)
#   test-mpi-buckets the sum across ranks beside backward, in tiny buckets,
#                    bitwise as --accumulate (tests/buckets.sh; about 10 s)
.PHONY: test-accumulate test-mpi test-buckets test-mpi-buckets
TEST_TARGETS += test-accumulate test-mpi test-buckets test-mpi-buckets

MPI_DIR := $(B)/tests/mpi
MPI_NET_FLAGS := -D depth=8 -D width=4 -D input=12x12x3 -D classes=3
MPI_STCMP := $(B)/tests/runtime/stcmp

$(MPI_DIR)/net.c: $(B)/gen networks/resnet20.lua networks/resnet.lua
	mkdir -p $(@D)
	$(B)/gen $(MPI_NET_FLAGS) -D batch=4 -o $@ networks/resnet20.lua
$(MPI_DIR)/net2.c: $(B)/gen networks/resnet20.lua networks/resnet.lua
	mkdir -p $(@D)
	$(B)/gen $(MPI_NET_FLAGS) -D batch=2 -o $@ networks/resnet20.lua
$(MPI_DIR)/net: $(MPI_DIR)/net.c $(B)/libflatnet.a
	$(CC) $(RT_NET_CFLAGS) $(WARN) -Iruntime -o $@ $< $(NET_LIBS)
$(MPI_DIR)/net_mpi $(MPI_DIR)/net2_mpi: $(MPI_DIR)/%_mpi: $(MPI_DIR)/%.c $(B)/libflatnet_mpi.a
	$(MPICC) $(RT_NET_CFLAGS) $(WARN) -Iruntime -o $@ $< $(MPI_NET_LIBS)

test-accumulate: $(MPI_DIR)/net $(MPI_STCMP) $(B)/shapes
	tests/accumulate.sh $(MPI_DIR) $(MPI_STCMP) $(B)/shapes

test-mpi: $(MPI_DIR)/net $(MPI_DIR)/net_mpi $(MPI_DIR)/net2_mpi $(MPI_STCMP) $(B)/shapes
	tests/mpi.sh $(MPI_DIR) $(MPI_STCMP) $(B)/shapes $(B)/libflatnet.a
$(MPI_DIR)/buckets_test: tests/buckets_test.c runtime/buckets.h $(B)/libflatnet.a
	mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -fopenmp -Iruntime -o $@ $< $(NET_LIBS) -lcmocka
test-buckets: $(MPI_DIR)/buckets_test
	$(MPI_DIR)/buckets_test
test-mpi-buckets: $(MPI_DIR)/net $(MPI_DIR)/net_mpi $(MPI_STCMP) $(B)/shapes
	tests/buckets.sh $(MPI_DIR) $(MPI_STCMP) $(B)/shapes
$(MPI_STCMP): | $(B)/tests/runtime
