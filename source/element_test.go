package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bstgo/bst/cas"
)

// fakeSource "downloads" a file into the source directory and stages a
// tree holding it, counting calls.
type fakeSource struct {
	name    string
	fail    error
	delay   time.Duration
	fetches atomic.Int32
	stages  atomic.Int32
	running *atomic.Int32
	peak    *atomic.Int32
}

func (f *fakeSource) Resolved() bool { return true }
func (f *fakeSource) UniqueKey() any { return []any{f.name} }
func (f *fakeSource) path(fc *FetchContext) string {
	return filepath.Join(fc.MirrorDir("fake"), f.name)
}
func (f *fakeSource) IsCached(fc *FetchContext) bool {
	_, err := os.Stat(f.path(fc))
	return err == nil
}
func (f *fakeSource) Fetch(ctx context.Context, fc *FetchContext) error {
	f.fetches.Add(1)
	if f.running != nil {
		n := f.running.Add(1)
		defer f.running.Add(-1)
		for {
			p := f.peak.Load()
			if n <= p || f.peak.CompareAndSwap(p, n) {
				break
			}
		}
	}
	time.Sleep(f.delay)
	if f.fail != nil {
		return f.fail
	}
	os.MkdirAll(filepath.Dir(f.path(fc)), 0o755)
	return os.WriteFile(f.path(fc), []byte(f.name), 0o644)
}
func (f *fakeSource) StageFetched(ctx context.Context, fc *FetchContext) (cas.Digest, error) {
	f.stages.Add(1)
	dir, err := fc.TempDir("fake-")
	if err != nil {
		return cas.Digest{}, err
	}
	defer os.RemoveAll(dir)
	data, _ := os.ReadFile(f.path(fc))
	os.WriteFile(filepath.Join(dir, f.name+".txt"), data, 0o644)
	return fc.Store.CaptureTree(ctx, dir)
}

// appendSource adds a line to the previous sources' "log" file, like a
// patch.
type appendSource struct{ line string }

func (a *appendSource) Resolved() bool { return true }
func (a *appendSource) UniqueKey() any { return a.line }
func (a *appendSource) StageOnto(ctx context.Context, fc *FetchContext, prev cas.Digest) (cas.Digest, error) {
	p, err := ParsePatch([]byte("--- /dev/null\n+++ b/log\n@@ -0,0 +1 @@\n+" + a.line + "\n"))
	if err != nil {
		return cas.Digest{}, err
	}
	return p.Apply(ctx, fc.Store, prev, 1)
}

func elementOf(name string, entries ...Entry) *ElementSources {
	return &ElementSources{Element: name, Project: "p", Entries: entries}
}

func TestFetchStageCaches(t *testing.T) {
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	a, b := &fakeSource{name: "a"}, &fakeSource{name: "b"}
	es := elementOf("e.bst",
		Entry{Kind: "fake", Source: a},
		Entry{Kind: "fake", Directory: "sub", Source: b},
		Entry{Kind: "append", Directory: "sub", Source: &appendSource{"patched"}})
	if !env.FetchNeeded(ctx, es) || env.Cached(ctx, es) {
		t.Fatal("fresh sources are not fetch-needed")
	}
	if _, err := env.Stage(ctx, es); err == nil || !strings.Contains(err.Error(), "not fetched") {
		t.Fatalf("staging unfetched sources: %v", err)
	}
	if _, err := env.Fetch(ctx, es); err != nil {
		t.Fatal(err)
	}
	if env.FetchNeeded(ctx, es) || !env.Cached(ctx, es) {
		t.Fatal("fetched sources still need fetching")
	}
	d, err := env.Stage(ctx, es)
	if err != nil {
		t.Fatal(err)
	}
	if got := stageString(t, env.Store, d); got != "a.txt=a sub/ sub/b.txt=b sub/log=patched\n" {
		t.Errorf("staged %q", got)
	}
	// Staging again, and fetching again, reuse the cache: no fetch, no
	// extraction.
	for range 3 {
		if _, err := env.Fetch(ctx, es); err != nil {
			t.Fatal(err)
		}
		if d2, err := env.Stage(ctx, es); err != nil || d2 != d {
			t.Fatal(d2, err)
		}
	}
	if a.fetches.Load() != 1 || a.stages.Load() != 1 || b.stages.Load() != 1 {
		t.Errorf("fetches %d, stages %d %d: want 1 each", a.fetches.Load(), a.stages.Load(), b.stages.Load())
	}
	// Losing the element sources entry falls back to the single sources.
	env.Cache.Remove("elementsources/" + mustKey(t, es))
	if d2, err := env.Stage(ctx, es); err != nil || d2 != d || a.stages.Load() != 1 {
		t.Fatalf("restaging from single sources: %v %v, %d stages", d2, err, a.stages.Load())
	}
}

func mustKey(t *testing.T, es *ElementSources) string {
	k, err := es.Key()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCacheRefSpaceExpiry(t *testing.T) {
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	es := elementOf("e.bst", Entry{Kind: "fake", Source: &fakeSource{name: "x"}})
	if _, err := env.Fetch(ctx, es); err != nil {
		t.Fatal(err)
	}
	refs, err := env.Cache.Refs()
	if err != nil || len(refs) != 2 {
		t.Fatalf("refs %v %v", refs, err)
	}
	names := refs[0].Name + " " + refs[1].Name
	if !strings.Contains(names, "source_protos/fake/"+Key([]any{"x"})) || !strings.Contains(names, "elementsources/"+mustKey(t, es)) {
		t.Errorf("ref names %s", names)
	}
	// Expiry that keeps the refs keeps the tree; expiry that may drop
	// everything drops the refs and their objects.
	if _, err := env.Store.Expire(ctx, 0, func(cas.RefSpace, string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if !env.Cached(ctx, es) {
		t.Fatal("kept refs lost their tree")
	}
	res, err := env.Store.Expire(ctx, 0, nil)
	if err != nil || res.Refs != 2 {
		t.Fatalf("expire: %+v %v", res, err)
	}
	if env.Cached(ctx, es) {
		t.Fatal("expired sources still cached")
	}
}

func TestFetchAllPool(t *testing.T) {
	env := newTestEnv(t, Options{})
	var running, peak atomic.Int32
	var list []*ElementSources
	shared := &fakeSource{name: "shared", delay: 20 * time.Millisecond}
	for i := range 12 {
		f := &fakeSource{name: string(rune('a' + i)), delay: 20 * time.Millisecond, running: &running, peak: &peak}
		list = append(list, elementOf(f.name+".bst", Entry{Kind: "fake", Source: f}, Entry{Kind: "fake", Source: shared}))
	}
	var mu sync.Mutex
	kinds := map[JobEventKind]int{}
	err := env.FetchAll(context.Background(), list, 3, func(ev JobEvent) {
		mu.Lock()
		kinds[ev.Kind]++
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak concurrency %d with 3 fetchers", p)
	}
	if kinds[JobStart] != 12 || kinds[JobSuccess] != 12 {
		t.Errorf("events %v", kinds)
	}
	// The source all elements share was fetched once.
	if shared.fetches.Load() != 1 {
		t.Errorf("shared source fetched %d times", shared.fetches.Load())
	}
	// Once a job fails, no new one starts.
	boom := errors.New("boom")
	var failing []*ElementSources
	var started atomic.Int32
	for i := range 10 {
		f := &fakeSource{name: "f" + string(rune('a'+i)), fail: boom}
		failing = append(failing, elementOf(f.name, Entry{Kind: "fake", Source: f}))
	}
	err = env.FetchAll(context.Background(), failing, 1, func(ev JobEvent) {
		if ev.Kind == JobStart {
			started.Add(1)
		}
	})
	if !errors.Is(err, boom) || started.Load() > 2 {
		t.Errorf("after a failure: %v, %d jobs started", err, started.Load())
	}
}
