#!/usr/bin/env bash
# run_tests.sh -- run Lox test files against a Lox binary and check them.
#
#   examples/lox/run_tests.sh LOX_BINARY DIR_OR_FILE...
#
# Every .lox file under the arguments is a test, with its expectations in
# comments (as in the Lox suite, see examples/lox/suite/README.md):
#   // expect: TEXT                 the next line of stdout is TEXT
#   // Error...                     a compile error on this line (exit 65)
#   // [line N] Error...            a compile error on line N
#   // [c line N] Error...          the same, for the C VM only
#   // [java line N] ...            for the Java interpreter only: ignored
#   // expect runtime error: MSG    stderr starts with MSG, then a stack
#                                   trace whose first "[line N]" is this
#                                   line (exit 70)
#   // nontest                      not a test: skipped
# and one addition for programs of our own:
#   // lox-flags: FLAGS             command-line flags for the VM
# A test passes when stdout, the error lines on stderr and the exit code
# are exactly the expected ones.  Prints the failures and a count; exits 1
# if any test failed.  LOX_JOBS (default 1) runs that many tests at once;
# LOX_TIMEOUT (default 300) is the seconds one test may take.
set -uo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 LOX_BINARY DIR_OR_FILE..." >&2
    exit 2
fi
lox=$1
shift
for d in "$@"; do
    if [ ! -e "$d" ]; then
        echo "$0: $d does not exist (set LOX_TESTS to the Lox test suite)" >&2
        exit 2
    fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Split one test's expectations into files: out (stdout lines), cerr
# (compile error lines), rt (runtime message, then its line), flags, skip.
parse() {
    awk -v dir="$2" '
    BEGIN { out = dir "/out"; cerr = dir "/cerr"; rt = dir "/rt"; flags = dir "/flags"
            printf "" > out; printf "" > cerr; printf "" > rt; printf "" > flags }
    /\/\/ nontest/ { print "" > (dir "/skip") }
    match($0, /\/\/ expect: ?/) { print substr($0, RSTART + RLENGTH) > out; next }
    match($0, /\/\/ expect runtime error: /) {
        print substr($0, RSTART + RLENGTH) > rt; print FNR > rt; next }
    match($0, /\/\/ lox-flags: /) { print substr($0, RSTART + RLENGTH) > flags; next }
    match($0, /\/\/ Error/) { print "[line " FNR "] " substr($0, RSTART + 3) > cerr; next }
    match($0, /\/\/ \[(c )?line [0-9]+\] Error/) {
        s = substr($0, RSTART + 3); sub(/^\[c /, "[", s); print s > cerr; next }
    ' "$1"
}

# Run one test; print nothing if it passes, else its name and why.
check() {
    local test=$1 dir
    dir=$(mktemp -d "$tmp/t.XXXXXX")
    parse "$test" "$dir"
    [ -e "$dir/skip" ] && { echo SKIP > "$dir/result"; return; }
    local want_code=0
    [ -s "$dir/cerr" ] && want_code=65
    [ -s "$dir/rt" ] && want_code=70
    # shellcheck disable=SC2046
    timeout "${LOX_TIMEOUT:-300}" "$lox" $(cat "$dir/flags") "$test" > "$dir/got_out" 2> "$dir/got_err"
    local code=$? why=""
    if [ "$code" = 124 ]; then
        why="timed out after ${LOX_TIMEOUT:-300} s"
    elif [ "$code" != "$want_code" ]; then
        why="exit code $code, expected $want_code"
    elif ! cmp -s "$dir/out" "$dir/got_out"; then
        why="stdout differs:"$'\n'"$(diff "$dir/out" "$dir/got_out" | head -10)"
    elif [ "$want_code" = 65 ]; then
        if ! diff <(sort -u "$dir/cerr") <(grep -v '^$' "$dir/got_err" | sort -u) > "$dir/d"; then
            why="compile errors differ:"$'\n'"$(head -10 "$dir/d")"
        fi
    elif [ "$want_code" = 70 ]; then
        local msg line got_line
        msg=$(sed -n 1p "$dir/rt")
        line=$(sed -n 2p "$dir/rt")
        got_line=$(sed -n '2,$p' "$dir/got_err" | grep -o -m1 '\[line [0-9]*\]' | tr -dc 0-9)
        if [ "$(sed -n 1p "$dir/got_err")" != "$msg" ]; then
            why="runtime error: expected '$msg', got '$(sed -n 1p "$dir/got_err")'"
        elif [ "$got_line" != "$line" ]; then
            why="runtime error on line '$got_line', expected $line"
        fi
    elif [ -s "$dir/got_err" ]; then
        why="unexpected stderr: $(head -3 "$dir/got_err")"
    fi
    if [ -n "$why" ]; then
        echo FAIL > "$dir/result"
        printf 'FAIL %s: %s\n' "$test" "$why"
    else
        echo PASS > "$dir/result"
    fi
}
export -f parse check
export lox tmp

start=$(date +%s)
find "$@" -name '*.lox' | sort | xargs -d '\n' -P "${LOX_JOBS:-1}" -I{} bash -c 'check "$1"' _ {}
pass=$(cat "$tmp"/t.*/result 2>/dev/null | grep -c PASS)
fail=$(cat "$tmp"/t.*/result 2>/dev/null | grep -c FAIL)
skip=$(cat "$tmp"/t.*/result 2>/dev/null | grep -c SKIP)
echo "lox tests: $pass passed, $fail failed, $skip skipped (not tests) in $(($(date +%s) - start)) s"
[ "$fail" = 0 ]
