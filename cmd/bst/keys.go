package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader"
	"github.com/bstgo/bst/scheduler"
	"github.com/bstgo/bst/source"
)

// repeatKeys computes the keys of all n times more, printing the wall and
// CPU time of each on stderr, for bench/keys.sh: in one process, on the
// same graph, the figures vary far less than whole runs of bst do.
func repeatKeys(a *app, kc element.KeyContext, all []*element.Element, n int) {
	for range n {
		start, cpu := time.Now(), processCPU()
		element.ComputeKeys(kc, all)
		fmt.Fprintf(a.stderr, "keys: %d elements, %.3f s wall, %.3f s CPU\n",
			len(all), time.Since(start).Seconds(), (processCPU() - cpu).Seconds())
	}
}

// processCPU returns the CPU time (user and system) used by the process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// computeKeys computes the cache keys of roots and everything they depend
// on. BST_DEBUG_CACHEKEY=1 prints each key's preimage on stderr.
//
// BST_BENCH_SKIP_KEYS=1 skips the work (no source is hashed, no key
// computed; every key shows as unknown): bench/show.sh times `bst show`
// with it as the baseline of what keys cost. BST_BENCH_KEYS_REPEAT=N
// computes the keys N times more (see repeatKeys), after printing how
// long the first computation took. Both are for benchmarks only.
func computeKeys(a *app, p *loader.Project, roots []*element.Element) error {
	return computeKeysOf(a, p, element.Dependencies(roots, element.ScopeAll))
}

// computeKeysOf computes the cache keys of all, which lists elements after
// their dependencies, as element.Dependencies does, and holds every
// dependency of its elements.
func computeKeysOf(a *app, p *loader.Project, all []*element.Element) error {
	if os.Getenv("BST_BENCH_SKIP_KEYS") != "" {
		return nil
	}
	repeat, err := strconv.Atoi(os.Getenv("BST_BENCH_KEYS_REPEAT"))
	timed := err == nil
	start, cpu := time.Now(), processCPU()
	for _, e := range all {
		for _, s := range e.Sources {
			if kl, ok := s.Plugin.(source.KeyLoader); ok {
				if err := kl.LoadKey(); err != nil {
					return err
				}
			}
		}
	}
	kc := element.KeyContext{
		Strict:        a.strictMode(),
		FatalWarnings: fatalWarnings(p),
	}
	if os.Getenv("BST_DEBUG_CACHEKEY") != "" {
		kc.Debug = a.stderr
	}
	element.ComputeKeys(kc, all)
	if timed {
		// The first computation, sources' keys included, in the state
		// a real run is in: nothing of it in the caches, memory fresh.
		fmt.Fprintf(a.stderr, "first keys: %d elements, %.3f s wall, %.3f s CPU\n",
			len(all), time.Since(start).Seconds(), (processCPU() - cpu).Seconds())
		repeatKeys(a, kc, all, repeat)
	}
	if !kc.Strict {
		artifacts, err := a.openCache()
		if err != nil {
			return err
		}
		scheduler.ResolveNonStrict(artifacts, kc, all, a.building)
	}
	return nil
}
