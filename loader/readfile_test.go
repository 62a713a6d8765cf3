//go:build unix

package loader

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFileReaderPrefetch reads files of every kind through a batch read
// ahead and one by one, and expects what os.ReadFile gives: contents, and
// errors of the same operation and reason.
func TestFileReaderPrefetch(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := bytes.Repeat([]byte(name+"\n"), size/(len(name)+1)+1)[:size]
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	paths := []string{
		write("a.bst", 120),
		write("sub/b.bst", 700),
		write("empty.bst", 0),
		write("slot.bst", 4096), // fills a ring slot exactly
		write("big.bst", 10000), // longer than a slot
		filepath.Join(dir, "missing.bst"),
		filepath.Join(dir, "sub"), // a directory: the read fails
		write("sub/deeper/c.bst", 33),
	}
	unreadable := write("unreadable.bst", 10)
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 { // root reads it anyway
		paths = append(paths, unreadable)
	}
	for _, ring := range []bool{true, false} {
		t.Run(map[bool]string{true: "ring", false: "plain"}[ring], func(t *testing.T) {
			uringTest.Lock()
			uringTest.off = !ring
			uringTest.Unlock()
			defer func() {
				uringTest.Lock()
				uringTest.off = false
				uringTest.Unlock()
			}()
			var r fileReader
			defer r.close()
			for round := range 3 { // the ring and its buffers are reused
				r.prefetch(paths)
				if ring && round == 0 && len(r.fetched) == 0 && !uringRefused.Load() {
					t.Fatal("nothing read ahead, yet the kernel gave a ring")
				}
				for _, p := range paths {
					got, err := r.read(p)
					want, wantErr := os.ReadFile(p)
					if !sameError(err, wantErr) {
						t.Fatalf("%s: error %v, want %v", p, err, wantErr)
					}
					if err == nil && !bytes.Equal(got, want) {
						t.Fatalf("%s: read %d bytes %q..., want %d bytes", p, len(got), head(got), len(want))
					}
				}
			}
		})
	}
}

// sameError reports whether two errors of reading a file are alike: both
// nil, or path errors of the same operation and reason.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var pa, pb *fs.PathError
	if !errors.As(a, &pa) || !errors.As(b, &pb) {
		return false
	}
	var ea, eb syscall.Errno
	return pa.Op == pb.Op && pa.Path == pb.Path && errors.As(a, &ea) && errors.As(b, &eb) && ea == eb
}

func head(b []byte) string { return strings.ToValidUTF8(string(b[:min(len(b), 16)]), "?") }
