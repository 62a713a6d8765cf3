package cas_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/cas/server"
)

// testBlobStore is the conformance suite every cas.BlobStore passes: the
// local store and a remote (through bst's cache server).
func testBlobStore(t *testing.T, s cas.BlobStore) {
	ctx := context.Background()
	small := []byte("a small blob")
	big := bytes.Repeat([]byte("0123456789abcdef"), 6<<20/16+3) // over the batch limit
	ds, db := cas.NewDigest(small), cas.NewDigest(big)

	t.Run("missing", func(t *testing.T) {
		missing, err := s.FindMissing(ctx, []cas.Digest{ds, db})
		if err != nil {
			t.Fatal(err)
		}
		if len(missing) != 2 || missing[0] != ds || missing[1] != db {
			t.Fatalf("FindMissing = %v, want [%s %s]", missing, ds, db)
		}
		if _, err := s.Open(ctx, ds); err == nil {
			t.Fatal("Open of a missing blob succeeded")
		}
	})
	t.Run("refuses content that is not its digest", func(t *testing.T) {
		for _, d := range []cas.Digest{ds, db} {
			err := s.Put(ctx, d, bytes.NewReader(append([]byte("x"), small...)))
			if err == nil {
				t.Fatalf("Put of the wrong content under %s succeeded", d)
			}
			missing, err := s.FindMissing(ctx, []cas.Digest{d})
			if err != nil || len(missing) != 1 {
				t.Fatalf("after a refused Put, FindMissing = %v, %v; want it missing", missing, err)
			}
		}
	})
	t.Run("round trip", func(t *testing.T) {
		for _, data := range [][]byte{small, big} {
			d := cas.NewDigest(data)
			if err := s.Put(ctx, d, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			// Again: storing what is there is fine.
			if err := s.Put(ctx, d, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			rc, err := s.Open(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("Open(%s) read %d bytes, %v", d, len(got), err)
			}
		}
		missing, err := s.FindMissing(ctx, []cas.Digest{ds, db})
		if err != nil || len(missing) != 0 {
			t.Fatalf("FindMissing after Put = %v, %v", missing, err)
		}
	})
	t.Run("empty blob", func(t *testing.T) {
		if err := s.Put(ctx, cas.EmptyDigest, strings.NewReader("")); err != nil {
			t.Fatal(err)
		}
		rc, err := s.Open(ctx, cas.EmptyDigest)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || len(got) != 0 {
			t.Fatalf("empty blob read %q, %v", got, err)
		}
	})
}

func TestBlobStoreLocal(t *testing.T) {
	s, err := cas.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	testBlobStore(t, s)
}

func TestBlobStoreRemote(t *testing.T) {
	srv := startServer(t, server.Options{})
	r, err := cas.DialRemote(spec(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	testBlobStore(t, r)
	// A remote refusing a blob says so as a gRPC INVALID_ARGUMENT, inside
	// a RemoteError.
	err = r.Put(context.Background(), cas.NewDigest([]byte("abc")), strings.NewReader("abd"))
	var mm *cas.BlobMismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("client-side check: got %v, want a BlobMismatchError", err)
	}
}
