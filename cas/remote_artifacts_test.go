package cas_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	rapb "github.com/bazelbuild/remote-apis/build/bazel/remote/asset/v1"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/cas/server"
)

func remoteCache(c *cas.ArtifactCache, w *warnings, specs ...cas.RemoteSpec) *cas.RemoteArtifactCache {
	return cas.NewRemoteArtifactCache(c, cas.NewRemotes(map[string][]cas.RemoteSpec{"demo": specs}, w.warn))
}

func TestArtifactPushPull(t *testing.T) {
	ctx := context.Background()
	var pushes []*rapb.PushBlobRequest
	var mu sync.Mutex
	record := grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if p, ok := req.(*rapb.PushBlobRequest); ok && len(p.Uris) > 0 {
			mu.Lock()
			pushes = append(pushes, proto.Clone(p).(*rapb.PushBlobRequest))
			mu.Unlock()
		}
		return h(ctx, req)
	})
	srv := startServer(t, server.Options{}, record)

	a := newCache(t)
	ref, art := makeArtifact(t, a, 300, true)
	var w warnings
	ra := remoteCache(a, &w, spec(srv.URL))
	defer ra.Remotes().Close()
	pushed, err := ra.Push(ctx, ref)
	if err != nil || !pushed {
		t.Fatalf("Push = %v, %v; warnings: %s", pushed, err, &w)
	}
	pushed, err = ra.Push(ctx, ref)
	if err != nil || pushed {
		t.Fatalf("second Push = %v, %v; want false: the remote has it", pushed, err)
	}

	// What went to the index is what BuildStream 2 pushes: both keys'
	// URNs, the Artifact message's digest, its blobs and trees.
	if len(pushes) != 1 {
		t.Fatalf("%d PushBlob calls, want 1", len(pushes))
	}
	p := pushes[0]
	wantURIs := []string{
		"urn:fdc:buildstream.build:2020:artifact:demo/base/" + art.StrongKey,
		"urn:fdc:buildstream.build:2020:artifact:demo/base/" + art.WeakKey,
	}
	if strings.Join(p.Uris, " ") != strings.Join(wantURIs, " ") {
		t.Errorf("URIs = %q, want %q", p.Uris, wantURIs)
	}
	if got, want := p.BlobDigest.GetHash(), artifactDigest(t, art).Hash(); got != want {
		t.Errorf("blob digest %s, want the Artifact message's %s", got, want)
	}
	wantBlobs := []string{art.LowDiversityMeta.Hash, art.HighDiversityMeta.Hash, art.Logs[0].Digest.Hash, art.PublicData.Hash}
	wantDirs := []string{art.Files.Hash, art.Buildtree.Hash}
	if got := hashes(p.ReferencesBlobs); got != strings.Join(wantBlobs, " ") {
		t.Errorf("references_blobs = %s, want %s", got, strings.Join(wantBlobs, " "))
	}
	if got := hashes(p.ReferencesDirectories); got != strings.Join(wantDirs, " ") {
		t.Errorf("references_directories = %s, want %s", got, strings.Join(wantDirs, " "))
	}

	// Another cache pulls it, by either key, complete and verified.
	b := newCache(t)
	rb := remoteCache(b, &w, spec(srv.URL))
	defer rb.Remotes().Close()
	weak := cas.ArtifactRef("demo", "base.bst", art.WeakKey)
	ok, err := rb.Pull(ctx, weak)
	if err != nil || !ok {
		t.Fatalf("Pull = %v, %v; warnings: %s", ok, err, &w)
	}
	for _, r := range []string{ref, weak} {
		got, err := b.Get(r)
		if err != nil {
			t.Fatalf("after the pull, %s: %v", r, err)
		}
		if !proto.Equal(got, art) {
			t.Fatalf("pulled artifact differs")
		}
	}
	report, err := b.Store().Verify(ctx)
	if err != nil || !report.OK() {
		t.Fatalf("the pulled cache does not verify: %+v, %v", report, err)
	}
	files, _ := cas.DigestFromProto(art.Files)
	dir := t.TempDir()
	if err := b.Store().StageTree(ctx, files, dir, cas.StageOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := cas.DirectoryDigest(dir)
	if err != nil || got != files {
		t.Fatalf("staged pulled tree has digest %s (%v), want %s", got, err, files)
	}
	// Pulling what is not there is no error.
	ok, err = rb.Pull(ctx, cas.ArtifactRef("demo", "other.bst", strings.Repeat("c", 64)))
	if ok || err != nil {
		t.Fatalf("Pull of an unknown artifact = %v, %v", ok, err)
	}
	if w.String() != "" {
		t.Errorf("unexpected warnings: %s", &w)
	}
}

func hashes(ds []*repb.Digest) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Hash)
	}
	return strings.Join(out, " ")
}

// flipper corrupts blob content in BatchReadBlobs and ByteStream Read
// responses, as a broken network or server would.
func flipper(active *atomic.Bool) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			resp, err := h(ctx, req)
			if r, ok := resp.(*repb.BatchReadBlobsResponse); ok && active.Load() {
				for _, b := range r.Responses {
					if len(b.Data) > 0 {
						b.Data[len(b.Data)/2] ^= 0x20
					}
				}
			}
			return resp, err
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if info.FullMethod == "/google.bytestream.ByteStream/Read" && active.Load() {
				ss = &flippingStream{ServerStream: ss}
			}
			return h(srv, ss)
		}),
	}
}

type flippingStream struct {
	grpc.ServerStream
	done bool
}

func (f *flippingStream) SendMsg(m any) error {
	if r, ok := m.(*bspb.ReadResponse); ok && !f.done && len(r.Data) > 0 {
		r.Data = bytes.Clone(r.Data)
		r.Data[0] ^= 1
		f.done = true
	}
	return f.ServerStream.SendMsg(m)
}

func TestPullDetectsCorruption(t *testing.T) {
	ctx := context.Background()
	var active atomic.Bool
	srv := startServer(t, server.Options{}, flipper(&active)...)
	a := newCache(t)
	ref, _ := makeArtifact(t, a, 50, false)
	var w warnings
	if ok, err := remoteCache(a, &w, spec(srv.URL)).Push(ctx, ref); !ok || err != nil {
		t.Fatalf("Push = %v, %v (%s)", ok, err, &w)
	}
	active.Store(true)
	b := newCache(t)
	ok, err := remoteCache(b, &w, spec(srv.URL)).Pull(ctx, ref)
	var mm *cas.BlobMismatchError
	var re *cas.RemoteError
	if ok || !errors.As(err, &mm) || !errors.As(err, &re) {
		t.Fatalf("Pull of corrupted data = %v, %v; want a RemoteError with a BlobMismatchError", ok, err)
	}
	if b.Contains(ref) {
		t.Fatal("the artifact was recorded")
	}
	if b.Store().Has(mm.Got) || b.Store().Has(mm.Digest) {
		t.Fatal("the corrupted blob was stored")
	}
	if !strings.Contains(err.Error(), "corrupted on the server") {
		t.Errorf("error %q does not say what happened", err)
	}
}

func TestPullCorruptedOnServerDisk(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, server.Options{})
	a := newCache(t)
	ref, art := makeArtifact(t, a, 10, false)
	var w warnings
	if ok, err := remoteCache(a, &w, spec(srv.URL)).Push(ctx, ref); !ok || err != nil {
		t.Fatalf("Push = %v, %v (%s)", ok, err, &w)
	}
	// Flip a byte of the build log in the server's store.
	log, _ := cas.DigestFromProto(art.Logs[0].Digest)
	serverStore, err := cas.OpenLocal(srv.Dir)
	if err != nil {
		t.Fatal(err)
	}
	p := serverStore.ObjectPath(log)
	os.Chmod(p, 0o644)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[0] ^= 0x01
	if err := os.WriteFile(p, data, 0o444); err != nil {
		t.Fatal(err)
	}
	b := newCache(t)
	ok, err := remoteCache(b, &w, spec(srv.URL)).Pull(ctx, ref)
	var re *cas.RemoteError
	if ok || !errors.As(err, &re) || re.Code != codes.DataLoss {
		t.Fatalf("Pull = %v, %v; want a DATA_LOSS RemoteError", ok, err)
	}
	if b.Contains(ref) || b.Store().Has(log) {
		t.Fatal("the corrupted artifact was recorded")
	}
	// The server removed the corrupted blob, so the artifact is no longer
	// answered: the next pull finds nothing, and the next push repairs it.
	ok, err = remoteCache(b, &w, spec(srv.URL)).Pull(ctx, ref)
	if ok || err != nil {
		t.Fatalf("second Pull = %v, %v; want not found", ok, err)
	}
	if ok, err := remoteCache(a, &w, spec(srv.URL)).Push(ctx, ref); !ok || err != nil {
		t.Fatalf("Push again = %v, %v", ok, err)
	}
	if ok, err := remoteCache(b, &w, spec(srv.URL)).Pull(ctx, ref); !ok || err != nil {
		t.Fatalf("Pull after the repair = %v, %v", ok, err)
	}
}

func TestPushWithReadOnlyToken(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, server.Options{Tokens: server.NewTokens(map[string]server.Access{
		"reader-secret": server.ReadAccess, "pusher-secret": server.PushAccess,
	})})
	dir := t.TempDir()
	mustWrite(t, dir+"/read", []byte("reader-secret\n"), 0o600)
	mustWrite(t, dir+"/push", []byte("pusher-secret\n"), 0o600)
	a := newCache(t)
	ref, _ := makeArtifact(t, a, 5, false)

	var w warnings
	s := spec(srv.URL)
	s.AccessToken = dir + "/read"
	ra := remoteCache(a, &w, s)
	if ra.Remotes().Available(ctx, "demo", true) {
		t.Fatal("a read-only token may push")
	}
	if !ra.Remotes().Available(ctx, "demo", false) {
		t.Fatalf("a read-only token may not pull: %s", &w)
	}
	ok, err := ra.Push(ctx, ref)
	if ok || err != nil {
		t.Fatalf("Push = %v, %v: want nothing pushed, and a warning", ok, err)
	}
	if !strings.Contains(w.String(), "permission denied: the access token has no push rights") {
		t.Fatalf("warnings %q do not say the token cannot push", &w)
	}
	if strings.Contains(w.String(), "reader-secret") {
		t.Fatal("the token appears in a message")
	}

	// No token at all.
	w = warnings{}
	if remoteCache(a, &w, spec(srv.URL)).Remotes().Available(ctx, "demo", false) {
		t.Fatal("an anonymous client may read")
	}
	if !strings.Contains(w.String(), "needs an access token") {
		t.Fatalf("warnings %q do not say a token is needed", &w)
	}

	s.AccessToken = dir + "/push"
	w = warnings{}
	if ok, err := remoteCache(a, &w, s).Push(ctx, ref); !ok || err != nil {
		t.Fatalf("Push with a push token = %v, %v (%s)", ok, err, &w)
	}
}

func TestRemoteDown(t *testing.T) {
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens there now
	a := newCache(t)
	ref, _ := makeArtifact(t, a, 5, false)
	var w warnings
	ra := remoteCache(a, &w, spec("http://"+addr))
	ok, err := ra.Pull(ctx, ref+"x")
	if ok || err != nil {
		t.Fatalf("Pull = %v, %v: a remote that is down is a warning", ok, err)
	}
	ok, err = ra.Push(ctx, ref)
	if ok || err != nil {
		t.Fatalf("Push = %v, %v: a remote that is down is a warning", ok, err)
	}
	if n := strings.Count(w.String(), "Failed to initialize remote http://"+addr); n != 1 {
		t.Fatalf("warnings %q: want the remote reported once", &w)
	}
}

// A remote that fails transiently is retried.
func TestRetries(t *testing.T) {
	ctx := context.Background()
	var fails atomic.Int32
	fails.Store(2)
	flaky := grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if strings.HasSuffix(info.FullMethod, "/FindMissingBlobs") && fails.Add(-1) >= 0 {
			return nil, status.Error(codes.Unavailable, "try again")
		}
		return h(ctx, req)
	})
	srv := startServer(t, server.Options{}, flaky)
	a := newCache(t)
	ref, _ := makeArtifact(t, a, 5, false)
	var w warnings
	s := spec(srv.URL)
	s.RetryLimit = 3
	if ok, err := remoteCache(a, &w, s).Push(ctx, ref); !ok || err != nil {
		t.Fatalf("Push = %v, %v (%s)", ok, err, &w)
	}
	if fails.Load() >= 0 {
		t.Fatal("the flaky calls were not made")
	}
}

// Separate index and storage remotes, as BuildStream allows.
func TestIndexAndStorageRemotes(t *testing.T) {
	ctx := context.Background()
	index := startServer(t, server.Options{})
	storage := startServer(t, server.Options{})
	a := newCache(t)
	ref, _ := makeArtifact(t, a, 20, false)
	si, ss := spec(index.URL), spec(storage.URL)
	si.Type, ss.Type = cas.RemoteIndex, cas.RemoteStorage
	var w warnings
	// The index checks that the content is stored: here the storage is
	// elsewhere, so the index server must have it too. Push to both, as
	// storage to the index server as well.
	sb := spec(index.URL)
	sb.Type = cas.RemoteStorage
	if ok, err := remoteCache(a, &w, si, ss, sb).Push(ctx, ref); !ok || err != nil {
		t.Fatalf("Push = %v, %v (%s)", ok, err, &w)
	}
	b := newCache(t)
	si.Push, ss.Push = false, false
	if ok, err := remoteCache(b, &w, si, ss).Pull(ctx, ref); !ok || err != nil {
		t.Fatalf("Pull = %v, %v (%s)", ok, err, &w)
	}
}
