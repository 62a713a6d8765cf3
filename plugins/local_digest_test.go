package plugins

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/bstgo/bst/cas"
)

// localDigest must give cas.DirectoryDigest's digests: they are local
// sources' keys.
func TestLocalDigestMatchesCAS(t *testing.T) {
	root := t.TempDir()
	write := func(rel string, data []byte, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("tree/a.txt", []byte("a\n"), 0o644)
	write("tree/empty", nil, 0o644)
	write("tree/run.sh", []byte("#!/bin/sh\n"), 0o755)
	write("tree/group-exec", []byte("x"), 0o654) // only the owner's bit counts
	write("tree/sub/deeper/big", bytes.Repeat([]byte("0123456789abcdef"), 20000), 0o644)
	write("tree/sub/B", []byte("upper case sorts first"), 0o600)
	write("tree/sub/a", []byte("a"), 0o644)
	write("tree/z/file", []byte("z"), 0o644)
	if err := os.MkdirAll(filepath.Join(root, "tree/emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"tree/link", "a.txt"}, {"tree/sub/dangling", "../nowhere"}, {"toplink", "tree"}} {
		if err := os.Symlink(l[1], filepath.Join(root, l[0])); err != nil {
			t.Fatal(err)
		}
	}
	for _, rel := range []string{"tree", "tree/sub", "tree/emptydir", "tree/a.txt", "tree/run.sh", "tree/empty",
		"tree/link", "toplink", "tree/sub/deeper/big", "."} {
		path := filepath.Join(root, rel)
		want, err := cas.DirectoryDigest(path)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		got, err := localDigest(path)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if got != want {
			t.Errorf("%s: localDigest %s, cas.DirectoryDigest %s", rel, got, want)
		}
	}
	if _, err := localDigest(filepath.Join(root, "missing")); err == nil {
		t.Error("a missing path has a digest")
	}
}
