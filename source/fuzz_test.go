package source

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzExtractTar feeds arbitrary bytes to ExtractTar: it must not panic,
// and nothing may appear outside the staging directory.
func FuzzExtractTar(f *testing.F) {
	add := func(entries ...tarEntry) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range entries {
			typ := e.typ
			if typ == 0 {
				typ = tar.TypeReg
			}
			h := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: 0o755}
			if typ == tar.TypeReg {
				h.Size = int64(len(e.body))
			}
			tw.WriteHeader(h)
			tw.Write([]byte(e.body))
		}
		tw.Close()
		f.Add(buf.Bytes(), "*")
	}
	add(tarEntry{name: "a/b", body: "x"}, tarEntry{name: "a/l", typ: tar.TypeSymlink, link: "../../x"})
	add(tarEntry{name: "d", typ: tar.TypeSymlink, link: "/"}, tarEntry{name: "d/etc/x", body: "y"})
	add(tarEntry{name: "x/h", typ: tar.TypeLink, link: "x/h"}, tarEntry{name: "./", typ: tar.TypeDir})
	f.Fuzz(func(t *testing.T, data []byte, base string) {
		// Resource exhaustion (sparse files of terabytes) is not what
		// this looks for: skip archives declaring big files.
		if dr, err := Decompress(bytes.NewReader(data)); err == nil {
			tr := tar.NewReader(io.LimitReader(dr, 1<<20))
			for {
				h, err := tr.Next()
				if err != nil {
					break
				}
				if h.Size > 1<<20 {
					dr.Close()
					return
				}
			}
			dr.Close()
		}
		parent := t.TempDir()
		dest := filepath.Join(parent, "dest")
		os.Mkdir(dest, 0o755)
		ExtractTar(context.Background(), bytes.NewReader(data), dest, ExtractOptions{BaseDir: base})
		ents, _ := os.ReadDir(parent)
		if len(ents) != 1 {
			t.Fatalf("something was written outside the staging directory: %v", ents)
		}
	})
}

// FuzzPatch parses arbitrary diffs and applies them to a small tree: no
// panics, and a result only through the store.
func FuzzPatch(f *testing.F) {
	f.Add("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n", 1)
	f.Add("diff --git a/f b/g\nrename from f\nrename to g\n", 1)
	f.Add("--- /dev/null\n+++ b/n\n@@ -0,0 +1 @@\n+x\n\\ No newline at end of file\n", 0)
	store := testStore(f)
	root := capture(f, store, map[string]string{"f": "a\nb\n", "d/e": "e\n"})
	f.Fuzz(func(t *testing.T, diff string, strip int) {
		p, err := ParsePatch([]byte(diff))
		if err != nil {
			return
		}
		p.Apply(context.Background(), store, root, strip%4)
	})
}
