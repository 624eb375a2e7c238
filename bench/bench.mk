# bench/bench.mk -- benchmarks, included by the top-level Makefile.
#
#   make bench          every benchmark
#   make bench-alloc    allocation cost against Boehm GC and the mallocs
#                       (ITERS=5000000 REPEAT=3 make bench-alloc for a short run)
#   make bench-meta     allocator metadata as a share of the heap
#   make bench-gc       binary-trees (DEPTH, default 21) and the pause
#                       benchmark (100 MB and 1 GB live) on mgc and Boehm GC
#
# Uses $(CC), $(ALL_CFLAGS), $(BUILD) and $(LIBS) from the Makefile.

.PHONY: bench-alloc bench-meta bench-gc

$(BUILD)/bench/alloc_bench: bench/alloc_bench.c $(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libmgc.a -lgc $(LIBS)

bench-alloc: deps-bench $(BUILD)/bench/alloc_bench
	BUILD='$(BUILD)' bench/run_alloc.sh '$(BUILD)/bench/alloc_bench'

$(BUILD)/bench/meta_bench: bench/meta_bench.c $(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libmgc.a $(LIBS)

# Live heaps of 16 MB, 100 MB and 1 GB of 16-64 byte objects, and the
# extremes (all 16, all 64 bytes).
bench-meta: deps-build $(BUILD)/bench/meta_bench
	@echo "live_mb,min,max,heap_inuse,heap_sys,meta_sys,meta_per_inuse_pct,meta_per_sys_pct"
	@for mb in 16 100 1000; do for r in "16 64" "16 16" "64 64"; do \
		$(BUILD)/bench/meta_bench $$mb $$r || exit 1; done; done

$(BUILD)/bench/binarytrees: bench/binarytrees.c $(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libmgc.a -lgc $(LIBS)

$(BUILD)/bench/pause_bench: bench/pause_bench.c $(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libmgc.a -lgc $(LIBS)

DEPTH ?= 21
bench-gc: deps-bench $(BUILD)/bench/binarytrees $(BUILD)/bench/pause_bench
	@echo "mode,depth,wall_s,cpu_s,peak_rss_kb,num_gc,pauses,p50_us,p99_us,max_us,mmu_1ms,mmu_10ms,mmu_100ms,check"
	@$(BUILD)/bench/binarytrees mgc $(DEPTH)
	@$(BUILD)/bench/binarytrees boehm $(DEPTH)
	@echo "mode,live_mb,cycles,pauses,p50_us,p99_us,max_us,wall_s,peak_rss_kb"
	@for mb in 100 1000; do $(BUILD)/bench/pause_bench mgc $$mb 4 || exit 1; \
		$(BUILD)/bench/pause_bench boehm $$mb 4 || exit 1; done

bench: bench-alloc bench-meta bench-gc
