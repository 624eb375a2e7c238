// binarytrees -- the Go twin of bench/binarytrees.c: the Benchmarks Game
// binary-trees program on Go's own collector.
//
//	binarytrees DEPTH [par]
//
// A stretch tree of depth DEPTH+1, a long-lived tree of depth DEPTH, then
// 2^(DEPTH-d+4) trees of each depth d = 4, 6, ..., DEPTH, built bottom-up
// and checked.  With "par" each depth's trees are built by a goroutine of
// their own (one per depth, all started at once).  Nodes are two pointers
// (16 bytes), as in the C program.
//
// Prints "bench-window T0 T1" on stderr (the measured part, in seconds since
// main began, for bench/gcstat) and the CSV line of bench/bench_util.h with the pause columns left as
// @PAUSES@: bench/run.sh fills them from the GODEBUG=gctrace=1 lines on
// stderr (through bench/gcstat).
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

type node struct{ left, right *node }

func make_(d int) *node {
	if d <= 0 {
		return &node{}
	}
	return &node{make_(d - 1), make_(d - 1)}
}

func (n *node) check() int64 {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.check() + n.right.check()
}

func depthTrees(max, d int) int64 {
	iters := 1 << uint(max-d+4)
	var c int64
	for i := 0; i < iters; i++ {
		c += make_(d).check()
	}
	return c
}

func main() {
	start := time.Now()
	max := 21
	if len(os.Args) > 1 {
		max, _ = strconv.Atoi(os.Args[1])
	}
	if max < 6 {
		max = 6
	}
	par := len(os.Args) > 2 && os.Args[2] == "par"
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gc0 := ms.NumGC
	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	t0 := time.Now()

	total := make_(max + 1).check()
	long := make_(max)
	if par {
		var wg sync.WaitGroup
		var res []int64
		for d := 4; d <= max; d += 2 {
			res = append(res, 0)
		}
		for i, d := 0, 4; d <= max; i, d = i+1, d+2 {
			wg.Add(1)
			go func(i, d int) {
				defer wg.Done()
				res[i] = depthTrees(max, d)
			}(i, d)
		}
		wg.Wait()
		for _, r := range res {
			total += r
		}
	} else {
		for d := 4; d <= max; d += 2 {
			total += depthTrees(max, d)
		}
	}
	total += long.check()
	wall := time.Since(t0).Seconds()
	fmt.Fprintf(os.Stderr, "bench-window %.6f %.6f\n", t0.Sub(start).Seconds(), time.Since(start).Seconds())

	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	runtime.ReadMemStats(&ms)
	cas := fmt.Sprintf("d%d", max)
	if par {
		cas += "/par"
	}
	fmt.Printf("binarytrees,%s,go,%.6g,s,%.4f,%.3f,%d,%d,@PAUSES@,,%d\n", cas, wall, wall,
		cpu(&ru)-cpu(&ru0), ru.Maxrss, ms.NumGC-gc0, total)
}

func cpu(ru *syscall.Rusage) float64 {
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
