# The API fuzzer (issue 8): libFuzzer + ASan + UBSan, clang only.  See
# test/fuzz/fuzz_api.c.
#
#   make fuzz                         build build-fuzz/fuzz_api
#   make fuzz-run FUZZ_SECONDS=600    fuzz from test/fuzz/corpus (default 60 s)
#
# fuzz-run first replays every input in test/fuzz/regress (crashes found
# before, kept as regression tests), then fuzzes into a scratch copy of the
# corpus (build-fuzz/corpus), so the committed seeds stay small; new crash
# inputs land in build-fuzz/ (crash-*), to be copied into test/fuzz/regress.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_WARN     = -Wall -Wextra -Werror

.PHONY: fuzz fuzz-run deps-fuzz

deps-fuzz:
	@scripts/deps.sh fuzz

fuzz: deps-fuzz
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=$(FUZZ_CC) OPT=-O1 WARN='$(FUZZ_WARN)' \
	    CFLAGS='-fsanitize=fuzzer-no-link $(FUZZ_SAN)' build-fuzz/libmgc.a
	@$(MAKE) --no-print-directory build-fuzz/fuzz_api

build-fuzz/fuzz_api: test/fuzz/fuzz_api.c build-fuzz/libmgc.a include/mgc.h
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -O1 -g $(FUZZ_WARN) -pthread -Iinclude \
	    -fsanitize=fuzzer $(FUZZ_SAN) $< -o $@ build-fuzz/libmgc.a $(AO_LIBS)

fuzz-run: fuzz
	@mkdir -p build-fuzz/corpus
	cp test/fuzz/corpus/* build-fuzz/corpus/
	build-fuzz/fuzz_api -runs=0 test/fuzz/regress test/fuzz/corpus
	cd build-fuzz && ./fuzz_api -max_total_time=$(FUZZ_SECONDS) -timeout=20 -max_len=1024 \
	    -print_final_stats=1 corpus
