#!/usr/bin/env bash
# run.sh -- the side-by-side benchmark suite: runs every benchmark program
# against every baseline several times, keeps the raw CSV, and writes a
# Markdown report with medians, spreads and ratios, plus SVG plots.
#
#   bench/run.sh            the full suite (make bench)
#   QUICK=1 bench/run.sh    small sizes, under two minutes (make bench-quick)
#
# Environment:
#   QUICK=1      small sizes everywhere
#   REPEAT=N     runs of each (benchmark, case, system); default 3
#   BT_REPEAT=N  runs of the two binary-trees groups (default: REPEAT in the
#                quick suite, at most 2 in the full one, where one run of
#                every system takes 3-4 minutes here)
#   ONLY="..."   groups to run (default all): alloc gcbench gcbench-mt
#                binarytrees binarytrees-par pause markrate lox
#   BUILD        build directory (default build); binaries in $BUILD/bench
#   RESULTS      output directory (default bench/results): all.csv (raw,
#                one line per run), report.md, *.svg, intervals/ (pauses)
#   JEMALLOC_SO, MIMALLOC_SO, TCMALLOC_SO   override the preloaded mallocs
#   REPORT_ONLY=1  run nothing: rebuild report.md and the plots from the
#                results already in RESULTS (give the same QUICK)
#
# Systems: mgc; Boehm GC (GC_MALLOC, GC_MALLOC_ATOMIC for noscan); malloc +
# free under glibc, jemalloc, mimalloc and tcmalloc (LD_PRELOAD; the
# program names the malloc it detected, and a preload that did not take is
# an error, never counted); Go (bench/go, built by make with Debian's
# golang-go; pauses from GODEBUG=gctrace=1).  A baseline that is not
# installed is recorded as "skipped".  Runs are interleaved (repeat, then
# group, case and system) so drift in the machine's speed spreads over all.
# The script reports and never judges timings; it exits non-zero only if a
# run failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) bin=$BUILD/bench ;; *) bin=$root/$BUILD/bench ;; esac
QUICK=${QUICK:-0}
REPEAT=${REPEAT:-3}
ONLY=${ONLY:-"alloc gcbench gcbench-mt binarytrees binarytrees-par pause markrate lox"}
RESULTS=${RESULTS:-$root/bench/results}
REPORT_ONLY=${REPORT_ONLY:-0}
case "$REPEAT" in '' | *[!0-9]* | 0) echo "run.sh: REPEAT must be a positive integer" >&2; exit 2 ;; esac

if [ "$QUICK" = 1 ]; then
  ALLOC_SIZES="16 256"; ALLOC_ITERS=500000; BT_DEPTH=14
  PAUSE_CASES="100:0.25"; MARK_MB=16; MT_THREADS=2; GCB_SHRINK=2
else
  ALLOC_SIZES="8 16 32 64 128 256"; ALLOC_ITERS=3000000; BT_DEPTH=21
  PAUSE_CASES="100:4 1000:4"; MARK_MB=256; MT_THREADS=2; GCB_SHRINK=0
fi
if [ "$QUICK" = 1 ]; then BT_REPEAT=${BT_REPEAT:-$REPEAT}; else BT_REPEAT=${BT_REPEAT:-$(( REPEAT < 2 ? REPEAT : 2 ))}; fi

# ** Baselines: which mallocs can be preloaded, whether Go was built.
find_lib() { # soname package
  local soname=$1 pkg=$2 p
  p=$(/sbin/ldconfig -p 2>/dev/null | awk -v s="$soname" '$1 == s { print $NF; exit }')
  if [ -z "$p" ] && command -v dpkg-query >/dev/null; then
    p=$(dpkg-query -L "$pkg" 2>/dev/null | grep -E "/$soname\$" | head -n 1)
  fi
  [ -n "$p" ] && [ -e "$p" ] && echo "$p"
}
declare -A preload
preload[glibc]=""
preload[jemalloc]=${JEMALLOC_SO:-$(find_lib libjemalloc.so.2 libjemalloc2)}
preload[mimalloc]=${MIMALLOC_SO:-$(find_lib libmimalloc.so.2 libmimalloc2.0)}
preload[tcmalloc]=${TCMALLOC_SO:-$(find_lib libtcmalloc_minimal.so.4 libtcmalloc-minimal4)}
mallocs=(glibc)
declare -A skip=()
for m in jemalloc mimalloc tcmalloc; do
  if [ -n "${preload[$m]}" ] && [ -e "${preload[$m]}" ]; then mallocs+=("$m")
  else skip[$m]="library not found"; fi
done
[ -x "$bin/go-alloc" ] && [ -x "$bin/go-binarytrees" ] && [ -x "$bin/go-pause" ] || skip[go]="no go toolchain (golang-go) to build bench/go"
for p in alloc_bench gcbench binarytrees pause_bench markrate gcstat; do
  if [ ! -x "$bin/$p" ]; then
    echo "run.sh: $bin/$p not found; run it through make bench or make bench-quick" >&2
    exit 2
  fi
done

mkdir -p "$RESULTS/intervals"
csv=$RESULTS/all.csv
if [ "$REPORT_ONLY" != 1 ]; then
  rm -f "$RESULTS"/intervals/*.txt "$RESULTS"/*.svg
  echo "bench,case,system,metric,unit,wall_s,cpu_s,peak_rss_kb,num_gc,pauses,p50_us,p99_us,max_us,mmu_1ms,mmu_10ms,mmu_100ms,mmu_10ms_all,check,rep" > "$csv"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
in_only() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

# ** A skipped baseline: one line per (bench, case), in the first repeat.
skip_line() { # bench case system why
  echo "$1,$2,$3,skipped,$4,,,,,,,,,,,,,,1" >> "$csv"
}

# ** One run of a C benchmark.  label: the system as the CSV line will name
# it (a malloc's name selects its preload).  Appends the line and the repeat.
run_c() { # rep label intervals-name program args...
  local rep=$1 label=$2 iname=$3; shift 3
  local env=(BENCH_INTERVALS="$RESULTS/intervals/$iname-$label-r$rep.txt")
  [ -n "${preload[$label]+x}" ] && [ -n "${preload[$label]}" ] && env+=("LD_PRELOAD=${preload[$label]}")
  local line rc
  line=$(env "${env[@]}" "$@" 2> "$tmp/err")
  rc=$?
  [ -s "$tmp/err" ] && echo "run.sh: $label $*: $(head -c 400 "$tmp/err")" >&2
  if [ $rc -ne 0 ] || [ -z "$line" ]; then
    echo "run.sh: $label $*: exit $rc" >&2
    echo "error,$*,$label,error,,,,,,,,,,,,,,exit $rc,$rep" >> "$csv"
    failed=1; return
  fi
  local sys
  sys=$(echo "$line" | cut -d, -f3)
  if [ "$sys" != "$label" ]; then
    echo "run.sh: asked for $label, the program ran with $sys: preload did not take effect" >&2
    echo "error,$*,$label,error,,,,,,,,,,,,,,ran with $sys,$rep" >> "$csv"
    failed=1; return
  fi
  echo "$line,$rep" >> "$csv"
}

# ** One run of a Go benchmark: its pause columns come from gctrace.
run_go() { # rep intervals-name program args...
  local rep=$1 iname=$2; shift 2
  local line rc wall ivf
  line=$(GODEBUG=gctrace=1 "$@" 2> "$tmp/gotrace")
  rc=$?
  if [ $rc -ne 0 ] || [ -z "$line" ]; then
    echo "run.sh: go $*: exit $rc: $(grep -v '^gc ' "$tmp/gotrace" | head -c 400)" >&2
    echo "error,$*,go,error,,,,,,,,,,,,,,exit $rc,$rep" >> "$csv"
    failed=1; return
  fi
  wall=$(echo "$line" | cut -d, -f6)
  ivf="$RESULTS/intervals/$iname-$(echo "$line" | cut -d, -f3)-r$rep.txt"
  "$bin/gcstat" gotrace "$wall" < "$tmp/gotrace" > "$ivf"
  echo "${line/@PAUSES@/$("$bin/gcstat" summary "$ivf")},$rep" >> "$csv"
}

iname() { echo "$1-$2" | tr '/' '_'; }

# ** The groups.
g_alloc() { # rep
  local rep=$1 s t m
  for t in 1 2; do for s in $ALLOC_SIZES; do
    local c="${s}B/${t}t" n; n=$(iname alloc "$c")
    for m in mgc mgc-noscan boehm boehm-atomic; do run_c "$rep" "$m" "$n" "$bin/alloc_bench" "$m" "$s" "$ALLOC_ITERS" "$t"; done
    for m in "${mallocs[@]}"; do run_c "$rep" "$m" "$n" "$bin/alloc_bench" malloc "$s" "$ALLOC_ITERS" "$t"; done
    if [ -z "${skip[go]:-}" ]; then
      run_go "$rep" "$n" "$bin/go-alloc" scan "$s" "$ALLOC_ITERS" "$t"
      run_go "$rep" "$n" "$bin/go-alloc" noscan "$s" "$ALLOC_ITERS" "$t"
    elif [ "$rep" = 1 ]; then skip_line alloc "$c" go "${skip[go]}"; skip_line alloc "$c" go-noscan "${skip[go]}"
    fi
    if [ "$rep" = 1 ]; then for m in jemalloc mimalloc tcmalloc; do [ -n "${skip[$m]:-}" ] && skip_line alloc "$c" "$m" "${skip[$m]}"; done; fi
  done; done
}

# The case name gcbench prints: Nt, or Nt-sK when shrunk by K levels.
gcb_case() { if [ "$GCB_SHRINK" = 0 ]; then echo "${1}t"; else echo "${1}t-s$GCB_SHRINK"; fi; }
g_gcbench() { # rep threads
  local rep=$1 t=$2 m c n
  c=$(gcb_case "$t"); n=$(iname gcbench "$c")
  for m in mgc boehm; do run_c "$rep" "$m" "$n" "$bin/gcbench" "$m" "$t" "$GCB_SHRINK"; done
  for m in "${mallocs[@]}"; do run_c "$rep" "$m" "$n" "$bin/gcbench" malloc "$t" "$GCB_SHRINK"; done
  if [ "$rep" = 1 ]; then for m in jemalloc mimalloc tcmalloc; do [ -n "${skip[$m]:-}" ] && skip_line gcbench "$c" "$m" "${skip[$m]}"; done; fi
}

g_binarytrees() { # rep [par]
  local rep=$1 par=${2:-} m c="d$BT_DEPTH${2:+/par}" n; n=$(iname binarytrees "$c")
  for m in mgc boehm; do run_c "$rep" "$m" "$n" "$bin/binarytrees" "$m" "$BT_DEPTH" $par; done
  for m in "${mallocs[@]}"; do run_c "$rep" "$m" "$n" "$bin/binarytrees" malloc "$BT_DEPTH" $par; done
  if [ -z "${skip[go]:-}" ]; then run_go "$rep" "$n" "$bin/go-binarytrees" "$BT_DEPTH" $par
  elif [ "$rep" = 1 ]; then skip_line binarytrees "$c" go "${skip[go]}"; fi
  if [ "$rep" = 1 ]; then for m in jemalloc mimalloc tcmalloc; do [ -n "${skip[$m]:-}" ] && skip_line binarytrees "$c" "$m" "${skip[$m]}"; done; fi
}

g_pause() { # rep
  local rep=$1 pc mb gb m
  for pc in $PAUSE_CASES; do
    mb=${pc%%:*}; gb=${pc##*:}
    for m in mgc boehm; do run_c "$rep" "$m" "$(iname pause "${mb}MB")" "$bin/pause_bench" "$m" "$mb" "$gb"; done
    if [ -z "${skip[go]:-}" ]; then run_go "$rep" "$(iname pause "${mb}MB")" "$bin/go-pause" "$mb" "$gb"
    elif [ "$rep" = 1 ]; then skip_line pause "${mb}MB" go "${skip[go]}"; fi
  done
}

g_markrate() { # rep
  local rep=$1 o w
  for o in seq shuffled; do
    for w in 1 2; do
      run_c "$rep" mgc "$(iname markrate "$o-${w}w")" "$bin/markrate" mgc "$MARK_MB" "$o" "$w"
      run_c "$rep" mgc-objects "$(iname markrate "$o-${w}w")" "$bin/markrate" mgc-objects "$MARK_MB" "$o" "$w"
      run_c "$rep" boehm "$(iname markrate "$o-${w}w")" "$bin/markrate" boehm "$MARK_MB" "$o" "$w"
    done
    run_c "$rep" mgc-stw "$(iname markrate "$o-1w")" "$bin/markrate" mgc-stw "$MARK_MB" "$o" 1
  done
}

# ** The Lox VM on mgc (build/lox) and on Boehm (build/lox-boehm), if the
# VM exists: its programs are examples/lox/bench/*.lox (else
# examples/lox/programs/*.lox, else examples/lox/*.lox).  A program that
# fails is reported as an error but does not fail the suite (the VM is
# another piece of work in progress).  Wall time from the shell's clock (the
# process with its start-up), CPU (10 ms resolution) and peak RSS from
# /usr/bin/time; mgc's
# pauses from its gctrace (MGC_TRACE=1, the same format as Go's); Boehm's
# pauses are not visible from outside and are left empty.
lox_ready=
lox_prep() {
  if ! make -C "$root" -n lox lox-boehm > /dev/null 2>&1; then
    skip[lox]="the Lox VM (make lox lox-boehm) does not exist yet"; return
  fi
  if ! make -C "$root" --no-print-directory BUILD="$BUILD" lox lox-boehm > "$tmp/loxbuild" 2>&1; then
    skip[lox]="make lox lox-boehm failed"; echo "run.sh: $(tail -5 "$tmp/loxbuild")" >&2; return
  fi
  shopt -s nullglob
  local d
  lox_progs=()
  for d in bench programs .; do
    [ ${#lox_progs[@]} -eq 0 ] && lox_progs=("$root"/examples/lox/$d/*.lox)
  done
  shopt -u nullglob
  [ ${#lox_progs[@]} -eq 0 ] && { skip[lox]="no .lox programs in examples/lox"; return; }
  [ -x /usr/bin/time ] || { skip[lox]="/usr/bin/time (Debian package time) not installed"; return; }
  lox_ready=1
}
g_lox() { # rep
  local rep=$1 p m exe c out rc
  if [ -z "$lox_ready" ]; then
    [ "$rep" = 1 ] && skip_line lox all mgc "${skip[lox]}" && skip_line lox all boehm "${skip[lox]}"
    return
  fi
  for p in "${lox_progs[@]}"; do
    c=$(basename "$p" .lox)
    for m in mgc boehm; do
      exe="$root/$BUILD/lox"; [ "$m" = boehm ] && exe="$root/$BUILD/lox-boehm"
      local n0 n1
      n0=$(date +%s%N)
      # A program's "// lox-flags: ..." line (e.g. --gc-natives), as the test runner reads it.
      local flags
      flags=$(sed -n 's#^// lox-flags: *##p' "$p" | head -1)
      # shellcheck disable=SC2086
      MGC_TRACE=1 /usr/bin/time -f 'TIME %e %U %S %M' -o "$tmp/time" "$exe" $flags "$p" > /dev/null 2> "$tmp/trace"
      rc=$?
      n1=$(date +%s%N)
      if [ $rc -ne 0 ]; then
        echo "run.sh: lox $m $c: exit $rc: $(grep -v '^gc ' "$tmp/trace" | head -c 300)" >&2
        echo "lox,$c,$m,error,,,,,,,,,,,,,,exit $rc,$rep" >> "$csv"; continue
      fi
      read -r _ _ u s kb < <(grep "^TIME" "$tmp/time")
      e=$(awk -v a="$n0" -v b="$n1" "BEGIN { printf \"%.4f\", (b - a) / 1e9 }")
      local ivf="$RESULTS/intervals/$(iname lox "$c")-$m-r$rep.txt" pz=",,,,,," ngc=""
      if [ "$m" = mgc ]; then
        "$bin/gcstat" gotrace "$e" < "$tmp/trace" > "$ivf"
        pz=$("$bin/gcstat" summary "$ivf"); ngc=$(grep -c '^gc ' "$tmp/trace")
      fi
      echo "lox,$c,$m,$e,s,$e,$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }'),$kb,$ngc,$pz,,,$rep" >> "$csv"
    done
  done
}

# ** Run everything, repeat by repeat.
# What was measured: the commit, and whether the library sources had
# uncommitted changes (BENCH_COMMIT names it where there is no git, e.g. in
# a snapshot made with git archive).
if [ -n "${BENCH_COMMIT:-}" ]; then
  lib_version=$BENCH_COMMIT
elif lib_version=$(git -C "$root" rev-parse --short HEAD 2>/dev/null); then
  git -C "$root" diff --quiet HEAD -- gc runtime include 2>/dev/null || lib_version+=" with uncommitted changes in gc/, runtime/ or include/"
  lib_version="commit $lib_version"
else
  lib_version="unknown version"
fi
t_start=$(date +%s)
echo "run.sh: $( [ "$QUICK" = 1 ] && echo quick || echo full ) suite, REPEAT=$REPEAT (binary-trees $BT_REPEAT), groups: $ONLY ($(nproc) CPUs, $(uname -r))" >&2
for k in "${!skip[@]}"; do echo "run.sh: $k skipped: ${skip[$k]}" >&2; done
[ "$REPORT_ONLY" != 1 ] && in_only lox && lox_prep
declare -A GROUP_T
timed() { # group command...
  local g=$1 t0; shift
  in_only "$g" || return 0
  t0=$(date +%s%N)
  "$@"
  GROUP_T[$g]=$(( ${GROUP_T[$g]:-0} + ($(date +%s%N) - t0) / 1000000 ))
}
for ((rep = 1; rep <= REPEAT; rep++)); do
  [ "$REPORT_ONLY" = 1 ] && break
  timed alloc g_alloc "$rep"
  timed gcbench g_gcbench "$rep" 1
  timed gcbench-mt g_gcbench "$rep" "$MT_THREADS"
  if [ "$rep" -le "$BT_REPEAT" ]; then
    timed binarytrees g_binarytrees "$rep"
    timed binarytrees-par g_binarytrees "$rep" par
  fi
  timed pause g_pause "$rep"
  timed markrate g_markrate "$rep"
  timed lox g_lox "$rep"
  echo "run.sh: repeat $rep/$REPEAT done ($(( $(date +%s) - t_start )) s)" >&2
done
elapsed=$(( $(date +%s) - t_start ))
group_times=""
for g in $ONLY; do [ -n "${GROUP_T[$g]:-}" ] && group_times+="$g $(( GROUP_T[$g] / 1000 )) s, "; done
if [ "$REPORT_ONLY" = 1 ]; then elapsed_text="report rebuilt from earlier results (REPORT_ONLY=1)${BENCH_ELAPSED:+; the suite took $BENCH_ELAPSED}"
else elapsed_text="the suite took $elapsed s (${group_times%, })"; fi

# ** Plots: pause distributions and MMU curves from the first repeat.
plot() { # out title bench-case-name systems...
  local out=$1 title=$2 n=$3 args=() s; shift 3
  for s in "$@"; do args+=("$s=$RESULTS/intervals/$n-$s-r1.txt"); done
  "$bin/gcstat" svg "$RESULTS/$out" "$title" "${args[@]}"
}
if in_only binarytrees; then
  plot binarytrees.svg "binary-trees depth $BT_DEPTH, single-threaded" "$(iname binarytrees "d$BT_DEPTH")" mgc boehm go
fi
if in_only binarytrees-par; then
  plot binarytrees-par.svg "binary-trees depth $BT_DEPTH, one thread per depth" "$(iname binarytrees "d$BT_DEPTH/par")" mgc boehm go
fi
if in_only pause; then
  for pc in $PAUSE_CASES; do
    plot "pause-${pc%%:*}MB.svg" "pause benchmark, ${pc%%:*} MB live" "$(iname pause "${pc%%:*}MB")" mgc boehm go
  done
fi
if in_only gcbench-mt; then
  plot gcbench-mt.svg "GCBench, $MT_THREADS threads on one heap" "$(iname gcbench "$(gcb_case "$MT_THREADS")")" mgc boehm
fi

# ** The report.
{
  echo "# mgc benchmarks: $( [ "$QUICK" = 1 ] && echo "quick suite (make bench-quick)" || echo "full suite (make bench)" )"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r); REPEAT=$REPEAT (binary-trees: $BT_REPEAT); $elapsed_text."
  echo "Library: $lib_version."
  echo "Load average $( [ "$REPORT_ONLY" = 1 ] && echo "when the report was rebuilt" || echo "at the end"): $(cut -d" " -f1-3 /proc/loadavg)."
  echo
  awk -F, -f "$here/report.awk" "$csv"
  if [ ${#skip[@]} -gt 0 ]; then
    echo
    echo "Skipped:"
    for k in "${!skip[@]}"; do echo "- $k: ${skip[$k]}"; done
  fi
} > "$RESULTS/report.md"
cat "$RESULTS/report.md"
echo
echo "raw CSV: $csv; report: $RESULTS/report.md; plots: $(ls "$RESULTS"/*.svg 2>/dev/null | tr '\n' ' ')"
exit $failed
