#!/usr/bin/env bash
# run_alloc.sh -- run the allocation benchmark in every mode and summarise.
#
#   bench/run_alloc.sh [path/to/alloc_bench]
#
# Environment:
#   ITERS    allocations per run (default 20000000; k/M suffixes accepted)
#   REPEAT   runs per (mode, size); the tables show the median (default 3)
#   SIZES    object sizes (default "8 16 32 48 64 128 256")
#   RESULTS  raw CSV output (default bench/results/alloc.csv)
#   JEMALLOC_SO, MIMALLOC_SO, TCMALLOC_SO   override the preloaded libraries
#
# Modes: mgc, mgc-noscan, boehm, boehm-atomic, and malloc+free pairs under
# glibc, jemalloc, mimalloc and tcmalloc (selected with LD_PRELOAD).  A
# malloc whose library is not installed is reported as skipped.  The
# program names the malloc it actually ran with; a preload that did not
# take effect is reported as an error, never counted as that malloc.
#
# Runs are interleaved (repeat, then size, then mode) so that drift in the
# machine's speed spreads over all modes.  The script reports; it does not
# judge the numbers.  It exits non-zero only if a run failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${1:-${BUILD:-$root/build}/bench/alloc_bench}
ITERS=${ITERS:-20000000}
REPEAT=${REPEAT:-3}
SIZES=${SIZES:-"8 16 32 48 64 128 256"}
RESULTS=${RESULTS:-$root/bench/results/alloc.csv}

if [ ! -x "$bin" ]; then
  echo "run_alloc.sh: $bin not found; build it with: make $root/build/bench/alloc_bench" >&2
  exit 2
fi
case "$REPEAT" in '' | *[!0-9]* | 0) echo "run_alloc.sh: REPEAT must be a positive integer" >&2; exit 2 ;; esac

# ** Find a malloc library: an explicit override, else the dynamic linker's
# cache, else the Debian package's file list.  Prints nothing if absent.
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
mallocs=(glibc jemalloc mimalloc tcmalloc)
gcmodes=(mgc mgc-noscan boehm boehm-atomic)
declare -A skipped
for m in jemalloc mimalloc tcmalloc; do
  if [ -z "${preload[$m]}" ] || [ ! -e "${preload[$m]}" ]; then
    skipped[$m]=1
    echo "run_alloc.sh: $m: library not found, skipped" >&2
  fi
done

mkdir -p "$(dirname "$RESULTS")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=$tmp/raw.csv
{ "$bin" --header | sed 's/$/,rep/'; } > "$raw"
failed=0

# ** One run; appends its CSV line (plus the repeat number) to $raw.
run_one() { # label size rep
  local label=$1 size=$2 rep=$3 mode=$1 line rc env=()
  if [ "$label" != "${label#mgc}" ] || [ "$label" != "${label#boehm}" ]; then
    mode=$label
  else
    mode=malloc
    [ -n "${preload[$label]}" ] && env=("LD_PRELOAD=${preload[$label]}")
  fi
  line=$(env "${env[@]}" "$bin" "$mode" "$size" "$ITERS" 2> "$tmp/err")
  rc=$?
  if [ $rc -ne 0 ] || [ -z "$line" ]; then
    echo "run_alloc.sh: $label size $size: exit $rc: $(head -c 500 "$tmp/err")" >&2
    echo "$label,$size,$ITERS,error,,,,,,,$rep" >> "$raw"
    failed=1
    return
  fi
  if [ -s "$tmp/err" ]; then echo "run_alloc.sh: $label size $size: $(head -c 500 "$tmp/err")" >&2; fi
  if [ "${line%%,*}" != "$label" ]; then
    echo "run_alloc.sh: $label size $size: the program ran with ${line%%,*}; preload of ${preload[$label]} did not take effect" >&2
    echo "$label,$size,$ITERS,error,,,,,,,$rep" >> "$raw"
    failed=1
    return
  fi
  echo "$line,$rep" >> "$raw"
}

labels=("${gcmodes[@]}")
for m in "${mallocs[@]}"; do [ -z "${skipped[$m]:-}" ] && labels+=("$m"); done

echo "alloc_bench: ITERS=$ITERS REPEAT=$REPEAT sizes: $SIZES ($(nproc) CPUs, $(uname -r))" >&2
for ((rep = 1; rep <= REPEAT; rep++)); do
  for size in $SIZES; do
    for label in "${labels[@]}"; do
      run_one "$label" "$size" "$rep"
    done
  done
  echo "run_alloc.sh: repeat $rep/$REPEAT done" >&2
done
cp "$raw" "$RESULTS"

# ** Tables: medians over the repeats, per (mode, size) and column.
skipped_list=""
for m in "${!skipped[@]}"; do skipped_list+="$m "; done
awk -F, -v sizes="$SIZES" -v skipped="$skipped_list" -v iters="$ITERS" -v repeat="$REPEAT" '
function median(key,   n, i, j, t, a) {
  n = cnt[key]
  if (n == 0) return ""
  for (i = 1; i <= n; i++) a[i] = val[key, i]
  for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function cell(mode, size, col,   k) {
  if (mode in skip) return "skipped"
  if (err[mode, size]) return "error"
  k = mode SUBSEP size SUBSEP col
  return (k in cnt) ? median(k) : "-"
}
function fmt(v, f) { return (v == "" || v == "-" || v == "skipped" || v == "error") ? (v == "" ? "-" : v) : sprintf(f, v) }
function ratio(a, b) { return (a + 0 > 0 && b + 0 > 0 && a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) ? sprintf("%.2f", a / b) : "-" }
function pct(a, b) { return (a ~ /^[0-9.]+$/ && b + 0 > 0) ? sprintf("%.2f%%", 100 * a / b) : "-" }
BEGIN {
  nm = split("mgc mgc-noscan boehm boehm-atomic glibc jemalloc mimalloc tcmalloc", modes, " ")
  ns = split(sizes, sz, " ")
  split(skipped, sk, " "); for (i in sk) skip[sk[i]] = 1
  # column numbers in the CSV
  NS = 4; CPU = 5; NGC = 6; RSS = 7; HSYS = 8; HUSE = 9; META = 10
}
NR == 1 { next }
{
  if ($4 == "error") { err[$1, $2] = 1; next }
  for (c = 4; c <= 10; c++) {
    if ($c == "") continue
    k = $1 SUBSEP $2 SUBSEP c
    val[k, ++cnt[k]] = $c + 0
  }
}
END {
  printf "## Allocation cost (ns per allocation, median of %d runs, %s allocations each)\n\n", repeat, iters
  printf "GC modes include their collections; malloc modes are malloc+free pairs.\n\n"
  printf "| size |"; for (i = 1; i <= nm; i++) printf " %s |", modes[i]; printf " mgc/boehm | mgc/mimalloc |\n"
  printf "|---:|"; for (i = 1; i <= nm + 2; i++) printf "---:|"; printf "\n"
  for (s = 1; s <= ns; s++) {
    printf "| %s |", sz[s]
    for (i = 1; i <= nm; i++) printf " %s |", fmt(cell(modes[i], sz[s], NS), "%.1f")
    printf " %s | %s |\n", ratio(cell("mgc", sz[s], NS), cell("boehm", sz[s], NS)), ratio(cell("mgc", sz[s], NS), cell("mimalloc", sz[s], NS))
  }

  printf "\n## CPU time, collections, peak RSS (medians)\n\n"
  printf "| size | mode | cpu ns/alloc | collections | peak RSS KB |\n|---:|---|---:|---:|---:|\n"
  for (s = 1; s <= ns; s++)
    for (i = 1; i <= nm; i++) {
      if (modes[i] in skip) continue
      printf "| %s | %s | %s | %s | %s |\n", sz[s], modes[i], fmt(cell(modes[i], sz[s], CPU), "%.1f"),
        fmt(cell(modes[i], sz[s], NGC), "%d"), fmt(cell(modes[i], sz[s], RSS), "%d")
    }

  printf "\n## metadata\n\n"
  printf "mgc allocator metadata (meta_sys) against heap memory, after the timed loop.\n\n"
  printf "| size | mode | heap_sys | heap_inuse | meta_sys | meta_sys / heap_sys | meta_sys / heap_inuse |\n"
  printf "|---:|---|---:|---:|---:|---:|---:|\n"
  for (s = 1; s <= ns; s++)
    for (i = 1; i <= 2; i++) {
      m = modes[i]
      hs = cell(m, sz[s], HSYS); hu = cell(m, sz[s], HUSE); me = cell(m, sz[s], META)
      printf "| %s | %s | %s | %s | %s | %s | %s |\n", sz[s], m, fmt(hs, "%d"), fmt(hu, "%d"), fmt(me, "%d"), pct(me, hs), pct(me, hu)
    }
}' "$raw"
echo
echo "raw CSV: $RESULTS"
exit $failed
