package main

import (
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Pausing the garbage collector while an element graph loads.
//
// Nearly everything a load allocates stays live until the command ends
// (the composed trees, the variables, the keys): at 100,000 elements a run
// with the collector off peaks only 14% higher than one with it on, while
// every cycle marks the whole growing heap again and slows the loading
// goroutines with its write barrier and assists. Collecting then costs a
// quarter of `bst show`'s wall time for almost nothing back. So from the
// start of a load until its keys are computed, collection is off, under a
// memory limit of a quarter of the machine's memory: the runtime collects
// anyway as the limit nears. Should the live heap pass half the limit (a
// huge project on a small machine), collection comes back at the usual
// pace at once, rather than collecting at every step near the limit.
//
// GOGC or GOMEMLIMIT in the environment leave the collector as they say;
// BST_GC_DURING_LOAD=1 keeps it on.
const (
	gcPauseRAMShare = 4         // the limit: a quarter of the machine's memory
	gcPauseMin      = 256 << 20 // below such a limit, no pause
	gcPauseTick     = 5 * time.Millisecond
)

var gcPause struct {
	mu      sync.Mutex
	depth   int // pauses in force (loads can overlap in tests)
	percent int // what to restore
	limit   int64
	done    chan struct{}
}

// pauseGC turns collection off for a load; the function it returns turns
// it back on. Pauses nest: the last resume restores the collector.
func pauseGC() (resume func()) { return pauseGCUnder(gcPauseLimit()) }

// pauseGCUnder pauses collection under a memory limit of limit bytes
// (none at all when limit is 0).
func pauseGCUnder(limit int64) (resume func()) {
	if limit <= 0 {
		return func() {}
	}
	gcPause.mu.Lock()
	defer gcPause.mu.Unlock()
	if gcPause.depth == 0 {
		// A limit set some other way (debug.SetMemoryLimit) stays.
		if debug.SetMemoryLimit(-1) != math.MaxInt64 {
			return func() {}
		}
		gcPause.limit = debug.SetMemoryLimit(limit)
		gcPause.percent = debug.SetGCPercent(-1)
		gcPause.done = make(chan struct{})
		go watchLiveHeap(limit/2, gcPause.done)
	}
	gcPause.depth++
	return sync.OnceFunc(func() {
		gcPause.mu.Lock()
		defer gcPause.mu.Unlock()
		gcPause.depth--
		if gcPause.depth > 0 {
			return
		}
		close(gcPause.done)
		debug.SetGCPercent(gcPause.percent)
		debug.SetMemoryLimit(gcPause.limit)
	})
}

// watchLiveHeap turns collection back on once the heap's objects pass
// most bytes, until done is closed.
func watchLiveHeap(most int64, done chan struct{}) {
	watchHeap(gcPauseTick, done, func(objects uint64) bool {
		if objects < uint64(most) {
			return false
		}
		gcPause.mu.Lock()
		defer gcPause.mu.Unlock()
		select {
		case <-done: // resumed meanwhile
		default:
			debug.SetGCPercent(gcPause.percent)
		}
		return true
	})
}

// watchHeap gives f the bytes of the heap's objects every tick, until f
// returns true or done is closed.
func watchHeap(tick time.Duration, done <-chan struct{}, f func(objects uint64) bool) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 && f(sample[0].Value.Uint64()) {
			return
		}
	}
}

// gcPauseLimit is the memory limit of a pause, 0 for no pause.
func gcPauseLimit() int64 {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" || os.Getenv("BST_GC_DURING_LOAD") != "" {
		return 0
	}
	limit := int64(totalMemory() / gcPauseRAMShare)
	if limit < gcPauseMin {
		return 0
	}
	return limit
}
