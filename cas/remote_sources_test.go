package cas_test

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/cas/artifactpb"
	"github.com/bstgo/bst/cas/server"
)

// memRefs is a source cache's refs in memory, counting what is recorded.
type memRefs struct {
	store    *cas.LocalStore
	mu       sync.Mutex
	sources  map[string]cas.Digest
	elements map[string]cas.Digest
}

func newMemRefs(s *cas.LocalStore) *memRefs {
	return &memRefs{store: s, sources: map[string]cas.Digest{}, elements: map[string]cas.Digest{}}
}

func (m *memRefs) get(tab map[string]cas.Digest, k string) (cas.Digest, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := tab[k]
	return d, ok
}

func (m *memRefs) Source(ctx context.Context, ref string) (cas.Digest, bool) {
	return m.get(m.sources, ref)
}
func (m *memRefs) Element(ctx context.Context, key string) (cas.Digest, bool) {
	return m.get(m.elements, key)
}
func (m *memRefs) PutSource(ctx context.Context, ref string, d cas.Digest) error {
	return m.put(ctx, m.sources, ref, d)
}
func (m *memRefs) PutElement(ctx context.Context, key string, d cas.Digest) error {
	return m.put(ctx, m.elements, key, d)
}

// put records d once the whole tree is stored, as source.Cache does.
func (m *memRefs) put(ctx context.Context, tab map[string]cas.Digest, k string, d cas.Digest) error {
	missing := 0
	if err := m.store.Reachable(ctx, d, map[cas.Digest]bool{}, func(b cas.Digest) {
		if !m.store.Has(b) {
			missing++
		}
	}); err != nil {
		return err
	}
	if missing > 0 {
		panic("recording an incomplete tree")
	}
	m.mu.Lock()
	tab[k] = d
	m.mu.Unlock()
	return nil
}

func TestSourcePushPull(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, server.Options{})
	storeA, err := cas.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	writeTree(t, src, 40)
	tree, err := storeA.CaptureTree(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	refsA := newMemRefs(storeA)
	const ref, key = "tar/0123abcd", "fedc3210"
	refsA.PutSource(ctx, ref, tree)
	refsA.PutElement(ctx, key, tree)

	var w warnings
	ra := cas.NewRemoteSourceCache(storeA, refsA, cas.NewRemotes(map[string][]cas.RemoteSpec{"demo": {spec(srv.URL)}}, w.warn))
	defer ra.Remotes().Close()
	for name, push := range map[string]func() (bool, error){
		"source":          func() (bool, error) { return ra.PushSource(ctx, "demo", ref) },
		"element sources": func() (bool, error) { return ra.PushElementSources(ctx, "demo", key) },
	} {
		if ok, err := push(); !ok || err != nil {
			t.Fatalf("push %s = %v, %v (%s)", name, ok, err, &w)
		}
		if ok, err := push(); ok || err != nil {
			t.Fatalf("push %s again = %v, %v: want false", name, ok, err)
		}
	}
	// The URNs and content are BuildStream's.
	r, err := cas.DialRemote(spec(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if d, ok, err := r.FetchDirectory(ctx, "urn:fdc:buildstream.build:2020:source:"+ref); !ok || err != nil || d != tree {
		t.Fatalf("source directory %s %v %v, want %s", d, ok, err, tree)
	}
	msg, ok, err := r.FetchBlob(ctx, "urn:fdc:buildstream.build:2020:source:"+key)
	if !ok || err != nil {
		t.Fatalf("element sources blob: %v %v", ok, err)
	}
	want, _ := proto.Marshal(&artifactpb.Source{Files: tree.Proto()})
	if msg != cas.NewDigest(want) {
		t.Fatalf("element sources message %s, want %s", msg, cas.NewDigest(want))
	}

	storeB, err := cas.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	refsB := newMemRefs(storeB)
	rb := cas.NewRemoteSourceCache(storeB, refsB, cas.NewRemotes(map[string][]cas.RemoteSpec{"demo": {spec(srv.URL)}}, w.warn))
	defer rb.Remotes().Close()
	if ok, err := rb.PullSource(ctx, "demo", ref); !ok || err != nil {
		t.Fatalf("PullSource = %v, %v", ok, err)
	}
	if ok, err := rb.PullElementSources(ctx, "demo", key); !ok || err != nil {
		t.Fatalf("PullElementSources = %v, %v", ok, err)
	}
	if d, _ := refsB.Source(ctx, ref); d != tree {
		t.Fatalf("pulled source %s, want %s", d, tree)
	}
	if d, _ := refsB.Element(ctx, key); d != tree {
		t.Fatalf("pulled element sources %s, want %s", d, tree)
	}
	if ok, err := rb.PullSource(ctx, "demo", "tar/unknown"); ok || err != nil {
		t.Fatalf("PullSource of an unknown source = %v, %v", ok, err)
	}
	// Another project has no remotes.
	if ok, err := rb.PullSource(ctx, "other", ref); ok || err != nil {
		t.Fatalf("PullSource for a project without remotes = %v, %v", ok, err)
	}
	if _, err := ra.PushSource(ctx, "demo", "tar/notcached"); err == nil {
		t.Fatal("pushing an uncached source succeeded")
	}
}
