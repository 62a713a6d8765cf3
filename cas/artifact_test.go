package cas

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bstgo/bst/cas/artifactpb"
)

func TestNormalNameAndRefs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"hello.bst", "hello"},
		{"base/alpine.bst", "base-alpine"},
		{"a b+c.bst", "a_b_c"},
		{"junction.bst:lib.bst", "junction.bst_lib"},
		{"dots.in.name.bst", "dots.in.name"},
	} {
		if got := NormalName(tc.in); got != tc.want {
			t.Errorf("NormalName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := ArtifactRef("proj", "base/alpine.bst", "abc"); got != "proj/base-alpine/abc" {
		t.Errorf("ArtifactRef = %q", got)
	}
	for _, bad := range []string{"a/b", "a/../b/c", "a/b/c/d", "/a/b", "a//b"} {
		if err := checkRef(bad); err == nil {
			t.Errorf("checkRef(%q) accepted it", bad)
		}
	}
}

// makeArtifact captures a tree of size bytes and records an artifact of
// it under the given refs.
func makeArtifact(t *testing.T, c *ArtifactCache, content string, refs ...string) *artifactpb.Artifact {
	t.Helper()
	ctx := context.Background()
	src := t.TempDir()
	writeTree(t, src, map[string]string{"data": content, "dir/other": content + "!"})
	files, err := c.Store().CaptureTree(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := c.Store().PutBytes(ctx, []byte("bst: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := &artifactpb.Artifact{Version: ArtifactVersion, BuildSuccess: true, Files: files.Proto(), PublicData: pub.Proto()}
	if err := c.Put(ctx, a, refs...); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestArtifactPutGetDelete(t *testing.T) {
	c := NewArtifactCache(openStore(t))
	a := makeArtifact(t, c, "hello", "p/e/strong", "p/e/weak")
	for _, ref := range []string{"p/e/strong", "p/e/weak"} {
		got, err := c.Get(ref)
		if err != nil || got.GetFiles().GetHash() != a.GetFiles().GetHash() {
			t.Fatalf("Get(%s) = %v, %v", ref, got, err)
		}
	}
	if refs, _ := c.List(); strings.Join(refs, " ") != "p/e/strong p/e/weak" {
		t.Errorf("List = %v", refs)
	}
	if err := c.Delete("p/e/strong"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("p/e/strong"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete = %v", err)
	}
	if err := c.Delete("p/e/strong"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v", err)
	}
}

func TestArtifactPutRefusesMissingObjects(t *testing.T) {
	c := NewArtifactCache(openStore(t))
	missing := NewDigest([]byte("never stored"))
	a := &artifactpb.Artifact{Version: ArtifactVersion, Files: missing.Proto()}
	if err := c.Put(context.Background(), a, "p/e/k"); err == nil {
		t.Fatal("Put recorded an artifact whose files are not stored")
	}
	if c.Contains("p/e/k") {
		t.Fatal("a ref was written")
	}
}

func TestExpiryRemovesLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	c := NewArtifactCache(s)
	big := strings.Repeat("x", 64<<10)
	old := time.Now().Add(-time.Hour)
	for i := range 5 {
		ref := fmt.Sprintf("p/e%d/k", i)
		makeArtifact(t, c, fmt.Sprintf("%d%s", i, big), ref)
		ts := old.Add(time.Duration(i) * time.Minute)
		os.Chtimes(c.refPath(ref), ts, ts)
	}
	// e0 is the oldest but in use: it must survive.
	keep := func(_ RefSpace, ref string) bool { return ref == "p/e0/k" }
	usage, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	// A quota that the five artifacts exceed: expiry cleans down to 80%
	// of it.
	s.SetLimits(Limits{Quota: usage * 3 / 4})
	res, err := s.MaybeExpire(ctx, keep)
	if err != nil {
		t.Fatal(err)
	}
	if res.Refs == 0 || res.Objects == 0 {
		t.Fatalf("nothing expired: %+v", res)
	}
	refs, _ := c.List()
	have := strings.Join(refs, " ")
	if !strings.Contains(have, "p/e0/k") || !strings.Contains(have, "p/e4/k") {
		t.Errorf("kept %q: want the needed e0 and the newest e4", have)
	}
	if strings.Contains(have, "p/e1/k") {
		t.Errorf("kept %q: e1, the least recently used, should be gone", have)
	}
	after, _ := s.Usage()
	if after > usage*3/4*8/10 {
		t.Errorf("usage %d after expiry, want at most %d", after, usage*3/4*8/10)
	}
	// What remains is whole.
	for _, ref := range refs {
		a, err := c.Get(ref)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := DigestFromProto(a.Files)
		if err := s.StageTree(ctx, d, t.TempDir()+"/x", StageOptions{}); err != nil {
			t.Errorf("%s after expiry: %v", ref, err)
		}
	}
	// Under quota now: nothing more goes.
	if res, err := s.MaybeExpire(ctx, keep); err != nil || res.Refs != 0 {
		t.Errorf("second expiry = %+v, %v", res, err)
	}
}

func TestArtifactSuccess(t *testing.T) {
	c := NewArtifactCache(openStore(t))
	makeArtifact(t, c, "ok", "p/ok/k")
	a := makeArtifact(t, c, "bad", "p/bad/k")
	a.BuildSuccess = false
	a.BuildError = "it broke"
	if err := c.Put(context.Background(), a, "p/bad/k"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref            string
		found, success bool
	}{{"p/ok/k", true, true}, {"p/bad/k", true, false}, {"p/none/k", false, false}} {
		found, success, err := c.Success(tc.ref)
		if err != nil || found != tc.found || success != tc.success {
			t.Errorf("Success(%s) = %v, %v, %v", tc.ref, found, success, err)
		}
	}
}
