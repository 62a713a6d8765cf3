package source

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	dsbzip2 "github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// tarEntry describes one entry of a test archive.
type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func makeTar(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func extract(t *testing.T, data []byte, baseDir string) (string, []string, error) {
	t.Helper()
	dest := t.TempDir()
	var warnings []string
	root, err := ExtractTar(context.Background(), bytes.NewReader(data), dest, ExtractOptions{
		BaseDir: baseDir, Warn: func(m string) { warnings = append(warnings, m) },
	})
	return root, warnings, err
}

// tree describes a directory: "path" for directories, "path=content" for
// files (with "*" after the name for executables), "path->target" for
// symlinks.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+"->"+target)
		case info.IsDir():
			out = append(out, rel+"/")
		default:
			data, _ := os.ReadFile(p)
			if info.Mode()&0o100 != 0 {
				rel += "*"
			}
			if info.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
				rel += "(setuid)"
			}
			out = append(out, rel+"="+string(data))
		}
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestExtractTarBaseDir(t *testing.T) {
	data := makeTar(t,
		tarEntry{name: "foo-1.0/", typ: tar.TypeDir, mode: 0o755},
		tarEntry{name: "foo-1.0/a.txt", body: "a"},
		tarEntry{name: "foo-1.0/bin/run", body: "#!/bin/sh", mode: 0o755},
		tarEntry{name: "foo-1.0/abs", typ: tar.TypeSymlink, link: "/usr/lib/x"},
		tarEntry{name: "foo-1.0/rel", typ: tar.TypeSymlink, link: "bin/../a.txt"},
		tarEntry{name: "foo-1.0/hard", typ: tar.TypeLink, link: "foo-1.0/a.txt"},
		tarEntry{name: "other/z", body: "z"},
	)
	root, _, err := extract(t, data, "*")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tree(t, root), "a.txt=a abs->/usr/lib/x bin/ bin/run*=#!/bin/sh hard=a rel->bin/../a.txt"; got != want {
		t.Errorf("base-dir '*':\n got %s\nwant %s", got, want)
	}
	// An explicit base-dir, and none.
	root, _, err = extract(t, data, "oth*")
	if err != nil || tree(t, root) != "z=z" {
		t.Errorf("base-dir 'oth*': %s %v", tree(t, root), err)
	}
	root, _, err = extract(t, data, "")
	if err != nil || !strings.Contains(tree(t, root), "foo-1.0/a.txt=a") || !strings.Contains(tree(t, root), "other/z=z") {
		t.Errorf("no base-dir: %s %v", tree(t, root), err)
	}
	if _, _, err := extract(t, data, "nomatch*"); err == nil || !strings.Contains(err.Error(), "could not find base directory matching pattern: nomatch*") {
		t.Errorf("no match: %v", err)
	}
}

// Directories implied by file paths count as base-dir candidates, and a
// leading "./" is ignored, as in BuildStream.
func TestExtractTarImpliedAndDotSlash(t *testing.T) {
	data := makeTar(t, tarEntry{name: "./b/x", body: "x"}, tarEntry{name: "./a/y", body: "y"})
	root, _, err := extract(t, data, "*")
	if err != nil || tree(t, root) != "y=y" {
		t.Errorf("%s %v", tree(t, root), err)
	}
}

// A hard link to a file outside the base directory stages that file's
// content, as BuildStream's test_out_of_basedir_hardlinks wants.
func TestExtractTarHardlinkOutsideBaseDir(t *testing.T) {
	data := makeTar(t,
		tarEntry{name: "contents/elsewhere/a", body: "A"},
		tarEntry{name: "contents/to_extract/a", typ: tar.TypeLink, link: "contents/elsewhere/a"},
	)
	root, _, err := extract(t, data, "contents/to_extract")
	if err != nil || tree(t, root) != "a=A" {
		t.Errorf("%s %v", tree(t, root), err)
	}
}

func TestExtractTarRefusesMalicious(t *testing.T) {
	for _, c := range []struct {
		name    string
		entries []tarEntry
		base    string
		entry   string
		reason  string
	}{
		{"dotdot", []tarEntry{{name: "../../evil", body: "x"}}, "", "../../evil", "'..'"},
		{"dotdot inside", []tarEntry{{name: "a/../../evil", body: "x"}}, "", "a/../../evil", "'..'"},
		{"absolute", []tarEntry{{name: "/etc/passwd", body: "x"}}, "", "/etc/passwd", "absolute"},
		{"symlink escape", []tarEntry{{name: "evil", typ: tar.TypeSymlink, link: "../../../etc/passwd"}}, "", "evil", "outside"},
		{"symlink escape of base dir", []tarEntry{{name: "top/evil", typ: tar.TypeSymlink, link: "../outside"}}, "*", "top/evil", "outside the staged base directory"},
		{"write through symlink", []tarEntry{{name: "d", typ: tar.TypeSymlink, link: "/tmp"}, {name: "d/pwned", body: "x"}}, "", "d/pwned", "symbolic link"},
		{"hardlink escape", []tarEntry{{name: "h", typ: tar.TypeLink, link: "../../etc/passwd"}}, "", "h", "hard link"},
		{"hardlink absolute", []tarEntry{{name: "h", typ: tar.TypeLink, link: "/etc/passwd"}}, "", "h", "hard link"},
		{"hardlink to nothing", []tarEntry{{name: "h", typ: tar.TypeLink, link: "later"}, {name: "later", body: "x"}}, "", "h", "does not hold"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := extract(t, makeTar(t, c.entries...), c.base)
			var ue *UnsafeEntryError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v, want an UnsafeEntryError", err)
			}
			if ue.Entry != c.entry || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error %q, want entry %q and %q", err, c.entry, c.reason)
			}
		})
	}
	// Nothing was written outside: the temporary directory's parent has
	// no "pwned" file.
	if _, err := os.Stat("/tmp/pwned"); err == nil {
		t.Fatal("an archive wrote outside its staging directory")
	}
}

func TestExtractTarNeutralises(t *testing.T) {
	data := makeTar(t,
		tarEntry{name: "top/", typ: tar.TypeDir, mode: 0o755},
		tarEntry{name: "top/null", typ: tar.TypeChar},
		tarEntry{name: "top/disk", typ: tar.TypeBlock},
		tarEntry{name: "top/pipe", typ: tar.TypeFifo},
		tarEntry{name: "top/su", body: "root", mode: 0o4755},
		tarEntry{name: "top/ro/", typ: tar.TypeDir, mode: 0o555},
		tarEntry{name: "top/ro/f", body: "f", mode: 0o444},
	)
	root, warnings, err := extract(t, data, "*")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tree(t, root), "ro/ ro/f=f su*=root"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	all := strings.Join(warnings, "\n")
	for _, w := range []string{`device node "top/null"`, `device node "top/disk"`, `FIFO "top/pipe"`, `setuid`, `top/su`} {
		if !strings.Contains(all, w) {
			t.Errorf("no warning about %s in %q", w, all)
		}
	}
}

func TestDecompressFormats(t *testing.T) {
	plain := makeTar(t, tarEntry{name: "pkg/hello", body: "compressed"})
	compress := map[string]func(w io.Writer) io.WriteCloser{
		"gz":  func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
		"bz2": func(w io.Writer) io.WriteCloser { z, _ := dsbzip2.NewWriter(w, nil); return z },
		"xz":  func(w io.Writer) io.WriteCloser { z, _ := xz.NewWriter(w); return z },
		"zst": func(w io.Writer) io.WriteCloser { z, _ := zstd.NewWriter(w); return z },
	}
	inputs := map[string][]byte{"plain": plain}
	for name, mk := range compress {
		var buf bytes.Buffer
		z := mk(&buf)
		z.Write(plain)
		z.Close()
		inputs[name] = buf.Bytes()
	}
	var lz bytes.Buffer
	if err := WriteLzip(&lz, plain); err != nil {
		t.Fatal(err)
	}
	inputs["lz"] = lz.Bytes()
	for name, data := range inputs {
		root, _, err := extract(t, data, "*")
		if err != nil || tree(t, root) != "hello=compressed" {
			t.Errorf("%s: %s %v", name, tree(t, root), err)
		}
	}
	// A corrupted lzip stream is an error, not silently short data.
	bad := append([]byte(nil), inputs["lz"]...)
	bad[len(bad)-25] ^= 0xff
	if _, _, err := extract(t, bad, "*"); err == nil {
		t.Error("corrupted lzip accepted")
	}
}

// Our lzip decoder reads what the real lzip writes, when it is installed.
func TestLzipAgainstHostTool(t *testing.T) {
	lzip, err := exec.LookPath("lzip")
	if err != nil {
		t.Skip("lzip not installed")
	}
	plain := bytes.Repeat([]byte("lzip member data "), 5000)
	cmd := exec.Command(lzip, "-c")
	cmd.Stdin = bytes.NewReader(plain)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	// Two members concatenated, as lzip -b makes.
	r, err := Decompress(bytes.NewReader(append(out, out...)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, append(plain, plain...)) {
		t.Fatalf("decoded %d bytes, %v", len(got), err)
	}
	// And lzip reads ours.
	var ours bytes.Buffer
	WriteLzip(&ours, plain)
	cmd = exec.Command(lzip, "-dc")
	cmd.Stdin = &ours
	if back, err := cmd.Output(); err != nil || !bytes.Equal(back, plain) {
		t.Fatalf("lzip -d of ours: %v", err)
	}
}

func makeZip(t *testing.T, files map[string]string, symlinks map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.zip")
	f, _ := os.Create(p)
	zw := zip.NewWriter(f)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, _ := zw.Create(n)
		w.Write([]byte(files[n]))
	}
	for n, target := range symlinks {
		h := &zip.FileHeader{Name: n}
		h.SetMode(os.ModeSymlink | 0o777)
		w, _ := zw.CreateHeader(h)
		w.Write([]byte(target))
	}
	zw.Close()
	f.Close()
	return p
}

func TestExtractZip(t *testing.T) {
	p := makeZip(t, map[string]string{"pkg/": "", "pkg/a": "A", "pkg/d/b": "B", "zzz/c": "C"}, map[string]string{"pkg/l": "/etc/passwd"})
	dest := t.TempDir()
	if err := ExtractZip(context.Background(), p, dest, ExtractOptions{BaseDir: "*"}); err != nil {
		t.Fatal(err)
	}
	// Symlinks become files holding their target, as Python extracts them.
	if got, want := tree(t, dest), "a=A d/ d/b=B l=/etc/passwd"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, bad := range []string{"../evil", "/abs", "a/../../evil"} {
		p := makeZip(t, map[string]string{bad: "x"}, nil)
		err := ExtractZip(context.Background(), p, t.TempDir(), ExtractOptions{})
		var ue *UnsafeEntryError
		if !errors.As(err, &ue) || ue.Entry != bad {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
