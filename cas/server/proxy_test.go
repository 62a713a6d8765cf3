package server

import (
	"bytes"
	"context"
	"net"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/bstgo/bst/cas"
)

// TestProxy: blobs and action results written through a proxy land in
// the remote cache under the remote's instance name, whatever instance
// the caller names; updates are refused unless allowed; what the remote
// holds is read back through it.
func TestProxy(t *testing.T) {
	s, err := New(Options{Dir: t.TempDir(), Anonymous: PushAccess})
	if err != nil {
		t.Fatal(err)
	}
	backend := serve(t, s)
	ctx := context.Background()

	var conns []*grpc.ClientConn
	proxy := func(update bool) (*cas.Remote, *grpc.ClientConn) {
		g := NewProxy(ProxyOptions{CAS: backend.conn, CASInstance: "main", AC: backend.conn, ACInstance: "main", ACUpdate: update})
		l, err := net.Listen("unix", t.TempDir()+"/p.sock")
		if err != nil {
			t.Fatal(err)
		}
		go g.Serve(l)
		t.Cleanup(g.Stop)
		r, err := cas.DialRemote(cas.RemoteSpec{URL: "unix:" + l.Addr().String(), InstanceName: "nested", Type: cas.RemoteStorage, Push: true, RetryLimit: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		conn, err := grpc.NewClient("unix:"+l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		return r, conn
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	r, conn := proxy(true)
	small, big := []byte("compiled by recc"), bytes.Repeat([]byte("object code "), 1<<20)
	for _, blob := range [][]byte{small, big} {
		d := cas.NewDigest(blob)
		if err := r.Put(ctx, d, bytes.NewReader(blob)); err != nil {
			t.Fatalf("writing %s through the proxy: %v", d, err)
		}
		if missing, err := r.FindMissing(ctx, []cas.Digest{d}); err != nil || len(missing) != 0 {
			t.Fatalf("FindMissing through the proxy: %v, %v", missing, err)
		}
		resp, err := backend.cas.FindMissingBlobs(ctx, &repb.FindMissingBlobsRequest{InstanceName: "main", BlobDigests: []*repb.Digest{d.Proto()}})
		if err != nil || len(resp.MissingBlobDigests) != 0 {
			t.Fatalf("the blob is not in the remote: %v, %v", resp, err)
		}
		rc, err := r.Open(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		_, err = got.ReadFrom(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got.Bytes(), blob) {
			t.Fatalf("read back %d bytes, %v", got.Len(), err)
		}
	}

	ac := repb.NewActionCacheClient(conn)
	action := cas.NewDigest([]byte("an action"))
	ar := &repb.ActionResult{ExitCode: 0, StdoutDigest: cas.NewDigest(small).Proto()}
	if _, err := ac.UpdateActionResult(ctx, &repb.UpdateActionResultRequest{InstanceName: "nested", ActionDigest: action.Proto(), ActionResult: ar}); err != nil {
		t.Fatalf("UpdateActionResult through the proxy: %v", err)
	}
	if _, err := backend.ac.GetActionResult(ctx, &repb.GetActionResultRequest{InstanceName: "main", ActionDigest: action.Proto()}); err != nil {
		t.Fatalf("the action result is not in the remote under its instance: %v", err)
	}

	_, roConn := proxy(false)
	ro := repb.NewActionCacheClient(roConn)
	if _, err := ro.GetActionResult(ctx, &repb.GetActionResultRequest{ActionDigest: action.Proto()}); err != nil {
		t.Fatalf("GetActionResult through a read-only proxy: %v", err)
	}
	_, err = ro.UpdateActionResult(ctx, &repb.UpdateActionResultRequest{ActionDigest: action.Proto(), ActionResult: ar})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a read-only proxy's UpdateActionResult: %v, want PERMISSION_DENIED", err)
	}
	caps, err := repb.NewCapabilitiesClient(roConn).GetCapabilities(ctx, &repb.GetCapabilitiesRequest{})
	if err != nil || caps.GetCacheCapabilities().GetActionCacheUpdateCapabilities().GetUpdateEnabled() {
		t.Fatalf("a read-only proxy's capabilities: %v, %v", caps, err)
	}
}
