// pause -- the Go twin of bench/pause_bench.c: stop-the-world pauses of Go's
// collector with a large live heap.
//
//	pause LIVE_MB [GARBAGE_GB]
//
// Builds LIVE_MB of pointer-rich live heap (a ternary tree of 48-byte nodes,
// three pointers and three words each, under a root array of 1024 slots),
// collects, then allocates GARBAGE_GB (default 4) of short-lived 64-byte
// objects while swapping two subtrees under the roots every 4 KB allocated,
// as the C program does.  Only the garbage phase is measured.
//
// Prints "bench-window T0 T1" on stderr (the measured part, in seconds since
// main began, for bench/gcstat) and the CSV line of bench/bench_util.h (case "LIVEMB", metric the wall
// time in seconds) with the pause columns left as @PAUSES@ for bench/run.sh
// to fill from GODEBUG=gctrace=1.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

type node struct {
	p [3]*node
	v [3]uint64
}

var roots [1024]*node
var sink *[64]byte

func main() {
	start := time.Now()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pause LIVE_MB [GARBAGE_GB]")
		os.Exit(2)
	}
	mb, _ := strconv.Atoi(os.Args[1])
	gb := 4.0
	if len(os.Args) > 2 {
		gb, _ = strconv.ParseFloat(os.Args[2], 64)
	}
	n := mb << 20 / 48
	all := make([]*node, n)
	for i := range all {
		x := &node{}
		x.v[0] = uint64(i)
		all[i] = x
		if i < len(roots) {
			roots[i] = x
		} else {
			all[(i-len(roots))/3].p[(i-len(roots))%3] = x
		}
	}
	all = nil
	runtime.GC()

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gc0 := ms.NumGC
	var ru0, ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	rng := uint64(88172645463325252)
	next := func() uint64 {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return rng
	}
	t0 := time.Now()
	garbage := uint64(gb * (1 << 30))
	for b := uint64(0); b < garbage; b += 64 {
		g := new([64]byte)
		g[0] = 1
		sink = g
		if b&0xfff == 0 {
			a, c := next()%1024, next()%1024
			roots[a], roots[c] = roots[c], roots[a]
		}
	}
	wall := time.Since(t0).Seconds()
	fmt.Fprintf(os.Stderr, "bench-window %.6f %.6f\n", t0.Sub(start).Seconds(), time.Since(start).Seconds())
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	runtime.ReadMemStats(&ms)
	fmt.Printf("pause,%dMB,go,%.6g,s,%.4f,%.3f,%d,%d,@PAUSES@,,\n", mb, wall, wall,
		cpu(&ru)-cpu(&ru0), ru.Maxrss, ms.NumGC-gc0)
}

func cpu(ru *syscall.Rusage) float64 {
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
