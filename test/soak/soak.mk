# The soak test (issue 8): a randomized multi-threaded mutator checking
# that no reachable object is ever lost or corrupted.  See test/soak/soak.c.
#
#   make soak                       build build/soak
#   make soak-run SOAK_SECONDS=8h   build and run it (default 60 s, 4 threads)
#   make soak-asan                  the same under AddressSanitizer + UBSan
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

# The same soak against the AddressSanitizer + UBSan library (make asan's
# build-asan tree): a heap overflow or use after free inside the collector
# under this load is reported at once.
SOAK_ASAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: soak-asan
soak-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT='-O1' CFLAGS='$(SOAK_ASAN)' build-asan/libmgc.a
	$(CC) -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) -pthread -iquote . -Iinclude $(SOAK_DEFS) $(SOAK_ASAN) \
	    test/soak/soak.c -o build-asan/soak build-asan/libmgc.a $(LIBS)
	ASAN_OPTIONS=detect_leaks=0 build-asan/soak $(SOAK_SECONDS) $(SOAK_THREADS)
