package main

import (
	"math"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// gcPercent reads the collector's setting without changing it (setting
// and restoring it would race with the pause's watcher).
func gcPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

func TestPauseGCNestsAndRestores(t *testing.T) {
	before, limitBefore := gcPercent(), debug.SetMemoryLimit(-1)
	if limitBefore != math.MaxInt64 {
		t.Skip("a memory limit is set for the tests")
	}
	outer := pauseGCUnder(1 << 40)
	inner := pauseGCUnder(1 << 40)
	if got := gcPercent(); got != -1 {
		t.Fatalf("paused: GC percent %d, want -1", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Fatalf("paused: memory limit %d, want %d", got, int64(1<<40))
	}
	inner()
	inner() // a second call does nothing
	if got := gcPercent(); got != -1 {
		t.Fatalf("one pause left: GC percent %d, want -1", got)
	}
	outer()
	if got := gcPercent(); got != before {
		t.Fatalf("resumed: GC percent %d, want %d", got, before)
	}
	if got := debug.SetMemoryLimit(-1); got != limitBefore {
		t.Fatalf("resumed: memory limit %d, want %d", got, limitBefore)
	}
}

func TestPauseGCEndsWhenTheHeapPassesHalfTheLimit(t *testing.T) {
	before := gcPercent()
	// Half of 64 KiB is less than any Go program's heap.
	resume := pauseGCUnder(64 << 10)
	defer resume()
	deadline := time.Now().Add(5 * time.Second)
	for gcPercent() == -1 {
		if time.Now().After(deadline) {
			t.Fatal("collection still off with the heap past half the limit")
		}
		time.Sleep(gcPauseTick)
	}
	if got := gcPercent(); got != before {
		t.Fatalf("GC percent %d, want %d", got, before)
	}
	resume()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("resumed: memory limit %d, want none", got)
	}
}

func TestPauseGCLeavesAnExplicitSettingAlone(t *testing.T) {
	t.Setenv("GOGC", "50")
	if limit := gcPauseLimit(); limit != 0 {
		t.Fatalf("GOGC set: pause limit %d, want none", limit)
	}
}
