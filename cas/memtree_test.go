package cas

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func captureSpec(t *testing.T, s *LocalStore, spec map[string]string) Digest {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, spec)
	d, err := s.CaptureTree(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func stageDescribe(t *testing.T, s *LocalStore, d Digest) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "out")
	if err := s.StageTree(context.Background(), d, dst, StageOptions{}); err != nil {
		t.Fatal(err)
	}
	return describeTree(t, dst)
}

func TestTreeImportMerges(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	a := captureSpec(t, s, map[string]string{"usr/bin/a*": "a", "usr/lib/liba.so": "la", "etc/conf": "one", "opt/": ""})
	b := captureSpec(t, s, map[string]string{"usr/bin/b": "b", "etc/conf": "two", "opt/x": "x"})
	tr := s.NewTree()
	if _, err := tr.Import(ctx, a, "/", nil); err != nil {
		t.Fatal(err)
	}
	res, err := tr.Import(ctx, b, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Overwritten, " "); got != "etc/conf" {
		t.Errorf("Overwritten = %q", got)
	}
	if got := strings.Join(res.Written, " "); got != "etc/conf opt/x usr/bin/b" {
		t.Errorf("Written = %q", got)
	}
	d, err := tr.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := captureSpec(t, s, map[string]string{"usr/bin/a*": "a", "usr/bin/b": "b", "usr/lib/liba.so": "la", "etc/conf": "two", "opt/x": "x"})
	if d != want {
		t.Errorf("merged tree:\n%s\nwant:\n%s", stageDescribe(t, s, d), stageDescribe(t, s, want))
	}
	// Importing at a sub-directory, and taking a subtree back.
	tr2 := s.NewTree()
	if _, err := tr2.Import(ctx, a, "/sysroot/x", nil); err != nil {
		t.Fatal(err)
	}
	if sub, err := tr2.Subtree(ctx, "sysroot/x"); err != nil || sub != a {
		t.Errorf("Subtree = %s, %v; want %s", sub, err, a)
	}
}

func TestTreeImportConflicts(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	withLink := captureSpec(t, s, map[string]string{"lib": "-> usr/lib", "usr/lib/": ""})
	withDir := captureSpec(t, s, map[string]string{"lib/libc.so": "c"})
	tr := s.NewTree()
	tr.Import(ctx, withLink, "/", nil)
	if _, err := tr.Import(ctx, withDir, "/", nil); err == nil || !strings.Contains(err.Error(), "symlink is in the way") {
		t.Errorf("directory over a symlink: %v", err)
	}
	// A file meeting a non-empty directory is ignored.
	full := captureSpec(t, s, map[string]string{"x/y": "y"})
	file := captureSpec(t, s, map[string]string{"x": "file"})
	tr = s.NewTree()
	tr.Import(ctx, full, "/", nil)
	res, err := tr.Import(ctx, file, "/", nil)
	if err != nil || strings.Join(res.Ignored, " ") != "x" {
		t.Errorf("file over a directory: %+v, %v", res, err)
	}
}

func TestTreeImportFilters(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	a := captureSpec(t, s, map[string]string{"usr/include/a.h": "h", "usr/lib/liba.so": "so", "usr/share/doc/a/README": "r"})
	tr := s.NewTree()
	keep := func(p string) bool { return strings.HasPrefix(p, "usr/lib") }
	if _, err := tr.Import(ctx, a, "/", keep); err != nil {
		t.Fatal(err)
	}
	d, _ := tr.Digest(ctx)
	if got := stageDescribe(t, s, d); got != "usr/\nusr/lib/\nusr/lib/liba.so = \"so\"" {
		t.Errorf("filtered tree:\n%s", got)
	}
}
