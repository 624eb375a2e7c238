# scripts/trace.mk -- the trace analyzer, included by the top-level Makefile.
#
#   build/mgc-trace TRACE.json [-o OUT.svg]
#
# Reads what the library writes under MGC_TRACE_FILE=TRACE.json.  Its
# sources are scripts/mgc-trace/ (the parts are listed in mgc-trace.h).  It
# shares gc/mmu.c with the library (compiled in again, not linked from
# libmgc.a, so the tool needs no collector).  The test suite runs the tool,
# hence the test binary's dependency on it.
#
# Uses $(CC), $(ALL_CFLAGS), $(BUILD) and $(LDFLAGS) from the Makefile.

TRACE_SRCS := $(wildcard scripts/mgc-trace/*.c)
TRACE_HDRS := $(wildcard scripts/mgc-trace/*.h)

$(BUILD)/mgc-trace: $(TRACE_SRCS) $(TRACE_HDRS) gc/mmu.c gc/mmu.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TRACE_SRCS) gc/mmu.c -o $@ $(LDFLAGS) -lm

all: $(BUILD)/mgc-trace

$(BUILD)/test/mgc-tests: $(BUILD)/mgc-trace
