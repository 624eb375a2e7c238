# The soak test (issue 8): a randomized multi-threaded mutator checking
# that no reachable object is ever lost or corrupted.  See test/soak/soak.c.
#
#   make soak                       build build/soak
#   make soak-run SOAK_SECONDS=8h   build and run it (default 60 s, 4 threads)
#
# gc_verify_heap() is called during the run when mgc.h declares it.

SOAK_SECONDS ?= 60
SOAK_THREADS ?= 4
SOAK_DEFS := $(shell grep -q 'gc_verify_heap' include/mgc.h && echo -DSOAK_HAVE_VERIFY_HEAP)

.PHONY: soak soak-run

soak: $(BUILD)/soak

$(BUILD)/soak: test/soak/soak.c $(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SOAK_DEFS) -fno-omit-frame-pointer $< -o $@ $(BUILD)/libmgc.a $(LIBS) $(LDFLAGS)

soak-run: soak
	$(BUILD)/soak $(SOAK_SECONDS) $(SOAK_THREADS)
