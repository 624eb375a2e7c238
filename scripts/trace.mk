# scripts/trace.mk -- the trace analyzer, included by the top-level Makefile.
#
#   build/mgc-trace TRACE.json [-o OUT.svg]
#
# Reads what the library writes under MGC_TRACE_FILE=TRACE.json.  It shares
# gc/mmu.c with the library (compiled in again, not linked from libmgc.a,
# so the tool needs no collector).  The test suite runs the tool, hence the
# test binary's dependency on it.
#
# Uses $(CC), $(ALL_CFLAGS), $(BUILD) and $(LDFLAGS) from the Makefile.

$(BUILD)/mgc-trace: scripts/mgc-trace.c gc/mmu.c gc/mmu.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) scripts/mgc-trace.c gc/mmu.c -o $@ $(LDFLAGS) -lm

all: $(BUILD)/mgc-trace

$(BUILD)/test/mgc-tests: $(BUILD)/mgc-trace
