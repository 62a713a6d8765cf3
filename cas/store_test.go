package cas

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// writeTree creates files under dir from a spec: "path" → content, with a
// trailing "*" on the path for executables, "-> target" content for
// symlinks and a trailing "/" for empty directories.
func writeTree(t testing.TB, dir string, spec map[string]string) {
	t.Helper()
	for p, content := range spec {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, "*") {
			p, mode = strings.TrimSuffix(p, "*"), 0o755
		}
		full := filepath.Join(dir, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "-> "); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// describeTree renders a host tree in the spec's terms, sorted, for
// comparisons.
func describeTree(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case rel == ".":
		case info.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			lines = append(lines, rel+" -> "+target)
		case info.IsDir():
			lines = append(lines, rel+"/")
		default:
			data, _ := os.ReadFile(p)
			x := ""
			if info.Mode()&0o100 != 0 {
				x = "*"
			}
			lines = append(lines, fmt.Sprintf("%s%s = %q", rel, x, data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

var sampleTree = map[string]string{
	"usr/bin/hello*":       "#!/bin/sh\necho hello\n",
	"usr/bin/goodbye":      "-> hello",
	"usr/share/doc/README": "read me\n",
	"etc/hello.conf":       "greeting = hi\n",
	"etc/copy.conf":        "greeting = hi\n", // same content as hello.conf
	"var/empty/":           "",
	"dangling":             "-> /nowhere/at/all",
}

func openStore(t testing.TB) *LocalStore {
	t.Helper()
	s, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCaptureAndStageRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	src := t.TempDir()
	writeTree(t, src, sampleTree)

	d, err := s.CaptureTree(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	// The digest is the one computing the tree without storing gives,
	// which BuildStream's local source keys are checked against.
	if want, err := DirectoryDigest(src); err != nil || d != want {
		t.Fatalf("CaptureTree = %s, DirectoryDigest = %s (%v)", d, want, err)
	}
	// Capturing again stores nothing new and gives the same digest.
	if again, err := s.CaptureTree(ctx, src); err != nil || again != d {
		t.Fatalf("second capture = %s, %v", again, err)
	}

	for _, opts := range []StageOptions{{}, {Copy: true}} {
		dst := filepath.Join(t.TempDir(), "staged")
		if err := s.StageTree(ctx, d, dst, opts); err != nil {
			t.Fatalf("StageTree(%+v): %v", opts, err)
		}
		if got, want := describeTree(t, dst), describeTree(t, src); got != want {
			t.Errorf("StageTree(%+v) gave\n%s\nwant\n%s", opts, got, want)
		}
		info, err := os.Stat(filepath.Join(dst, "etc/hello.conf"))
		if err != nil {
			t.Fatal(err)
		}
		writable := info.Mode().Perm()&0o200 != 0
		if writable != opts.Copy {
			t.Errorf("StageTree(%+v): etc/hello.conf has mode %v", opts, info.Mode())
		}
	}
}

func TestStagedCopiesDoNotTouchTheStore(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	src := t.TempDir()
	writeTree(t, src, sampleTree)
	d, err := s.CaptureTree(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "w")
	if err := s.StageTree(ctx, d, dst, StageOptions{Copy: true}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "etc/hello.conf"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(t.TempDir(), "again")
	if err := s.StageTree(ctx, d, again, StageOptions{}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(again, "etc/hello.conf")); string(data) != "greeting = hi\n" {
		t.Fatalf("store object changed through a copy: %q", data)
	}
}

// corruptObject rewrites the stored object holding content.
func corruptObject(t *testing.T, s *LocalStore, content, replacement string) string {
	t.Helper()
	p := s.ObjectPath(NewDigest([]byte(content)))
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(replacement), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCorruptedObjectsAreNeverStaged(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, replacement string
	}{
		{"same size", "greeting = ho\n"},
		{"other size", "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			src := t.TempDir()
			writeTree(t, src, sampleTree)
			d, err := s.CaptureTree(ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			obj := corruptObject(t, s, "greeting = hi\n", tc.replacement)
			for _, opts := range []StageOptions{{}, {Copy: true}} {
				dst := filepath.Join(t.TempDir(), "staged")
				err := s.StageTree(ctx, d, dst, opts)
				var ce *CorruptError
				if !errors.As(err, &ce) && !errors.Is(err, ErrNotFound) {
					t.Fatalf("StageTree(%+v) = %v, want a CorruptError", opts, err)
				}
				for _, f := range []string{"etc/hello.conf", "etc/copy.conf"} {
					if data, err := os.ReadFile(filepath.Join(dst, f)); err == nil && string(data) == tc.replacement {
						t.Errorf("StageTree(%+v) staged the corrupted %s", opts, f)
					}
				}
			}
			if _, err := os.Stat(obj); !os.IsNotExist(err) {
				t.Errorf("the corrupted object is still there: %v", err)
			}
			// Capturing the tree again repairs the store.
			if _, err := s.CaptureTree(ctx, src); err != nil {
				t.Fatal(err)
			}
			if err := s.StageTree(ctx, d, filepath.Join(t.TempDir(), "ok"), StageOptions{}); err != nil {
				t.Fatalf("after repair: %v", err)
			}
		})
	}
}

func TestReadBlobVerifies(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	d, err := s.PutBytes(ctx, []byte("some blob"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadBlob(ctx, d); err != nil || string(got) != "some blob" {
		t.Fatalf("ReadBlob = %q, %v", got, err)
	}
	corruptObject(t, s, "some blob", "some blub")
	var ce *CorruptError
	if _, err := s.ReadBlob(ctx, d); !errors.As(err, &ce) {
		t.Fatalf("ReadBlob of a corrupted blob = %v", err)
	}
	if _, err := s.ReadBlob(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadBlob after the corrupted blob was removed = %v", err)
	}
}

func TestPutChecksContent(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	d := NewDigest([]byte("right"))
	if err := s.Put(ctx, d, strings.NewReader("wrong")); err == nil {
		t.Fatal("Put accepted content that does not match its digest")
	}
	if s.Has(d) {
		t.Fatal("a mismatching Put left an object")
	}
	if err := s.Put(ctx, d, strings.NewReader("right")); err != nil || !s.Has(d) {
		t.Fatalf("Put = %v", err)
	}
	rc, err := s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(rc); err != nil || b.String() != "right" {
		t.Fatalf("Open read %q, %v", b.String(), err)
	}
	rc.Close()
	if ents, _ := os.ReadDir(s.tmp); len(ents) != 0 {
		t.Fatalf("temporary files left: %v", ents)
	}
}

func TestStageRefusesBadTrees(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	blob, _ := s.PutBytes(ctx, []byte("x"))
	for _, name := range []string{"..", ".", "a/b", ""} {
		data := encodeDir(t, name, blob)
		d, err := s.PutBytes(ctx, data)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(t.TempDir(), "d")
		if err := s.StageTree(ctx, d, dst, StageOptions{}); err == nil {
			t.Errorf("a directory with an entry named %q was staged", name)
		}
	}
	src := t.TempDir()
	writeTree(t, src, map[string]string{"f": "x"})
	d, _ := s.CaptureTree(ctx, src)
	notEmpty := t.TempDir()
	writeTree(t, notEmpty, map[string]string{"already": "here"})
	if err := s.StageTree(ctx, d, notEmpty, StageOptions{}); err == nil {
		t.Error("staged into a directory that is not empty")
	}
}

func TestConcurrentCaptures(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	src := t.TempDir()
	spec := map[string]string{}
	for i := range 200 {
		spec[fmt.Sprintf("d%d/f%d", i%7, i)] = strings.Repeat("x", i)
	}
	writeTree(t, src, spec)
	want, _ := DirectoryDigest(src)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine opens its own store on the same directory,
			// as separate processes would.
			s2, err := OpenLocal(s.Root())
			if err == nil {
				var d Digest
				d, err = s2.CaptureTree(ctx, src)
				if err == nil && d != want {
					err = fmt.Errorf("got %s, want %s", d, want)
				}
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.StageTree(ctx, want, filepath.Join(t.TempDir(), "x"), StageOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestCaptureRefusesSpecialFiles(t *testing.T) {
	src := t.TempDir()
	if err := mkfifo(filepath.Join(src, "pipe")); err != nil {
		t.Skip("cannot make a fifo here:", err)
	}
	_, err := openStore(t).CaptureTree(context.Background(), src)
	if err == nil || !strings.Contains(err.Error(), "unsupported file type") {
		t.Fatalf("CaptureTree of a fifo = %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"infinity", -1, false},
		{"0", 0, false},
		{"1024", 1024, false},
		{"10K", 10 << 10, false},
		{"3M", 3 << 20, false},
		{"2G", 2 << 30, false},
		{"1T", 1 << 40, false},
		{"50%", 500, false},
		{"100%", 1000, false},
		{"101%", 0, true},
		{"10Q", 0, true},
		{"-5", 0, true},
		{"", 0, true},
		{"lots", 0, true},
	} {
		got, err := ParseSize(tc.in, 1000)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
	for _, tc := range []struct {
		in   string
		want float64
		bad  bool
	}{{"80%", 0.8, false}, {"0%", 0, false}, {"100%", 1, false}, {"80", 0, true}, {"120%", 0, true}} {
		got, err := ParsePercentage(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParsePercentage(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestCaptureSingleFile(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"tool*": "#!/bin/sh\n"})
	p := filepath.Join(dir, "tool")
	d, err := openStore(t).CaptureTree(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := DirectoryDigest(p); d != want {
		t.Fatalf("CaptureTree(file) = %s, DirectoryDigest = %s", d, want)
	}
}
