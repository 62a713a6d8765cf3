package source

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bstgo/bst/cas"
)

// Concurrent captures are grouped, and each still gets its own tree.
func TestCaptureGroupsConcurrentCaptures(t *testing.T) {
	env := newTestEnv(t, Options{})
	fc := env.Context("p", "e.bst", nodeProv(), false)
	ctx := context.Background()
	const n = 16
	want := make([]cas.Digest, n)
	dirs := make([]string, n)
	for i := range n {
		d, err := fc.TempDir("cap-")
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(d, "sub"), 0o755)
		os.WriteFile(filepath.Join(d, "sub", "f"), []byte(fmt.Sprint("content ", i)), 0o644)
		if i%3 == 0 {
			os.WriteFile(filepath.Join(d, "x"), []byte("exec"), 0o755)
		}
		// The digest the tree has when captured alone.
		ref := t.TempDir()
		os.CopyFS(ref, os.DirFS(d))
		if want[i], err = env.Store.CaptureTree(ctx, ref); err != nil {
			t.Fatal(err)
		}
		dirs[i] = d
	}
	got := make([]cas.Digest, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := fc.Capture(ctx, dirs[i])
			if err != nil {
				t.Error(err)
			}
			got[i] = d
		}()
	}
	wg.Wait()
	for i := range n {
		if got[i] != want[i] {
			t.Errorf("capture %d: %s, want %s", i, got[i], want[i])
		}
		if !env.Cache.complete(ctx, got[i]) {
			t.Errorf("capture %d: the tree is not all in the store", i)
		}
	}
	// A tree with a special file is an error for that capture alone.
	bad, _ := fc.TempDir("bad-")
	if err := syscall.Mkfifo(filepath.Join(bad, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fc.Capture(ctx, bad); err == nil || !strings.Contains(err.Error(), "unsupported file type") {
		t.Errorf("capturing a FIFO: %v", err)
	}
	// Nothing is left in the temporary directory but the callers' own,
	// once the background removals are done.
	env.Wait()
	ents, _ := os.ReadDir(env.tmp)
	for _, e := range ents {
		if len(e.Name()) > 6 && e.Name()[:6] == "batch-" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// Many rounds of concurrent captures never stall: the lead is always
// handed on.
func TestCaptureNeverStalls(t *testing.T) {
	env := newTestEnv(t, Options{})
	fc := env.Context("p", "e.bst", nodeProv(), false)
	done := make(chan bool)
	go func() {
		defer close(done)
		for round := range 30 {
			var wg sync.WaitGroup
			for i := range 1 + round%7 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, _ := fc.TempDir("cap-")
					os.WriteFile(filepath.Join(d, "f"), []byte(fmt.Sprint(round, i)), 0o644)
					if _, err := fc.Capture(context.Background(), d); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("captures stalled")
	}
	env.batch.mu.Lock()
	defer env.batch.mu.Unlock()
	if env.batch.running != 0 || len(env.batch.pending) != 0 {
		t.Errorf("after the captures: %d running, %d pending", env.batch.running, len(env.batch.pending))
	}
}
