# report.awk -- the Markdown report of bench/run.sh from its raw CSV.
#
#   awk -F, -f bench/report.awk bench/results/all.csv
#
# Input: the CSV of bench_util.h plus a repeat column (rep).  For every
# (bench, case, system) it takes the median of each column over the
# repeats and the spread of the headline metric ((max - min) / median).
# Output: a summary table of mgc against each baseline, as ratios oriented
# so that above 1 means mgc is ahead (baseline / mgc for times, mgc /
# baseline for rates), then one detailed table per benchmark.  A skipped
# baseline shows as "skipped", a failed run as "error"; a baseline that a
# benchmark does not run shows as "-".

function median(key, col,    n, i, j, t, a) {
  n = cnt[key, col]
  if (n == 0) return ""
  for (i = 1; i <= n; i++) a[i] = val[key, col, i]
  for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function spread(key, col,    n, i, lo, hi, m) {
  n = cnt[key, col]
  if (n < 2) return ""
  lo = hi = val[key, col, 1]
  for (i = 2; i <= n; i++) { if (val[key, col, i] < lo) lo = val[key, col, i]; if (val[key, col, i] > hi) hi = val[key, col, i] }
  m = median(key, col)
  return m > 0 ? sprintf("%.0f%%", 100 * (hi - lo) / m) : ""
}
function num(v, f) { return v == "" ? "-" : sprintf(f, v) }
function metricfmt(v) { return v == "" ? "-" : v >= 100 ? sprintf("%.0f", v) : v >= 10 ? sprintf("%.1f", v) : sprintf("%.3g", v) }
# The headline of (bench, case, system): its median, or skipped/error.
function headline(b, c, s,    k) {
  k = b SUBSEP c SUBSEP s
  if (k in skipped) return "skipped"
  if (cnt[k, 4] > 0) return median(k, 4)
  if (k in errors) return "error"
  return "-"
}
function isnum(v) { return v ~ /^[0-9.eE+-]+$/ && v != "" }
function ratio(b, c, mg, base,    x, y) {
  x = headline(b, c, mg); y = headline(b, c, base)
  if (!isnum(y)) return y
  if (!isnum(x) || x + 0 <= 0 || y + 0 <= 0) return "-"
  return sprintf("%.2f", unitof[b] ~ /\/s/ ? x / y : y / x)
}

NR == 1 { next }
{
  b = $1; c = $2; s = $3
  if (b == "error") { k = "error" SUBSEP $2 SUBSEP s; errors[k] = 1; nerr++; errlist[nerr] = $2 " (" s "): " $18; next }
  if (!((b, c) in seen_bc)) { seen_bc[b, c] = 1; ncase[b]++; cases[b, ncase[b]] = c; if (!(b in seen_b)) { seen_b[b] = 1; benches[++nb] = b } }
  k = b SUBSEP c SUBSEP s
  if (!((b, s) in seen_bs)) { seen_bs[b, s] = 1; nsys[b]++; systems[b, nsys[b]] = s }
  if ($4 == "skipped") { skipped[k] = $5; next }
  if ($4 == "error") { errors[k] = 1; next }
  unitof[b] = $5
  if ($18 != "") check[k] = $18
  for (col = 4; col <= 17; col++) if ($col != "") val[k, col, ++cnt[k, col]] = $col + 0
}
END {
  split("glibc jemalloc mimalloc tcmalloc", mallocs, " ")
  title["alloc"] = "Allocation microbenchmark (ns per allocation per thread; collections included; malloc = malloc+free pairs)"
  title["gcbench"] = "GCBench (Ellis/Kovac/Boehm), s; Nt = N threads each running the whole program on one heap"
  title["binarytrees"] = "binary-trees, s; /par = one thread per depth"
  title["pause"] = "Pause benchmark: large live heap, 4 GB (quick: 0.25 GB) of garbage, s"
  title["markrate"] = "Mark rate, MB/s per mark worker (ordered and shuffled heap)"
  title["lox"] = "Lox VM programs, s"

  print "## Summary: mgc against each baseline"
  print ""
  print "Medians over the repeats.  Each ratio is oriented so that **above 1 means mgc is ahead**:"
  print "baseline time / mgc time, or mgc rate / baseline rate (mark rate).  The mgc-noscan row"
  print "compares with Boehm's GC_MALLOC_ATOMIC and Go's pointer-free []byte."
  print ""
  print "| benchmark | case | mgc | mgc value | vs Boehm | vs glibc | vs jemalloc | vs mimalloc | vs tcmalloc | vs Go |"
  print "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
  for (i = 1; i <= nb; i++) {
    b = benches[i]
    for (j = 1; j <= ncase[b]; j++) {
      c = cases[b, j]
      for (v = 1; v <= 4; v++) {
        mg = v == 1 ? "mgc" : v == 2 ? "mgc-noscan" : v == 3 ? "mgc-stw" : "mgc-objects"
        if (!((b, mg) in seen_bs)) continue
        h = headline(b, c, mg)
        if (h == "-") continue
        bo = mg == "mgc-noscan" ? "boehm-atomic" : "boehm"
        go = mg == "mgc-noscan" ? "go-noscan" : "go"
        row = sprintf("| %s | %s | %s | %s | %s |", b, c, mg, isnum(h) ? metricfmt(h) " " unitof[b] : h, ratio(b, c, mg, bo))
        for (m = 1; m <= 4; m++) row = row " " ratio(b, c, mg, mallocs[m]) " |"
        row = row " " ratio(b, c, mg, go) " |"
        print row
      }
    }
  }

  for (i = 1; i <= nb; i++) {
    b = benches[i]
    print ""
    print "## " (b in title ? title[b] : b)
    print ""
    print "| case | system | " unitof[b] " (spread) | wall s | CPU s | peak RSS MB | GCs | pauses | p50 us | p99 us | max us | MMU 1 ms | MMU 10 ms | MMU 100 ms | MMU 10 ms all | check |"
    print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for (j = 1; j <= ncase[b]; j++) {
      c = cases[b, j]
      for (m = 1; m <= nsys[b]; m++) {
        s = systems[b, m]
        k = b SUBSEP c SUBSEP s
        if (k in skipped) { printf "| %s | %s | skipped (%s) |||||||||||||\n", c, s, skipped[k]; continue }
        if (cnt[k, 4] == 0) { if (k in errors) printf "| %s | %s | error |||||||||||||\n", c, s; continue }
        sp = spread(k, 4)
        printf "| %s | %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c, s,
          metricfmt(median(k, 4)), sp == "" ? "" : " (" sp ")", num(median(k, 6), "%.3f"), num(median(k, 7), "%.3f"),
          num(median(k, 8) == "" ? "" : median(k, 8) / 1024, "%.0f"), num(median(k, 9), "%d"), num(median(k, 10), "%d"),
          num(median(k, 11), "%.1f"), num(median(k, 12), "%.1f"), num(median(k, 13), "%.1f"),
          num(median(k, 14), "%.3f"), num(median(k, 15), "%.3f"), num(median(k, 16), "%.3f"), num(median(k, 17), "%.3f"),
          (k in check) ? check[k] : ""
      }
    }
  }
  if (nerr) {
    print ""
    print "Failed runs:"
    for (i = 1; i <= nerr; i++) print "- " errlist[i]
  }
}
