#!/usr/bin/env bash
# lox_clox.sh -- the Lox VM on mgc (build/lox) side by side with clox, the
# book's reference VM, on the benchmark programs examples/lox/bench/*.lox
# (make bench-lox; also the last part of make bench).
#
# clox is built here from its unchanged source (CLOX_SRC, default
# ../shared/clox next to the project) and never linked into mgc:
#   $BUILD/bench/clox         gcc -O2 -std=c99 -w, as its README says: timed
#   $BUILD/bench/clox-pauses  the same, linked with bench/lox_clox_pause.c
#                             (-Wl,--wrap=reallocate), which times each of
#                             its stop-the-world collections: pauses only
# Each program runs on both VMs REPEAT times (default 3), interleaved; the
# table gives the median wall time, the ratio mgc-Lox / clox, and the
# pauses: mgc-Lox's from --gc-summary (a separate run), clox's from
# clox-pauses; and mgc-Lox's per-thread holds (its thread held alone for
# its stack scan or a handshake: what the program felt where no pause was).
# Both VMs must print the same output, else the program is reported as an
# error.  CALLGRIND=1 adds the instruction counts of one run
# of each under valgrind --tool=callgrind (all threads: mgc's mark workers
# included), which do not depend on the machine's load; slow (~50x).
# LOX_BENCH="fib zoo" runs only those programs.  Writes the table on stdout
# and to $RESULTS/lox-clox.md.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) out=$BUILD ;; *) out=$root/$BUILD ;; esac
REPEAT=${REPEAT:-3}
CALLGRIND=${CALLGRIND:-0}
RESULTS=${RESULTS:-$root/bench/results}
CLOX_SRC=${CLOX_SRC:-$root/../shared/clox}
CC=${CC:-cc}
lox=$out/lox
clox=$out/bench/clox
cloxp=$out/bench/clox-pauses

if [ ! -f "$CLOX_SRC/vm.c" ]; then
  echo "lox_clox.sh: no clox source in $CLOX_SRC (set CLOX_SRC): skipped" >&2
  exit 0
fi
[ -x "$lox" ] || { echo "lox_clox.sh: $lox not built (make lox)" >&2; exit 2; }
mkdir -p "$out/bench" "$RESULTS"
gcc -O2 -std=c99 -w "$CLOX_SRC"/*.c -o "$clox" || exit 2
gcc -O2 -std=c99 -w -I"$CLOX_SRC" "$CLOX_SRC"/*.c "$here/lox_clox_pause.c" \
    -Wl,--wrap=reallocate -o "$cloxp" || exit 2

progs=()
for p in "$root"/examples/lox/bench/*.lox; do
  n=$(basename "$p" .lox)
  if [ -n "${LOX_BENCH:-}" ]; then case " $LOX_BENCH " in *" $n "*) ;; *) continue ;; esac; fi
  progs+=("$p")
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# ** One timed run: wall seconds on stdout, the program's output in $tmp/out.$2.
run() { # exe tag program
  local t0 t1
  t0=$(date +%s%N)
  "$1" "$3" > "$tmp/out.$2" 2> "$tmp/err.$2" || { echo "lox_clox.sh: $1 $3 failed: $(head -c 300 "$tmp/err.$2")" >&2; return 1; }
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
callgrind_ir() { # exe program
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 > /dev/null |
    sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' | tail -1
}

{
  echo "| program | clox s | mgc-Lox s | ratio |$( [ "$CALLGRIND" = 1 ] && echo " Ir ratio |") clox GCs, pause total / max | mgc-Lox GCs, pauses, total / max | mgc-Lox per-thread holds, total / max |"
  echo "|---|---|---|---|$( [ "$CALLGRIND" = 1 ] && echo "---|")---|---|---|"
} > "$tmp/table"
for p in "${progs[@]}"; do
  n=$(basename "$p" .lox)
  : > "$tmp/t.clox"; : > "$tmp/t.mgc"
  ok=1
  for ((r = 1; r <= REPEAT; r++)); do
    run "$clox" clox "$p" >> "$tmp/t.clox" || ok=0
    run "$lox" mgc "$p" >> "$tmp/t.mgc" || ok=0
  done
  if [ $ok = 1 ] && ! cmp -s "$tmp/out.clox" "$tmp/out.mgc"; then
    echo "lox_clox.sh: $n: the two VMs printed different output" >&2; ok=0
  fi
  if [ $ok = 0 ]; then echo "| $n | error | error | |" >> "$tmp/table"; failed=1; continue; fi
  tc=$(median < "$tmp/t.clox"); tm=$(median < "$tmp/t.mgc")
  ratio=$(awk -v a="$tm" -v b="$tc" 'BEGIN { printf "%.2f", a / b }')
  cp=$("$cloxp" "$p" 2>&1 > /dev/null | sed -n 's/^\[clox\] \([0-9]*\) collections: total \([0-9.]*\) ms, max \([0-9.]*\) us/\1, \2 ms \/ \3 us/p')
  "$lox" --gc-summary "$p" 2> "$tmp/summary" > /dev/null
  mp=$(sed -n 's/^\[mgc\] \([0-9]*\) collections, \([0-9]*\) pauses: total \([0-9.]*\) ms, max \([0-9.]*\) us.*/\1, \2, \3 ms \/ \4 us/p' "$tmp/summary")
  hp=$(sed -n 's/^\[mgc\] \([0-9]*\) per-thread holds ([^)]*): total \([0-9.]*\) ms, max \([0-9.]*\) us.*/\1, \2 ms \/ \3 us/p' "$tmp/summary")
  irc=""
  if [ "$CALLGRIND" = 1 ]; then
    a=$(callgrind_ir "$lox" "$p"); b=$(callgrind_ir "$clox" "$p")
    irc=" $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f (%.2fG / %.2fG)", a / b, a / 1e9, b / 1e9 }') |"
  fi
  echo "| $n | $tc | $tm | $ratio |$irc $cp | $mp | ${hp:-0} |" >> "$tmp/table"
  echo "lox_clox.sh: $n done" >&2
done
{
  echo "Lox VM on mgc vs clox: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), REPEAT=$REPEAT (median wall time)."
  echo
  cat "$tmp/table"
} | tee "$RESULTS/lox-clox.md"
exit $failed
