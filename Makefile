# mgc -- build, test, demo, install.
#
#   make            build/libmgc.a, build/libmgc.so (and .so.0), build/mgc.pc,
#                   build/cmake/ (the CMake package)
#   make test       build and run the Criterion test suite and the Lox tests
#   make demo       build and run examples/demo.c and a GC-heavy Lox program
#   make bench      benchmarks side by side with Boehm GC, the mallocs and Go
#                   (make bench-quick: the same in under 2 minutes; bench/bench.mk)
#   make soak       build/soak: the randomized soak test (make soak-run SOAK_SECONDS=8h)
#   make fuzz-run   the libFuzzer API harness, bounded (FUZZ_SECONDS=60; clang)
#   make install PREFIX=/usr/local [LIBDIR=...] [INCLUDEDIR=...] [DESTDIR=...]
#   make uninstall  (same variables) removes exactly what install put there
#   make plugin-test   a dlopen host loads and unloads a plugin using mgc
#   make consumer-test install into a temporary prefix and build the README's
#                   hello program as a user would: pkg-config, --static, CMake
#   make clean
#
# make test / make demo first run scripts/deps.sh, which installs missing
# Debian packages when run as root and otherwise prints the apt-get command.

CC      ?= cc
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BUILD   ?= build
OPT     ?= -O2
CFLAGS  ?=
WARN    = -Wall -Wextra -Werror
# The tree's own headers by quoted include only (-iquote): gc/gc.h must not
# shadow Boehm GC's <gc/gc.h> in the benchmarks that link both.
BASEFLAGS = -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) -pthread -fPIC -fvisibility=hidden \
            -iquote . -Iinclude
ALL_CFLAGS = $(BASEFLAGS) $(CFLAGS)
AO_LIBS = -l:libatomic_ops_gpl.a -l:libatomic_ops.a
LIBS    = $(AO_LIBS) -pthread

LIB_SRCS := $(wildcard runtime/*.c) $(wildcard gc/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
HDRS     := $(wildcard include/*.h runtime/*.h gc/*.h)
TEST_SRCS := $(wildcard test/*.c)
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))

.PHONY: all test demo bench install uninstall plugin-test consumer-test clean deps-build deps-test deps-bench sizeclasses tsan tsan-ci asan ubsan debug FORCE

# The library's version comes from mgc.h; the SONAME carries the major
# number.  build/ holds the real file and both links, as an installed
# library does, so a program linked in the tree runs from it.
VERSION   := $(shell sed -n 's/^\#define MGC_VERSION_STRING "\(.*\)"/\1/p' include/mgc.h)
SOVERSION := $(shell sed -n 's/^\#define MGC_VERSION_MAJOR //p' include/mgc.h)
MINOR     := $(shell sed -n 's/^\#define MGC_VERSION_MINOR //p' include/mgc.h)
SIZEOF_POINTER := $(shell echo __SIZEOF_POINTER__ | $(CC) -E -P -)
SONAME    = libmgc.so.$(SOVERSION)
SHLIB     = libmgc.so.$(VERSION)
CONFIGS   = $(BUILD)/mgc.pc $(BUILD)/cmake/mgcConfig.cmake $(BUILD)/cmake/mgcConfigVersion.cmake

all: $(BUILD)/libmgc.a $(BUILD)/$(SHLIB) $(BUILD)/$(SONAME) $(BUILD)/libmgc.so $(CONFIGS)

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# libmgc.a carries the libatomic_ops members it uses (AO_stack, in
# libatomic_ops_gpl), as libmgc.so does: a static consumer links it with
# -pthread alone and needs no libatomic_ops of its own.  A member is linked
# only when referenced, so a program that also links libatomic_ops gets one
# copy of each.
AO_ARCHIVES = $(shell $(CC) -print-file-name=libatomic_ops_gpl.a) $(shell $(CC) -print-file-name=libatomic_ops.a)
$(BUILD)/libmgc.a: $(LIB_OBJS)
	@mkdir -p $(BUILD)
	rm -rf $@ $(BUILD)/ao && mkdir -p $(BUILD)/ao
	cd $(BUILD)/ao && for a in $(AO_ARCHIVES); do ar x "$$a" || exit 1; done
	ar rcs $@ $^ $(BUILD)/ao/*.o

# -z nodelete: the collector's threads run inside libmgc.so for the life of
# the process, so dlclose of a plugin linked with -lmgc must not unmap it
# (test/plugin/host.c).
$(BUILD)/$(SHLIB): $(LIB_OBJS)
	$(CC) -shared -o $@ $^ -Wl,--no-undefined -Wl,--exclude-libs,ALL -Wl,-z,nodelete \
	    -Wl,-soname,$(SONAME) $(LIBS)
$(BUILD)/$(SONAME) $(BUILD)/libmgc.so: $(BUILD)/$(SHLIB)
	ln -sf $(SHLIB) $@

# The installed mgc.pc and CMake package files name the install
# directories, so they are rebuilt whenever those change: install-dirs is
# rewritten only when its content differs (a `make` with the default
# PREFIX followed by `make install PREFIX=/opt/x` installs files naming
# /opt/x).  Each is removed before it is written, so a root-owned copy
# left by `sudo make install` never blocks a later `make`.
INSTALL_DIRS = $(VERSION) $(SIZEOF_POINTER) $(PREFIX) $(LIBDIR) $(INCLUDEDIR)
$(BUILD)/install-dirs: FORCE
	@mkdir -p $(BUILD)
	@echo '$(INSTALL_DIRS)' | cmp -s - $@ || { rm -f $@; echo '$(INSTALL_DIRS)' > $@; }
SUBST = sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@SOVERSION@|$(SOVERSION)|g' \
	    -e 's|@VERSION_MAJOR@|$(SOVERSION)|g' -e 's|@VERSION_MINOR@|$(MINOR)|g' \
	    -e 's|@SIZEOF_POINTER@|$(SIZEOF_POINTER)|g' \
	    -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|g' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|g'
$(BUILD)/mgc.pc: scripts/mgc.pc.in $(BUILD)/install-dirs
	rm -f $@ && $(SUBST) $< > $@
$(BUILD)/cmake/%: scripts/cmake/%.in $(BUILD)/install-dirs
	@mkdir -p $(dir $@)
	rm -f $@ && $(SUBST) -e 's|$${prefix}|$(PREFIX)|g' $< > $@

# The library the static-roots tests dlopen (beside the test binary).
$(BUILD)/test/libstatic_data.so: test/plugin/static_data.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g $(WARN) -fPIC -shared $< -o $@

# Tests link the static library so white-box tests can reach hidden symbols.
$(BUILD)/test/mgc-tests: $(TEST_SRCS) $(BUILD)/libmgc.a $(HDRS) $(BUILD)/test/libstatic_data.so
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fno-omit-frame-pointer $(TEST_SRCS) -o $@ $(BUILD)/libmgc.a -lcriterion $(LIBS) $(LDFLAGS) -lm

$(BUILD)/examples/%: examples/%.c $(BUILD)/libmgc.a include/mgc.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libmgc.a $(LIBS)

deps-build:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

test: deps-test
	@$(MAKE) --no-print-directory $(BUILD)/test/mgc-tests
	$(BUILD)/test/mgc-tests --jobs 2 $(TEST_ARGS)
	@$(MAKE) --no-print-directory lox-test

demo: deps-build
	@$(MAKE) --no-print-directory $(BUILD)/examples/demo $(BUILD)/lox
	$(BUILD)/examples/demo
	MGC_TRACE=1 $(BUILD)/lox --gc-summary examples/lox/demo.lox

# Sanitizer builds: the library and the tests rebuilt in their own tree.
# Criterion's runner cannot start under ThreadSanitizer, so `make tsan`
# builds the same test files against a small stand-in (test/shim) that
# forks a process per test.  TSAN_TESTS selects them ('|'-separated globs;
# default: every test, about 10 minutes of CPU here; CI runs the
# concurrency suites, TSAN_CI_TESTS).
TSAN_TESTS ?= *
TSAN_CI_TESTS = concurrent/*|threads/*|lifecycle/*|barriercheck/*|verify/*|barrier/*|weak/*|finalizers/*|cleanups/*|typed/*|scavenge/*|maxheap/*|roots/*|plainroots/*|threadroots/*|bulk/*|sweep/*|hostile/*|oom/*|verbose/*|staticroots/*|handshake/*
# The lock-order check (runtime/lockrank.h), on in make tsan and make debug;
# for the plain suite with it: make BUILD=build-lockrank CFLAGS=-DMGC_LOCKRANK test
LOCKRANK = -DMGC_LOCKRANK
TSAN_FLAGS = -fsanitize=thread -fno-omit-frame-pointer $(LOCKRANK)
build-tsan/test/mgc-tests-tsan: $(TEST_SRCS) test/shim/runner.c test/shim/criterion/criterion.h $(HDRS) FORCE
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT='-O1' CFLAGS='$(TSAN_FLAGS)' build-tsan/libmgc.a \
	    build-tsan/test/libstatic_data.so
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) -pthread -Itest/shim -iquote . -Iinclude $(TSAN_FLAGS) \
	    $(TEST_SRCS) test/shim/runner.c -o $@ build-tsan/libmgc.a $(AO_LIBS) -lm

tsan-ci:
	@$(MAKE) --no-print-directory tsan TSAN_TESTS='$(TSAN_CI_TESTS)'

tsan: deps-test build-tsan/test/mgc-tests-tsan
	TSAN_OPTIONS='halt_on_error=1 second_deadlock_stack=1' build-tsan/test/mgc-tests-tsan '$(TSAN_TESTS)'

FORCE:

asan: deps-test
	@$(MAKE) --no-print-directory BUILD=build-asan OPT='-O1' \
	    CFLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
	    LDFLAGS='-fsanitize=address,undefined' build-asan/test/mgc-tests
	ASAN_OPTIONS='detect_leaks=0' build-asan/test/mgc-tests --jobs 2 $(TEST_ARGS)

# UndefinedBehaviorSanitizer alone, at the default -O2 (make asan runs it
# with ASan at -O1): overflow, misaligned access, bad shifts abort the test.
ubsan: deps-test
	@$(MAKE) --no-print-directory BUILD=build-ubsan \
	    CFLAGS='-fsanitize=undefined -fno-sanitize-recover=undefined' \
	    LDFLAGS='-fsanitize=undefined' build-ubsan/test/mgc-tests
	build-ubsan/test/mgc-tests --jobs 2 $(TEST_ARGS)

# Debug build: -O0 and MGC_DEBUG, which turns on the heap verifier after
# every collection (MGC_VERIFY=1), and the lock-order check; the whole suite.
debug: deps-test
	@$(MAKE) --no-print-directory BUILD=build-debug OPT='-O0' CFLAGS='-DMGC_DEBUG $(LOCKRANK)' \
	    build-debug/test/mgc-tests
	build-debug/test/mgc-tests --jobs 2 $(TEST_ARGS)

# Regenerate the size-class tables (committed; the build does not need this).
sizeclasses:
	@mkdir -p $(BUILD)
	$(CC) -std=c11 -O2 $(WARN) scripts/mksizeclasses.c -o $(BUILD)/mksizeclasses
	$(BUILD)/mksizeclasses runtime/sizeclasses.h runtime/sizeclasses.c

-include bench/bench.mk
-include scripts/trace.mk
include examples/lox/lox.mk
include test/soak/soak.mk
include test/fuzz/fuzz.mk

# install and uninstall name the same files: the header, the static
# library, the shared library with its SONAME link and its link-time name,
# mgc.pc and the CMake package (find_package(mgc); scripts/cmake).
D_LIB = $(DESTDIR)$(LIBDIR)
D_CMAKE = $(D_LIB)/cmake/mgc
install: all
	install -d $(D_LIB) $(D_LIB)/pkgconfig $(D_CMAKE) $(DESTDIR)$(INCLUDEDIR)
	install -m 644 include/mgc.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(BUILD)/libmgc.a $(D_LIB)/
	install -m 755 $(BUILD)/$(SHLIB) $(D_LIB)/
	ln -sf $(SHLIB) $(D_LIB)/$(SONAME)
	ln -sf $(SONAME) $(D_LIB)/libmgc.so
	install -m 644 $(BUILD)/mgc.pc $(D_LIB)/pkgconfig/
	install -m 644 $(BUILD)/cmake/mgcConfig.cmake $(BUILD)/cmake/mgcConfigVersion.cmake $(D_CMAKE)/

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/mgc.h $(D_LIB)/libmgc.a $(D_LIB)/$(SHLIB) \
	    $(D_LIB)/$(SONAME) $(D_LIB)/libmgc.so $(D_LIB)/pkgconfig/mgc.pc \
	    $(D_CMAKE)/mgcConfig.cmake $(D_CMAKE)/mgcConfigVersion.cmake
	rmdir $(D_CMAKE) 2>/dev/null || true

# A host that dlopens and dlcloses a plugin linked with -lmgc, five times
# (test/plugin): libmgc.so must stay loaded while its threads run.  The
# plugin finds build/libmgc.so.0 through its RUNPATH.
PLUGIN_CFLAGS = -std=c11 -D_GNU_SOURCE -O2 -g $(WARN)
$(BUILD)/test/plugin/libplugin.so: test/plugin/plugin.c include/mgc.h $(BUILD)/$(SONAME) $(BUILD)/libmgc.so
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) -fPIC -shared -Iinclude $< -o $@ -L$(BUILD) -lmgc -Wl,-rpath,'$$ORIGIN/../..'
$(BUILD)/test/plugin/host: test/plugin/host.c
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) $< -o $@ -ldl
plugin-test: $(BUILD)/test/plugin/host $(BUILD)/test/plugin/libplugin.so
	$(BUILD)/test/plugin/host $(BUILD)/test/plugin/libplugin.so 5

consumer-test:
	scripts/consumer-test.sh

clean:
	rm -rf $(BUILD) build-tsan build-asan build-ubsan build-debug build-lockrank build-fuzz
