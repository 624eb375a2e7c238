# examples/lox/lox.mk -- the Lox VM on the mgc heap, included by the
# top-level Makefile.
#
#   make lox          build/lox (the VM on mgc)
#   make lox-test     the Lox test suite ($(LOX_TESTS)) and examples/lox/programs
#   make lox-check-stack  the same on a VM that checks every push against the
#                     stack reserved by the compiler's max_stack
#   make lox-torture  the same with MGC_TORTURE=$(LOX_TORTURE) MGC_CHECKMARK=1, and
#                     the demo under MGC_CHECKMARK=1 (concurrent cycles)
#   make lox-boehm    build/lox-boehm: the same VM on Boehm GC (benchmark only)
#   make lox-bench    examples/lox/demo.lox on both, side by side: run time
#                     and pauses (--gc-summary)
#
# Uses $(CC), $(ALL_CFLAGS), $(BUILD) and $(LIBS) from the Makefile.

LOX_TESTS ?= examples/lox/suite/test
LOX_TORTURE ?= 1
LOX_SRCS := $(wildcard examples/lox/*.c)
LOX_HDRS := $(wildcard examples/lox/*.h)

.PHONY: lox lox-test lox-check-stack lox-torture lox-boehm lox-bench

lox: $(BUILD)/lox

$(BUILD)/lox: $(LOX_SRCS) $(LOX_HDRS) $(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LOX_SRCS) -o $@ $(BUILD)/libmgc.a $(LIBS)

# Boehm GC behind the same glue header (gcglue.h); libmgc is not linked.
# -iquote, not -I, for the tree: Boehm's <gc.h> includes <gc/gc.h>, which
# -I. would resolve to the collector's own gc/gc.h.
lox-boehm: $(BUILD)/lox-boehm

$(BUILD)/lox-boehm: $(LOX_SRCS) $(LOX_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -I.,$(ALL_CFLAGS)) -iquote . -DLOX_BOEHM $(LOX_SRCS) -o $@ -lgc -pthread

lox-test: $(BUILD)/lox
	examples/lox/run_tests.sh $(BUILD)/lox $(LOX_TESTS) examples/lox/programs

# A torture collection runs while the allocating thread waits for it, so
# with one mutator thread it cannot catch a missing barrier; the demo (with
# its rewiring phase) under concurrent cycles, each one verified, may.
# The VM with every push checked against the stack its function's
# max_stack reserved (compiler.c): an underestimate aborts with a message.
lox-check-stack: $(BUILD)/lox-check-stack
	examples/lox/run_tests.sh $(BUILD)/lox-check-stack $(LOX_TESTS) examples/lox/programs

$(BUILD)/lox-check-stack: $(LOX_SRCS) $(LOX_HDRS) $(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DLOX_CHECK_STACK $(LOX_SRCS) -o $@ $(BUILD)/libmgc.a $(LIBS)

lox-torture: $(BUILD)/lox
	MGC_TORTURE=$(LOX_TORTURE) MGC_CHECKMARK=1 \
	    examples/lox/run_tests.sh $(BUILD)/lox $(LOX_TESTS) examples/lox/programs
	MGC_CHECKMARK=1 $(BUILD)/lox examples/lox/demo.lox > $(BUILD)/lox-demo.out
	grep -qx true $(BUILD)/lox-demo.out

lox-bench: $(BUILD)/lox $(BUILD)/lox-boehm
	@for vm in lox lox-boehm; do \
		bash -c 'TIMEFORMAT="$$0: %R s wall, %U s user, %S s sys"; time "$$1" --gc-summary examples/lox/demo.lox > /dev/null' \
		    $$vm $(BUILD)/$$vm || exit 1; \
	done
