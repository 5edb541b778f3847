# Every shell script in the tree parses under the shell its first line names
# (bash for the sourced ones): a shell reads a script a command at a time, so
# a quoting slip near the end of a benchmark shows only after its minutes of
# runs (benchmarks/variants.sh lost its final table so).
.PHONY: test-scripts
TEST_TARGETS += test-scripts

SHELL_SCRIPTS := $(wildcard benchmarks/*.sh tests/*.sh tools/*.sh) .ci/run

test-scripts:
	@for s in $(SHELL_SCRIPTS); do \
	    case $$(head -n 1 "$$s") in '#!/bin/sh'*) sh=sh ;; *) sh=bash ;; esac; \
	    $$sh -n "$$s" || { echo "$$s does not parse as $$sh"; exit 1; }; \
	done
	@echo "scripts: $(words $(SHELL_SCRIPTS)) parse"
