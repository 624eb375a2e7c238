# bench/bench.mk -- benchmarks, included by the top-level Makefile.
#
#   make bench          the full side-by-side suite (bench/run.sh; about 15
#                       minutes on 2 cores): mgc against Boehm GC, glibc,
#                       jemalloc, mimalloc, tcmalloc and Go; report and
#                       plots in bench/results/
#   make bench-quick    the same suite at small sizes (under 2 minutes)
#   make bench-alloc    only the allocation microbenchmarks (full sizes)
#   make bench-gc       only binary-trees and the pause benchmark
#   make bench-meta     allocator metadata as a share of the heap
#   make bench-typed    mark time of precise (typed) vs conservative objects
#   make bench-roots    root ranges: 20k-100k small ranges (collect, remove)
#                       and the end-of-mark pause per MiB and per range
#   make bench-barrier  what a card mark or an object log would add to
#                       gc_store (N=, RUNS=, CALLGRIND=1; not in make bench)
#   make bench-barriercheck  MGC_BARRIERCHECK's detection rate of planted
#                       plain stores and its cost (SECONDS=, default 3;
#                       not in make bench)
#   make bench-lox      the Lox VM on mgc against clox, the book's VM built
#                       from ../shared/clox (bench/lox_clox.sh; CALLGRIND=1
#                       adds instruction counts); also run by make bench
#   make bench-threads  issue 16: pauses and per-thread holds with 2-64
#                       threads allocating on a tiny live heap, and 64 idle
#                       threads blocked in read(), each case in both modes,
#                       MGC_HANDSHAKE=0 and 1 (bench/thread_pause.c;
#                       DURATION=N s per case and mode, default 3; about
#                       30 s); the
#                       table also goes to bench/results/thread-pause.md
#                       (RESULTS=dir as for run.sh);
#                       also run by make bench
#
# REPEAT=N sets the runs per benchmark (default 3); see bench/run.sh.
# Uses $(CC), $(ALL_CFLAGS), $(BUILD) and $(LIBS) from the Makefile.

.PHONY: bench bench-quick bench-alloc bench-gc bench-meta bench-bins bench-typed bench-roots bench-lox \
	bench-barrier bench-barriercheck bench-threads

BENCH_PROGS := alloc_bench gcbench binarytrees pause_bench markrate typed_bench
BENCH_BINS := $(addprefix $(BUILD)/bench/,$(BENCH_PROGS) gcstat go-alloc go-binarytrees go-pause)

# bench_util.h's pause summaries use gc/mmu.c, compiled into each program
# as scripts/trace.mk does for build/mgc-trace: gcstat links no collector,
# and in the others it comes first, so libmgc.a's copy is never pulled in.
BENCH_MMU := gc/mmu.c gc/mmu.h

# -iquote, not -I, for the tree: Boehm's <gc.h> includes <gc/gc.h>, which
# -I. would resolve to the collector's own gc/gc.h.
BENCH_CFLAGS = $(filter-out -I.,$(ALL_CFLAGS)) -iquote .

$(addprefix $(BUILD)/bench/,$(BENCH_PROGS)): $(BUILD)/bench/%: bench/%.c bench/bench_util.h \
		$(BENCH_MMU) $(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< gc/mmu.c -o $@ $(BUILD)/libmgc.a -lgc $(LIBS)

$(BUILD)/bench/gcstat: bench/gcstat.c bench/bench_util.h $(BENCH_MMU)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< gc/mmu.c -o $@ -lm -pthread

# The Go twins, built offline with Debian's golang-go: GOPATH mode (no
# module, nothing to download), caches under $(BUILD).  Without a go
# command nothing is built and bench/run.sh reports Go as skipped.
GO_ENV = GO111MODULE=off GOPROXY=off GOFLAGS= GOCACHE=$(abspath $(BUILD))/go/cache \
	 GOPATH=$(abspath $(BUILD))/go/path
$(BUILD)/bench/go-%: bench/go/%/main.go
	@mkdir -p $(dir $@)
	@if command -v go >/dev/null; then echo "go build -o $@ ./bench/go/$*"; \
		$(GO_ENV) go build -o $@ ./bench/go/$*; \
	else echo "bench: no go command, the Go benchmarks will be skipped"; fi

bench-bins: deps-bench
	@$(MAKE) --no-print-directory $(BENCH_BINS)

bench: bench-bins
	BUILD='$(BUILD)' bench/run.sh
	@$(MAKE) --no-print-directory bench-lox
	@$(MAKE) --no-print-directory bench-threads

bench-lox: $(BUILD)/lox
	BUILD='$(BUILD)' bench/lox_clox.sh

# One child process per case (bench/thread_pause.c); not in BENCH_PROGS, so
# run.sh and make bench-quick neither build nor run it.
$(BUILD)/bench/thread_pause: bench/thread_pause.c bench/bench_util.h $(BENCH_MMU) \
		$(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< gc/mmu.c -o $@ $(BUILD)/libmgc.a -lgc $(LIBS)

bench-threads: deps-bench $(BUILD)/bench/thread_pause
	@mkdir -p $(or $(RESULTS),bench/results)
	$(BUILD)/bench/thread_pause -d $(or $(DURATION),3) -o $(or $(RESULTS),bench/results)/thread-pause.md

bench-quick: bench-bins
	QUICK=1 BUILD='$(BUILD)' bench/run.sh

bench-alloc: bench-bins
	ONLY=alloc BUILD='$(BUILD)' bench/run.sh

bench-gc: bench-bins
	ONLY='binarytrees pause' BUILD='$(BUILD)' bench/run.sh

$(BUILD)/bench/meta_bench: bench/meta_bench.c $(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libmgc.a $(LIBS)

# Live heaps of 16 MB, 100 MB and 1 GB of 16-64 byte objects, and the
# extremes (all 16, all 64 bytes).
bench-meta: deps-build $(BUILD)/bench/meta_bench
	@echo "live_mb,min,max,heap_inuse,heap_sys,meta_sys,meta_per_inuse_pct,meta_per_sys_pct"
	@for mb in 16 100 1000; do for r in "16 64" "16 16" "64 64"; do \
		$(BUILD)/bench/meta_bench $$mb $$r || exit 1; done; done

# Mark time and retention of the same tree of nodes allocated with gc_alloc
# (conservative) and gc_alloc_typed (precise), 128-byte and 1 KiB nodes, the
# mark stop-the-world and no scavenger, so nothing else is timed
# (bench/typed_bench.c).
bench-typed: deps-build $(BUILD)/bench/typed_bench
	@echo "bench,mode,depth,data_words,nodes,mark_ms_median,mark_ms_min,cpu_ms_per_gc,heap_marked_mb,retained_aliased_mb"
	@for r in "20 14" "17 126"; do for m in untyped typed; do \
		MGC_STW=1 MGC_SCAVENGE=0 $(BUILD)/bench/typed_bench $$m $${r% *} 9 $${r#* } || exit 1; done; done

$(BUILD)/bench/roots_bench: bench/roots_bench.c $(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libmgc.a $(LIBS)

# 32-byte ranges at 20k, 40k, 100k; then the termination pause of plain
# (rescanned) against barrier-only ranges (bench/roots_bench.c).
bench-roots: deps-build $(BUILD)/bench/roots_bench
	MGC_SCAVENGE=0 $(BUILD)/bench/roots_bench scale 20000 40000 100000
	MGC_SCAVENGE=0 $(BUILD)/bench/roots_bench pause

# What a remembered-set barrier would add to gc_store: 1e8 pointer stores,
# plain, through gc_store, and through gc_store plus a simulated card mark
# or object log (bench/barrier_cost.c; docs/design/generational.md).  Not
# part of make bench.  CALLGRIND=1 adds instructions per store (1e6 stores
# of each mode under callgrind, the stores alone).
$(BUILD)/bench/barrier_cost: bench/barrier_cost.c $(BUILD)/libmgc.a include/mgc.h runtime/heap.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< -o $@ $(BUILD)/libmgc.a $(LIBS)

# MGC_BARRIERCHECK's cost and detection rate (issue 14 part 5), on the
# stress program of test/test_barriercheck.c (bench/barriercheck_bench.c):
# SECONDS (default 3) with the sanitizer off, then on, no store planted;
# then RUNS (default 10) runs of 1 s with a planted plain store every 4096
# rewires in one thread of four.  Not in make bench.
$(BUILD)/bench/barriercheck_bench: bench/barriercheck_bench.c $(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< -o $@ $(BUILD)/libmgc.a $(LIBS)

bench-barriercheck: deps-build $(BUILD)/bench/barriercheck_bench
	@nproc | sed 's/^/cpus: /'; uptime
	@for c in 0 1; do $(BUILD)/bench/barriercheck_bench $$c 0 $(if $(SECONDS),$(SECONDS),3) || exit 1; done
	@for r in $$(seq $(if $(RUNS),$(RUNS),10)); do $(BUILD)/bench/barriercheck_bench 1 1 1 || exit 1; done | \
	  tee $(BUILD)/bench/barriercheck.out
	@awk '{ for (i = 1; i <= NF; i++) { split($$i, kv, "="); v[kv[1]] = kv[2] } \
	  runs++; found += v["reports"] > 0; rep += v["reports"]; pim += v["planted_in_mark"]; pl += v["planted"] } \
	  END { printf "planted runs with a report: %d of %d; reports %d of %d planted stores made while a cycle marked (%d planted in all)\n", \
	  found, runs, rep, pim, pl }' $(BUILD)/bench/barriercheck.out

bench-barrier: deps-build $(BUILD)/bench/barrier_cost
	@nproc | sed 's/^/cpus: /'; uptime
	MGC_SCAVENGE=0 $(BUILD)/bench/barrier_cost $(if $(N),$(N),1e8) $(if $(RUNS),$(RUNS),5)
	@if [ "$(CALLGRIND)" = 1 ]; then for p in hot seq rand; do \
	  for m in plain gc_store card card-arena log-obj log-obj-first log-slot log-slot-first; do \
	    MGC_SCAVENGE=0 valgrind --tool=callgrind --toggle-collect=run_mode \
	      --callgrind-out-file=$(BUILD)/bench/cg.barrier.out \
	      $(BUILD)/bench/barrier_cost 1e6 1 $$p $$m >/dev/null 2>&1 || exit 1; \
	    awk -v p=$$p -v m=$$m '/^(summary|totals):/ { ir = $$2 } \
	      END { printf "callgrind,%s,%s,%.2f instructions per store\n", p, m, ir / 1e6 }' \
	      $(BUILD)/bench/cg.barrier.out; done; done; fi
