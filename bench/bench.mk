# bench/bench.mk -- benchmarks, included by the top-level Makefile.
#
#   make bench          every benchmark (today: bench-alloc)
#   make bench-alloc    allocation cost against Boehm GC and the mallocs
#                       (ITERS=5000000 REPEAT=3 make bench-alloc for a short run)
#
# Uses $(CC), $(ALL_CFLAGS), $(BUILD) and $(LIBS) from the Makefile.

.PHONY: bench-alloc

$(BUILD)/bench/alloc_bench: bench/alloc_bench.c $(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libmgc.a -lgc $(LIBS)

bench-alloc: deps-bench $(BUILD)/bench/alloc_bench
	BUILD='$(BUILD)' bench/run_alloc.sh '$(BUILD)/bench/alloc_bench'

bench: bench-alloc
