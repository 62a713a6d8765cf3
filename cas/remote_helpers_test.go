package cas_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/cas/artifactpb"
	"github.com/bstgo/bst/cas/server"
)

// testServer is a cache server on loopback for one test.
type testServer struct {
	*server.Server
	URL string
	Dir string
}

// startServer serves a new cache (open to everyone unless opts says
// otherwise) on 127.0.0.1 until the test ends. extra options (more
// interceptors, say) go to the gRPC server.
func startServer(t *testing.T, opts server.Options, extra ...grpc.ServerOption) *testServer {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Tokens == nil && opts.Anonymous == server.NoAccess {
		opts.Anonymous = server.PushAccess
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	g := srv.NewGRPCServer(extra...)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(l)
	t.Cleanup(g.Stop)
	return &testServer{Server: srv, URL: "grpc://" + l.Addr().String(), Dir: opts.Dir}
}

// spec is a remote spec for u that pushes, with few retries.
func spec(u string) cas.RemoteSpec {
	return cas.RemoteSpec{URL: u, Type: cas.RemoteAll, Push: true, RetryLimit: 1, RetryDelay: 10e6, Origin: "test"}
}

// warnings collects what Remotes report.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) warn(msg string) {
	w.mu.Lock()
	w.msgs = append(w.msgs, msg)
	w.mu.Unlock()
}

func (w *warnings) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.msgs, "\n")
}

// newCache opens an artifact cache in a new directory.
func newCache(t *testing.T) *cas.ArtifactCache {
	t.Helper()
	s, err := cas.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return cas.NewArtifactCache(s)
}

// writeTree makes a file tree of n small files in a few directories, a
// big one (over the batch limit), an executable, a symlink and an empty
// directory.
func writeTree(t *testing.T, dir string, n int) {
	t.Helper()
	for i := range n {
		p := filepath.Join(dir, "usr", "share", string(rune('a'+i%7)), "f"+strings.Repeat("x", i%5)+string(rune('0'+i%10))+"-"+itoa(i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Repeat("content ", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, 6<<20)
	for i := range big {
		big[i] = byte(i * 7 % 251)
	}
	mustWrite(t, filepath.Join(dir, "usr", "lib", "big.so"), big, 0o644)
	mustWrite(t, filepath.Join(dir, "usr", "bin", "tool"), []byte("#!/bin/sh\necho tool\n"), 0o755)
	if err := os.Symlink("tool", filepath.Join(dir, "usr", "bin", "tool2")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "var", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func mustWrite(t *testing.T, p string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
}

// makeArtifact captures a tree of n files into c and records an
// artifact of project "demo", element "base.bst" under its strong and
// weak keys. It returns the strong ref and the message.
func makeArtifact(t *testing.T, c *cas.ArtifactCache, n int, buildtree bool) (string, *artifactpb.Artifact) {
	t.Helper()
	ctx := context.Background()
	src := t.TempDir()
	writeTree(t, src, n)
	files, err := c.Store().CaptureTree(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	put := func(s string) cas.Digest {
		d, err := c.Store().PutBytes(ctx, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := &artifactpb.Artifact{
		Version: cas.ArtifactVersion, BuildSuccess: true,
		StrongKey: strings.Repeat("a", 64), WeakKey: strings.Repeat("b", 64), StrictKey: strings.Repeat("a", 64),
		Files:             files.Proto(),
		PublicData:        put("bst: {}\n").Proto(),
		LowDiversityMeta:  put("environment: {}\nsandbox-config: {}\n").Proto(),
		HighDiversityMeta: put("variables: {}\n").Proto(),
		Logs:              []*artifactpb.Artifact_LogFile{{Name: "build.log", Digest: put("the build log\n").Proto()}},
	}
	if buildtree {
		bt := t.TempDir()
		mustWrite(t, filepath.Join(bt, "Makefile"), []byte("all:\n"), 0o644)
		d, err := c.Store().CaptureTree(ctx, bt)
		if err != nil {
			t.Fatal(err)
		}
		a.Buildtree = d.Proto()
	}
	strong := cas.ArtifactRef("demo", "base.bst", a.StrongKey)
	if err := c.Put(ctx, a, strong, cas.ArtifactRef("demo", "base.bst", a.WeakKey)); err != nil {
		t.Fatal(err)
	}
	return strong, a
}

// artifactDigest is the digest a stored artifact is pushed under.
func artifactDigest(t *testing.T, a *artifactpb.Artifact) cas.Digest {
	data, err := proto.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return cas.NewDigest(data)
}
