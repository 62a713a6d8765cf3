package server

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	rapb "github.com/bazelbuild/remote-apis/build/bazel/remote/asset/v1"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/bstgo/bst/cas"
)

type clients struct {
	conn   *grpc.ClientConn
	cas    repb.ContentAddressableStorageClient
	bs     bspb.ByteStreamClient
	ac     repb.ActionCacheClient
	caps   repb.CapabilitiesClient
	fetch  rapb.FetchClient
	push   rapb.PushClient
	health healthpb.HealthClient
}

// serve runs s on loopback until the test ends.
func serve(t *testing.T, s *Server) *clients {
	t.Helper()
	g := s.NewGRPCServer()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(l)
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &clients{conn: conn, cas: repb.NewContentAddressableStorageClient(conn), bs: bspb.NewByteStreamClient(conn),
		ac: repb.NewActionCacheClient(conn), caps: repb.NewCapabilitiesClient(conn), fetch: rapb.NewFetchClient(conn),
		push: rapb.NewPushClient(conn), health: healthpb.NewHealthClient(conn)}
}

func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Tokens == nil && opts.Anonymous == NoAccess {
		opts.Anonymous = PushAccess
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func upload(t *testing.T, c *clients, blobs ...[]byte) []*repb.Digest {
	t.Helper()
	req := &repb.BatchUpdateBlobsRequest{}
	var ds []*repb.Digest
	for _, b := range blobs {
		d := cas.NewDigest(b).Proto()
		ds = append(ds, d)
		req.Requests = append(req.Requests, &repb.BatchUpdateBlobsRequest_Request{Digest: d, Data: b})
	}
	resp, err := c.cas.BatchUpdateBlobs(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Responses {
		if r.Status.GetCode() != 0 {
			t.Fatalf("upload of %s: %v", r.Digest.Hash, r.Status)
		}
	}
	return ds
}

func missing(t *testing.T, c *clients, ds ...*repb.Digest) int {
	t.Helper()
	resp, err := c.cas.FindMissingBlobs(context.Background(), &repb.FindMissingBlobsRequest{BlobDigests: ds})
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.MissingBlobDigests)
}

func blob(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%13)
	}
	return b
}

func TestQuotaExpiresLeastRecentlyUsed(t *testing.T) {
	s := newServer(t, Options{Quota: 1000, LowWatermark: 0.5})
	c := serve(t, s)
	var ds []*repb.Digest
	for i := range 6 {
		ds = append(ds, upload(t, c, blob(150, byte(i)))...)
		if i == 2 {
			// Use the first blob: it becomes the most recent.
			if missing(t, c, ds[0]) != 0 {
				t.Fatal("blob 0 expired early")
			}
		}
	}
	// 6×150 = 900 bytes fit. The seventh goes over 1000: expiry down to
	// 500 keeps the three most recently used: 6, 5 and 4 (blob 0 was used
	// after 2, but before 3).
	ds = append(ds, upload(t, c, blob(150, 6))...)
	for i, d := range ds {
		want := 0
		if i < 4 {
			want = 1
		}
		if got := missing(t, c, d); got != want {
			t.Errorf("blob %d: missing %d, want %d", i, got, want)
		}
	}
	if st := s.blobs.stats(); st.bytes != 450 || st.blobs != 3 {
		t.Errorf("after expiry: %+v", st)
	}
	// A blob larger than the quota is refused.
	resp, err := c.cas.BatchUpdateBlobs(context.Background(), &repb.BatchUpdateBlobsRequest{Requests: []*repb.BatchUpdateBlobsRequest_Request{
		{Digest: cas.NewDigest(blob(2000, 1)).Proto(), Data: blob(2000, 1)}}})
	if err != nil || codes.Code(resp.Responses[0].Status.Code) != codes.ResourceExhausted {
		t.Fatalf("oversized blob: %v, %v", resp, err)
	}

	// A restarted server knows its blobs.
	s2 := newServer(t, Options{Dir: s.Dir(), Quota: 1000})
	if st := s2.blobs.stats(); st.blobs != 3 {
		t.Errorf("after a restart: %+v", st)
	}
}

func TestUploadsAreVerified(t *testing.T) {
	s := newServer(t, Options{})
	c := serve(t, s)
	ctx := context.Background()
	good := []byte("good content")
	resp, err := c.cas.BatchUpdateBlobs(ctx, &repb.BatchUpdateBlobsRequest{Requests: []*repb.BatchUpdateBlobsRequest_Request{
		{Digest: cas.NewDigest(good).Proto(), Data: []byte("evil content")}}})
	if err != nil || codes.Code(resp.Responses[0].Status.Code) != codes.InvalidArgument {
		t.Fatalf("mismatching batch upload: %v, %v", resp, err)
	}
	// ByteStream, too long, too short and wrong.
	big := blob(3<<20, 7)
	d := cas.NewDigest(big)
	for name, data := range map[string][]byte{"long": append(bytes.Clone(big), 'x'), "short": big[:len(big)-1], "wrong": blob(3<<20, 8)} {
		err := write(c, d, data, 1<<20)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s upload: %v, want INVALID_ARGUMENT", name, err)
		}
	}
	if missing(t, c, d.Proto()) != 1 {
		t.Fatal("a refused upload was stored")
	}
	if err := write(c, d, big, 1<<20); err != nil {
		t.Fatal(err)
	}
	// Uploading it again ends at once.
	if err := write(c, d, big, 1<<20); err != nil {
		t.Fatal(err)
	}
	if got := s.metrics.rejected.Load(); got != 4 {
		t.Errorf("%d rejected uploads counted, want 4", got)
	}
	// Reads with offsets and limits.
	for _, tc := range []struct{ off, limit int64 }{{0, 0}, {5, 0}, {1 << 20, 100}, {int64(len(big)) - 1, 0}} {
		got, err := read(c, d, tc.off, tc.limit)
		want := big[tc.off:]
		if tc.limit > 0 {
			want = want[:tc.limit]
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("read %d+%d: %d bytes, %v", tc.off, tc.limit, len(got), err)
		}
	}
	q, err := c.bs.QueryWriteStatus(ctx, &bspb.QueryWriteStatusRequest{ResourceName: "uploads/x/blobs/" + d.Hash() + "/" + itoa(d.Size())})
	if err != nil || !q.Complete || q.CommittedSize != d.Size() {
		t.Errorf("QueryWriteStatus = %v, %v", q, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func writeFile(p, text string) error { return os.WriteFile(p, []byte(text), 0o600) }

func write(c *clients, d cas.Digest, data []byte, chunk int) error {
	stream, err := c.bs.Write(context.Background())
	if err != nil {
		return err
	}
	name := "inst/uploads/1234/blobs/" + d.Hash() + "/" + itoa(d.Size())
	for off := 0; off < len(data) || off == 0; off += chunk {
		end := min(off+chunk, len(data))
		req := &bspb.WriteRequest{WriteOffset: int64(off), Data: data[off:end], FinishWrite: end == len(data)}
		if off == 0 {
			req.ResourceName = name
		}
		if err := stream.Send(req); err != nil {
			break // the server closed the stream; the reason comes below
		}
		if end == len(data) {
			break
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return err
	}
	if resp.CommittedSize != d.Size() {
		return status.Errorf(codes.Internal, "committed %d", resp.CommittedSize)
	}
	return nil
}

func read(c *clients, d cas.Digest, off, limit int64) ([]byte, error) {
	stream, err := c.bs.Read(context.Background(), &bspb.ReadRequest{ResourceName: "inst/blobs/" + d.Hash() + "/" + itoa(d.Size()), ReadOffset: off, ReadLimit: limit})
	if err != nil {
		return nil, err
	}
	var out []byte
	for {
		r, err := stream.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, r.Data...)
	}
}

func dirBlob(t *testing.T, dir *repb.Directory) ([]byte, *repb.Digest) {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return data, cas.NewDigest(data).Proto()
}

func TestActionCacheAnswersCompleteResultsOnly(t *testing.T) {
	s := newServer(t, Options{})
	c := serve(t, s)
	ctx := context.Background()
	out := []byte("output file")
	outD := cas.NewDigest(out).Proto()
	stdout := []byte("stdout text")
	action := cas.NewDigest([]byte("an action")).Proto()
	res := &repb.ActionResult{OutputFiles: []*repb.OutputFile{{Path: "out", Digest: outD}}, StdoutRaw: stdout}
	_, err := c.ac.UpdateActionResult(ctx, &repb.UpdateActionResultRequest{ActionDigest: action, ActionResult: res})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("update naming a missing blob: %v", err)
	}
	upload(t, c, out)
	if _, err := c.ac.UpdateActionResult(ctx, &repb.UpdateActionResultRequest{ActionDigest: action, ActionResult: res}); err != nil {
		t.Fatal(err)
	}
	got, err := c.ac.GetActionResult(ctx, &repb.GetActionResultRequest{ActionDigest: action, InlineStdout: true, InlineOutputFiles: []string{"out"}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.StdoutRaw, stdout) || got.StdoutDigest.GetHash() != cas.NewDigest(stdout).Hash() || !bytes.Equal(got.OutputFiles[0].Contents, out) {
		t.Fatalf("result %v", got)
	}
	// Another instance has its own action cache.
	if _, err := c.ac.GetActionResult(ctx, &repb.GetActionResultRequest{InstanceName: "other", ActionDigest: action}); status.Code(err) != codes.NotFound {
		t.Fatalf("other instance: %v", err)
	}
	// An output that disappears makes the entry go.
	d, _ := cas.DigestFromProto(outD)
	s.blobs.mu.Lock()
	el := s.blobs.entries[d]
	s.blobs.mu.Unlock()
	if el == nil {
		t.Fatal("output not indexed")
	}
	s.blobs.forget(d)
	if _, err := c.ac.GetActionResult(ctx, &repb.GetActionResultRequest{ActionDigest: action}); status.Code(err) != codes.NotFound {
		t.Fatalf("incomplete result: %v", err)
	}
	if s.ac.count() != 0 {
		t.Fatal("the incomplete entry stayed")
	}
}

func TestAssets(t *testing.T) {
	s := newServer(t, Options{})
	c := serve(t, s)
	ctx := context.Background()
	file := []byte("a file")
	sub := &repb.Directory{Files: []*repb.FileNode{{Name: "f", Digest: cas.NewDigest(file).Proto()}}}
	subData, subD := dirBlob(t, sub)
	root := &repb.Directory{Directories: []*repb.DirectoryNode{{Name: "sub", Digest: subD}}}
	rootData, rootD := dirBlob(t, root)
	uri := "urn:fdc:buildstream.build:2020:source:local/abc"

	// Content first.
	_, err := c.push.PushDirectory(ctx, &rapb.PushDirectoryRequest{Uris: []string{uri}, RootDirectoryDigest: rootD})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("push of missing content: %v", err)
	}
	upload(t, c, file, subData, rootData)
	if _, err := c.push.PushDirectory(ctx, &rapb.PushDirectoryRequest{Uris: []string{uri}, RootDirectoryDigest: rootD}); err != nil {
		t.Fatal(err)
	}
	r, err := c.fetch.FetchDirectory(ctx, &rapb.FetchDirectoryRequest{Uris: []string{"urn:other", uri}})
	if err != nil || r.Status.GetCode() != 0 || r.RootDirectoryDigest.GetHash() != rootD.Hash || r.Uri != uri {
		t.Fatalf("FetchDirectory = %v, %v", r, err)
	}
	// A blob asset of the same name is another thing.
	rb, err := c.fetch.FetchBlob(ctx, &rapb.FetchBlobRequest{Uris: []string{uri}})
	if err != nil || codes.Code(rb.Status.GetCode()) != codes.NotFound {
		t.Fatalf("FetchBlob of a directory asset = %v, %v", rb, err)
	}
	// Qualifiers must match.
	r, err = c.fetch.FetchDirectory(ctx, &rapb.FetchDirectoryRequest{Uris: []string{uri}, Qualifiers: []*rapb.Qualifier{{Name: "x", Value: "y"}}})
	if err != nil || codes.Code(r.Status.GetCode()) != codes.NotFound {
		t.Fatalf("FetchDirectory with other qualifiers = %v, %v", r, err)
	}
	// Empty requests are INVALID_ARGUMENT, as BuildStream's probes expect.
	if _, err := c.fetch.FetchBlob(ctx, &rapb.FetchBlobRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("empty FetchBlob: %v", err)
	}
	if _, err := c.push.PushBlob(ctx, &rapb.PushBlobRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("empty PushBlob: %v", err)
	}
	// Expired entries are gone.
	blobURI := "urn:fdc:buildstream.build:2020:artifact:p/e/k"
	fd := cas.NewDigest(file).Proto()
	past := timestamppb.New(time.Now().Add(-time.Minute))
	if _, err := c.push.PushBlob(ctx, &rapb.PushBlobRequest{Uris: []string{blobURI}, BlobDigest: fd, ExpireAt: past}); err != nil {
		t.Fatal(err)
	}
	rb, err = c.fetch.FetchBlob(ctx, &rapb.FetchBlobRequest{Uris: []string{blobURI}})
	if err != nil || codes.Code(rb.Status.GetCode()) != codes.NotFound {
		t.Fatalf("expired asset = %v, %v", rb, err)
	}
	// GetTree gives the whole tree.
	stream, err := c.cas.GetTree(ctx, &repb.GetTreeRequest{RootDigest: rootD, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	var dirs []*repb.Directory
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, resp.Directories...)
	}
	if len(dirs) != 2 || !proto.Equal(dirs[0], root) || !proto.Equal(dirs[1], sub) {
		t.Fatalf("GetTree gave %v", dirs)
	}
	// When a file of the tree expires, the asset is no longer answered.
	s.blobs.forget(cas.MustParseDigest(fd.Hash + "/6"))
	r, err = c.fetch.FetchDirectory(ctx, &rapb.FetchDirectoryRequest{Uris: []string{uri}})
	if err != nil || codes.Code(r.Status.GetCode()) != codes.NotFound {
		t.Fatalf("incomplete asset = %v, %v", r, err)
	}
}

func TestAccess(t *testing.T) {
	s := newServer(t, Options{Tokens: NewTokens(map[string]Access{"r": ReadAccess, "p": PushAccess})})
	c := serve(t, s)
	with := func(token string) context.Context {
		if token == "" {
			return context.Background()
		}
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	}
	d := cas.NewDigest([]byte("x")).Proto()
	calls := map[string]func(ctx context.Context) error{
		"FindMissingBlobs": func(ctx context.Context) error {
			_, err := c.cas.FindMissingBlobs(ctx, &repb.FindMissingBlobsRequest{BlobDigests: []*repb.Digest{d}})
			return err
		},
		"BatchUpdateBlobs": func(ctx context.Context) error {
			_, err := c.cas.BatchUpdateBlobs(ctx, &repb.BatchUpdateBlobsRequest{Requests: []*repb.BatchUpdateBlobsRequest_Request{{Digest: d, Data: []byte("x")}}})
			return err
		},
		"UpdateActionResult": func(ctx context.Context) error {
			_, err := c.ac.UpdateActionResult(ctx, &repb.UpdateActionResultRequest{ActionDigest: d, ActionResult: &repb.ActionResult{}})
			return err
		},
		"PushBlob": func(ctx context.Context) error {
			_, err := c.push.PushBlob(ctx, &rapb.PushBlobRequest{Uris: []string{"u"}, BlobDigest: d})
			return err
		},
		"Write": func(ctx context.Context) error {
			stream, err := c.bs.Write(ctx)
			if err != nil {
				return err
			}
			stream.Send(&bspb.WriteRequest{ResourceName: "uploads/u/blobs/" + d.Hash + "/1", Data: []byte("x"), FinishWrite: true})
			_, err = stream.CloseAndRecv()
			return err
		},
	}
	for name, call := range calls {
		push := name != "FindMissingBlobs"
		for _, tc := range []struct {
			token string
			want  codes.Code
		}{{"", codes.Unauthenticated}, {"wrong", codes.Unauthenticated}, {"r", codes.OK}, {"p", codes.OK}} {
			want := tc.want
			if push && tc.token == "r" {
				want = codes.PermissionDenied
			}
			got := status.Code(call(with(tc.token)))
			if want == codes.OK && got != codes.Unauthenticated && got != codes.PermissionDenied {
				got = codes.OK // allowed; the call itself may fail (a PushBlob before its blob is there)
			}
			if got != want {
				t.Errorf("%s with token %q: %s, want %s", name, tc.token, got, want)
			}
		}
	}
	for token, want := range map[string]bool{"r": false, "p": true} {
		caps, err := c.caps.GetCapabilities(with(token), &repb.GetCapabilitiesRequest{})
		if err != nil || caps.CacheCapabilities.ActionCacheUpdateCapabilities.UpdateEnabled != want {
			t.Errorf("capabilities for %q: %v, %v", token, caps, err)
		}
	}
	// Health checks need no token.
	h, err := c.health.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v, %v", h, err)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	s := newServer(t, Options{Quota: 1 << 20})
	c := serve(t, s)
	upload(t, c, []byte("some bytes"))
	rec := httptest.NewRecorder()
	s.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`bst_server_requests_total{method="/build.bazel.remote.execution.v2.ContentAddressableStorage/BatchUpdateBlobs",code="OK"} 1`,
		"bst_server_received_bytes_total 10",
		"bst_server_stored_blobs 1",
		"bst_server_quota_bytes 1048576",
		"# TYPE bst_server_stored_bytes gauge",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	rec = httptest.NewRecorder()
	s.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 || rec.Body.String() != "ok\n" {
		t.Errorf("healthz: %d %q", rec.Code, rec.Body.String())
	}
}

func TestLoadTokens(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/tokens"
	text := "# comment\n\nread alpha\npush sha256:" + strings.Repeat("0", 64) + "\npush beta\n"
	if err := writeFile(p, text); err != nil {
		t.Fatal(err)
	}
	tk, err := LoadTokens(p)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := tk.lookup("alpha"); !ok || a != ReadAccess {
		t.Errorf("alpha: %v %v", a, ok)
	}
	if a, ok := tk.lookup("beta"); !ok || a != PushAccess {
		t.Errorf("beta: %v %v", a, ok)
	}
	for _, bad := range []string{"write gamma\n", "push\n", "push sha256:12\n", "read a b\n"} {
		writeFile(p, bad)
		_, err := LoadTokens(p)
		if err == nil || !strings.Contains(err.Error(), ":1:") {
			t.Errorf("%q: %v", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "gamma") {
			t.Errorf("the error shows the token: %v", err)
		}
	}
}
