# The newcomer's path (issue 11): gen's search path, --version, the target
# guard, gen --build, make install/uninstall and a network built, split and
# trained from the install (tests/newcomer.sh).
.PHONY: test-newcomer
TEST_TARGETS += test-newcomer

test-newcomer: $(B)/gen $(B)/libflatnet.a $(B)/shapes
	tests/newcomer.sh $(B)
