// alloc -- the Go twin of bench/alloc_bench.c: small-object allocation cost
// with a small live heap, on Go's allocator and collector.
//
//	alloc scan|noscan SIZE ITERS [THREADS]
//
// Each of THREADS goroutines (GOMAXPROCS is the CPU count) allocates ITERS
// objects of SIZE bytes -- scan: a []*byte of SIZE/8 pointers, which the
// collector scans; noscan: a []byte, which it does not -- writes one word
// into each and keeps its 1024 most recent ones live in a ring.  A warm-up
// of ITERS/10 (at most 2M, at least 4096) is not timed.
//
// Prints "bench-window T0 T1" on stderr (the measured part, in seconds since
// main began, for bench/gcstat) and the CSV line of bench/bench_util.h (case "SIZEB/Tt", metric ns per
// allocation per thread) with the pause columns left as @PAUSES@ for
// bench/run.sh to fill from GODEBUG=gctrace=1.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const ring = 1024

var sinkScan [][ring][]*byte
var sinkNoscan [][ring][]byte

//go:noinline
func loopScan(r *[ring][]*byte, size int, start, n uint64) {
	for i := start; i < start+n; i++ {
		p := make([]*byte, size/8)
		p[0] = nil
		r[i&(ring-1)] = p
	}
}

//go:noinline
func loopNoscan(r *[ring][]byte, size int, start, n uint64) {
	for i := start; i < start+n; i++ {
		p := make([]byte, size)
		p[0] = byte(i)
		r[i&(ring-1)] = p
	}
}

func main() {
	start := time.Now()
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: alloc scan|noscan SIZE ITERS [THREADS]")
		os.Exit(2)
	}
	scan := os.Args[1] == "scan"
	size, _ := strconv.Atoi(os.Args[2])
	iters, _ := strconv.ParseUint(os.Args[3], 10, 64)
	threads := 1
	if len(os.Args) > 4 {
		threads, _ = strconv.Atoi(os.Args[4])
	}
	if size < 8 || iters == 0 || threads < 1 {
		os.Exit(2)
	}
	warm := iters / 10
	if warm > 2000000 {
		warm = 2000000
	}
	if warm < 4*ring {
		warm = 4 * ring
	}
	sinkScan = make([][ring][]*byte, threads)
	sinkNoscan = make([][ring][]byte, threads)
	run := func(t int, start, n uint64) {
		if scan {
			loopScan(&sinkScan[t], size, start, n)
		} else {
			loopNoscan(&sinkNoscan[t], size, start, n)
		}
	}
	var wg sync.WaitGroup
	phase := func(start, n uint64) {
		for t := 0; t < threads; t++ {
			wg.Add(1)
			go func(t int) { defer wg.Done(); run(t, start, n) }(t)
		}
		wg.Wait()
	}
	phase(0, warm)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gc0 := ms.NumGC
	var ru0, ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	t0 := time.Now()
	phase(warm, iters)
	wall := time.Since(t0)
	fmt.Fprintf(os.Stderr, "bench-window %.6f %.6f\n", t0.Sub(start).Seconds(), time.Since(start).Seconds())
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	runtime.ReadMemStats(&ms)
	sys := "go"
	if !scan {
		sys = "go-noscan"
	}
	fmt.Printf("alloc,%dB/%dt,%s,%.6g,ns/alloc,%.4f,%.3f,%d,%d,@PAUSES@,,\n", size, threads, sys,
		float64(wall.Nanoseconds())/float64(iters), wall.Seconds(), cpu(&ru)-cpu(&ru0), ru.Maxrss,
		ms.NumGC-gc0)
}

func cpu(ru *syscall.Rusage) float64 {
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
