#!/usr/bin/env bash
# consumer-test.sh -- use the installed mgc as a user outside this tree
# would, and fail on the first thing that does not work (make consumer-test).
#
# After a plain `make` (so build/ holds files made for the default prefix,
# the state in which `make install PREFIX=...` once installed an mgc.pc
# naming /usr/local), it installs into a temporary prefix and, from a
# directory outside the tree, builds and runs the README's "Hello, heap"
# program:
#   1. shared:  cc hello.c $(pkg-config --cflags --libs mgc)
#   2. static:  cc -static hello.c $(pkg-config --static --cflags --libs mgc),
#      and libmgc.a alone with a shared libc (-Wl,-Bstatic ... -Wl,-Bdynamic)
#   3. CMake:   find_package(mgc) with mgc::mgc, mgc::mgc_static and
#      MGC_USE_STATIC_LIBS (scripts/cmake/consumer)
# then the dlopen/dlclose plugin test (test/plugin) against the installed
# libmgc.so, `make uninstall` (the prefix must hold no file afterwards),
# and the same install staged with DESTDIR and a LIBDIR of its own.
# The CMake package's version rules are checked without a compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
make=${MAKE:-make}
cc=${CC:-cc}
unset MAKEFLAGS MFLAGS MAKELEVEL   # its own makes, -j2, even when run from make
scripts/deps.sh consumer

work=$(mktemp -d /tmp/mgc-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
app=$work/app

fail() { echo "consumer-test: FAIL: $*" >&2; exit 1; }
step() { echo "consumer-test: $*"; }

# The README's program is the one users copy; examples/hello.c must be it.
mkdir -p "$app"
awk '/^## Hello, heap/ { h = 1 } h && /^```c/ { p = 1; next } p && /^```/ { exit } p' \
    README.md > "$app/hello.c"
[ -s "$app/hello.c" ] || fail "no C block under '## Hello, heap' in README.md"
tail -n +2 examples/hello.c | diff -u - "$app/hello.c" >&2 ||
    fail "README.md's Hello, heap program and examples/hello.c differ"

# Runs a built hello and checks its one line of output.
run_hello() {
    local out
    out=$("$@") || fail "$* exited with $?"
    [[ $out =~ ^node\ 999999\;\ [0-9]+\ collections$ ]] || fail "$*: unexpected output '$out'"
}
# Whether an executable records libmgc as a needed shared library.
# (Output is captured, not piped into grep -q: under pipefail an early exit
# of grep would fail the pipeline.)
needs_mgc() { grep -q 'NEEDED.*\[libmgc\.so\.0\]' <<< "$(readelf -d "$1")"; }

step "plain make, then make install PREFIX=$prefix"
$make -s -j2
grep -qx 'prefix=/usr/local' build/mgc.pc || fail "build/mgc.pc after a plain make does not name /usr/local"
$make -s install PREFIX="$prefix" > /dev/null
for f in include/mgc.h lib/libmgc.a lib/libmgc.so.0.1.0 lib/libmgc.so.0 lib/libmgc.so \
         lib/pkgconfig/mgc.pc lib/cmake/mgc/mgcConfig.cmake lib/cmake/mgc/mgcConfigVersion.cmake; do
    [ -e "$prefix/$f" ] || fail "make install did not install $f"
done
[ "$(readlink "$prefix/lib/libmgc.so.0")" = libmgc.so.0.1.0 ] || fail "libmgc.so.0 is not a link to libmgc.so.0.1.0"
[ "$(readlink "$prefix/lib/libmgc.so")" = libmgc.so.0 ] || fail "libmgc.so is not a link to libmgc.so.0"
grep -q 'FLAGS_1.*NODELETE' <<< "$(readelf -d "$prefix/lib/libmgc.so.0.1.0")" || fail "libmgc.so is not linked with -z nodelete"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
unset LD_LIBRARY_PATH
cd "$app"
[ "$(pkg-config --variable=includedir mgc)" = "$prefix/include" ] || fail "mgc.pc names $(pkg-config --variable=includedir mgc)"

step "pkg-config, shared"
# shellcheck disable=SC2046  # pkg-config's output is a list of words
$cc hello.c $(pkg-config --cflags --libs mgc) -Wl,-rpath,"$(pkg-config --variable=libdir mgc)" -o hello-shared
needs_mgc hello-shared || fail "hello-shared does not use libmgc.so.0"
run_hello ./hello-shared

step "pkg-config --static, fully static"
# shellcheck disable=SC2046
$cc -static hello.c $(pkg-config --static --cflags --libs mgc) -o hello-static
[[ $(readelf -d hello-static) == *NEEDED* ]] && fail "hello-static needs shared libraries"
run_hello ./hello-static

step "pkg-config --static, libmgc.a with a shared libc"
# shellcheck disable=SC2046
$cc hello.c $(pkg-config --cflags mgc) -Wl,-Bstatic $(pkg-config --static --libs mgc) -Wl,-Bdynamic -o hello-static-mgc
needs_mgc hello-static-mgc && fail "hello-static-mgc uses libmgc.so"
run_hello ./hello-static-mgc

step "CMake find_package(mgc)"
cp "$src/scripts/cmake/consumer/CMakeLists.txt" .
cmake -S . -B cm -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_RPATH="$prefix/lib" > cm.log 2>&1 ||
    { cat cm.log >&2; fail "cmake configure"; }
cmake --build cm > cm.log 2>&1 || { cat cm.log >&2; fail "cmake build"; }
needs_mgc cm/hello || fail "mgc::mgc did not link libmgc.so"
needs_mgc cm/hello_static && fail "mgc::mgc_static linked libmgc.so"
run_hello cm/hello
run_hello cm/hello_static
cmake -S . -B cm-static -DCMAKE_PREFIX_PATH="$prefix" -DMGC_USE_STATIC_LIBS=ON > cm.log 2>&1 ||
    { cat cm.log >&2; fail "cmake configure, MGC_USE_STATIC_LIBS=ON"; }
cmake --build cm-static --target hello > cm.log 2>&1 || { cat cm.log >&2; fail "cmake build, MGC_USE_STATIC_LIBS=ON"; }
needs_mgc cm-static/hello && fail "mgc::mgc with MGC_USE_STATIC_LIBS=ON linked libmgc.so"
run_hello cm-static/hello

step "CMake version rules"
cat > version.cmake <<EOF
include("$prefix/lib/cmake/mgc/mgcConfigVersion.cmake")
message("\${PACKAGE_VERSION_COMPATIBLE} \${PACKAGE_VERSION_EXACT}")
EOF
version_ok() {  # requested version -> "COMPATIBLE EXACT" as the version file decides
    cmake -DPACKAGE_FIND_VERSION="$1" -DPACKAGE_FIND_VERSION_MAJOR="${1%%.*}" \
          -DPACKAGE_FIND_VERSION_MINOR="$(echo "$1" | cut -d. -f2)" -DCMAKE_SIZEOF_VOID_P=8 \
          -P version.cmake
}
for want in "0.1:TRUE FALSE" "0.1.0:TRUE TRUE" "0.0.9:FALSE FALSE" "0.2:FALSE FALSE" "1.0:FALSE FALSE"; do
    got=$(version_ok "${want%%:*}" 2>&1)
    [ "$got" = "${want#*:}" ] || fail "find_package(mgc ${want%%:*}): compatible/exact is '$got', want '${want#*:}'"
done

step "dlopen/dlclose plugin against the installed libmgc.so"
# shellcheck disable=SC2046
$cc -std=c11 -O2 -fPIC -shared "$src/test/plugin/plugin.c" $(pkg-config --cflags --libs mgc) \
    -Wl,-rpath,"$prefix/lib" -o libplugin.so
$cc -std=c11 -O2 "$src/test/plugin/host.c" -o host -ldl
[[ $(ldd libplugin.so) == *"libmgc.so.0 => $prefix/lib/libmgc.so.0 "* ]] || fail "the plugin does not load the installed libmgc"
./host ./libplugin.so 3 || fail "plugin test against the installed library"

step "make uninstall"
cd "$src"
$make -s uninstall PREFIX="$prefix"
left=$(find "$prefix" ! -type d)
[ -z "$left" ] || fail "make uninstall left: $left"

step "DESTDIR staging with PREFIX=/opt/mgc LIBDIR=/opt/mgc/lib64"
stage=$work/stage
$make -s install DESTDIR="$stage" PREFIX=/opt/mgc LIBDIR=/opt/mgc/lib64 > /dev/null
[ -e "$stage/opt/mgc/lib64/libmgc.so.0" ] && [ -e "$stage/opt/mgc/include/mgc.h" ] ||
    fail "DESTDIR install did not stage into $stage/opt/mgc"
grep -qx 'prefix=/opt/mgc' "$stage/opt/mgc/lib64/pkgconfig/mgc.pc" &&
    grep -qx 'libdir=${prefix}/lib64' "$stage/opt/mgc/lib64/pkgconfig/mgc.pc" ||
    fail "staged mgc.pc does not name /opt/mgc/lib64"
grep -q '"/opt/mgc/lib64"' "$stage/opt/mgc/lib64/cmake/mgc/mgcConfig.cmake" ||
    fail "staged mgcConfig.cmake does not name /opt/mgc/lib64"
grep -rq "$stage" "$stage" && fail "a staged file names the DESTDIR"
$make -s uninstall DESTDIR="$stage" PREFIX=/opt/mgc LIBDIR=/opt/mgc/lib64
left=$(find "$stage" ! -type d)
[ -z "$left" ] || fail "make uninstall DESTDIR=... left: $left"

step "passed"
