package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bstgo/bst/cas"
)

// rootModes runs a test once with overlay roots and once with copied
// roots, the fallback.
func rootModes(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, mode := range []string{"overlay", "copy"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixtureFrom(t, writableTree(t))
			f.sb.forceCopy = mode == "copy"
			fn(t, f)
			if mode == "overlay" && f.sb.overlay.Load() != overlayWorks {
				t.Errorf("the overlay root was not used (state %d)", f.sb.overlay.Load())
			}
		})
	}
}

// writableTree is a busybox tree with more in it to change.
func writableTree(t testing.TB) string {
	tree := busyboxTree(t)
	for p, content := range map[string]string{
		"etc/motd":          "hello\n",
		"etc/conf":          "a = 1\n",
		"etc/secret":        "s3cret\n",
		"data/a/b/deep":     "deep\n",
		"data/a/other":      "other\n",
		"data/keep":         "keep\n",
		"usr/lib/libfoo.so": "elf\n",
	} {
		must(t, os.MkdirAll(filepath.Join(tree, filepath.Dir(p)), 0o755))
		must(t, os.WriteFile(filepath.Join(tree, p), []byte(content), 0o644))
	}
	must(t, os.Symlink("usr/lib", filepath.Join(tree, "lib")))
	must(t, os.MkdirAll(filepath.Join(tree, "var", "empty"), 0o755))
	return tree
}

// changes is what the tests' command does to the root, as a script and
// on a host copy of the tree.
const changesScript = `set -e
mkdir /newdir
echo new > /newdir/file
echo changed > /etc/motd
echo more >> /etc/conf
chmod 755 /etc/conf
rm /etc/secret
rm -r /data/a
mkdir /data/a
echo fresh > /data/a/fresh
ln -s /newdir/file /etc/link
rmdir /var/empty
touch /top-file
echo lib > /lib/libbar.so
`

func applyChanges(t *testing.T, tree string) {
	w := func(p, s string, mode os.FileMode) {
		must(t, os.WriteFile(filepath.Join(tree, p), []byte(s), mode))
		must(t, os.Chmod(filepath.Join(tree, p), mode))
	}
	must(t, os.Mkdir(filepath.Join(tree, "newdir"), 0o755))
	w("newdir/file", "new\n", 0o644)
	w("etc/motd", "changed\n", 0o644)
	w("etc/conf", "a = 1\nmore\n", 0o755)
	must(t, os.Remove(filepath.Join(tree, "etc/secret")))
	must(t, os.RemoveAll(filepath.Join(tree, "data/a")))
	must(t, os.Mkdir(filepath.Join(tree, "data/a"), 0o755))
	w("data/a/fresh", "fresh\n", 0o644)
	must(t, os.Symlink("/newdir/file", filepath.Join(tree, "etc/link")))
	must(t, os.Remove(filepath.Join(tree, "var/empty")))
	w("top-file", "", 0o644)
	w("usr/lib/libbar.so", "lib\n", 0o644)
}

// copyTree copies a host tree (files, directories, symlinks).
func copyTree(t *testing.T, src, dst string) {
	must(t, filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, out)
		case info.IsDir():
			return os.MkdirAll(out, 0o755)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(out, b, info.Mode().Perm())
		}
	}))
}

// storedObjects hashes every object file the tree root is made of.
func storedObjects(t *testing.T, s *cas.LocalStore, root cas.Digest) map[string]string {
	got := map[string]string{}
	must(t, s.Reachable(context.Background(), root, map[cas.Digest]bool{}, func(d cas.Digest) {
		for _, p := range []string{s.ObjectPath(d), s.ObjectPath(d) + ".x"} {
			if b, err := os.ReadFile(p); err == nil {
				sum := sha256.Sum256(b)
				got[p] = hex.EncodeToString(sum[:])
				if got[p] != d.Hash() {
					t.Errorf("object %s holds %s", p, got[p])
				}
			}
		}
	}))
	return got
}

func (f *fixture) exec(t *testing.T, script string, mod ...func(*Config)) (Result, string) {
	t.Helper()
	var out bytes.Buffer
	cfg := Config{Root: f.root, RootWritable: true, Args: []string{"sh", "-c", script}, Env: env, Stdout: &out, Stderr: &out}
	for _, m := range mod {
		m(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := f.sb.Exec(ctx, cfg)
	if err != nil {
		t.Fatalf("running %q: %v", script, err)
	}
	return res, out.String()
}

// TestWritableRoot: a command creates a top-level directory, modifies,
// chmods and deletes files, replaces a directory; the returned root holds
// exactly those changes, and the stored objects of the original root are
// unchanged.
func TestWritableRoot(t *testing.T) {
	rootModes(t, func(t *testing.T, f *fixture) {
		f.ok(t, "true") // stages the shared root, making executables' twins
		before := storedObjects(t, f.store, f.root)
		res, out := f.exec(t, changesScript, func(c *Config) {
			c.Cwd = "/work/here"
			c.Writable = []WritableDir{{Path: "/buildstream/proj/el.bst", HostPath: t.TempDir()}}
			c.Mounts = []Mount{{Source: t.TempDir(), Destination: "/etc/extra"}}
		})
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, out)
		}
		want := t.TempDir()
		copyTree(t, f.tree, want)
		applyChanges(t, want)
		wantDigest, err := f.store.CaptureTree(context.Background(), want)
		must(t, err)
		if res.Root != wantDigest {
			t.Errorf("root after the command:\n%s\nwant:\n%s", listTree(t, f.store, res.Root), listTree(t, f.store, wantDigest))
		}
		after := storedObjects(t, f.store, f.root)
		if fmt.Sprint(before) != fmt.Sprint(after) || len(before) == 0 {
			t.Errorf("the stored objects of the original root changed")
		}
		// The original root is intact for the next command.
		if out := f.ok(t, "cat /etc/motd /etc/secret; ls /"); !strings.Contains(out, "hello\ns3cret\n") || strings.Contains(out, "newdir") {
			t.Errorf("a later command on the original root sees %q", out)
		}
	})
}

// listTree lists a tree for error messages.
func listTree(t *testing.T, s *cas.LocalStore, root cas.Digest) string {
	var b strings.Builder
	must(t, s.Walk(context.Background(), root, func(e cas.Entry) error {
		fmt.Fprintf(&b, "  %c %s %s%s\n", e.Kind, e.Path, e.Target, map[bool]string{true: " (x)"}[e.Executable])
		return nil
	}))
	return b.String()
}

// TestWritableRootUnchanged: a command that changes nothing gives back
// the same root, mount points and all.
func TestWritableRootUnchanged(t *testing.T) {
	rootModes(t, func(t *testing.T, f *fixture) {
		res, out := f.exec(t, "cat /etc/motd >/dev/null; ls /data >/dev/null", func(c *Config) {
			c.Cwd = "/lib/new/cwd" // through a symlink: created at /usr/lib/new/cwd
			c.Writable = []WritableDir{{Path: "/buildstream-install", HostPath: t.TempDir()}}
		})
		if res.ExitCode != 0 || res.Root != f.root {
			t.Errorf("exit %d (%s), root %s, want the original %s:\n%s", res.ExitCode, out, res.Root, f.root, listTree(t, f.store, res.Root))
		}
	})
}

// TestWritableRootFailedCommand: the root is returned whatever the exit
// status, and a mount point the command wrote into is kept.
func TestWritableRootFailedCommand(t *testing.T) {
	rootModes(t, func(t *testing.T, f *fixture) {
		res, _ := f.exec(t, "mkdir -p /work/here/sub && echo x > /etc/motd && exit 3", func(c *Config) { c.Cwd = "/work/here" })
		if res.ExitCode != 3 {
			t.Fatalf("exit %d", res.ExitCode)
		}
		paths := listTree(t, f.store, res.Root)
		if !strings.Contains(paths, "d work/here/sub ") {
			t.Errorf("the working directory with the command's directory in it is gone:\n%s", paths)
		}
	})
}

// TestWritableRootPermissions: files and directories a command leaves
// unreadable (it runs as root inside) are captured all the same, and
// they are not writable through to the store.
func TestWritableRootPermissions(t *testing.T) {
	rootModes(t, func(t *testing.T, f *fixture) {
		res, out := f.exec(t, "chmod 000 /etc/conf && mkdir /locked && echo x > /locked/f && chmod 000 /locked/f /locked")
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, out)
		}
		paths := listTree(t, f.store, res.Root)
		if !strings.Contains(paths, "f locked/f") || !strings.Contains(paths, "f etc/conf") {
			t.Errorf("root:\n%s", paths)
		}
		storedObjects(t, f.store, f.root)
	})
}

// TestWritableRootRunDiscards: Run with a writable root lets the command
// write anywhere and keeps nothing.
func TestWritableRootRunDiscards(t *testing.T) {
	rootModes(t, func(t *testing.T, f *fixture) {
		f.ok(t, "mkdir /scratch && echo x > /etc/motd && rm /etc/secret", func(c *Config) { c.RootWritable = true })
		if out := f.ok(t, "ls /; cat /etc/motd /etc/secret"); strings.Contains(out, "scratch") || !strings.Contains(out, "hello\ns3cret") {
			t.Errorf("changes of a discarded writable root are visible: %q", out)
		}
		if runs, _ := filepath.Glob(filepath.Join(f.sb.Dir(), "run-*")); len(runs) != 0 {
			t.Errorf("run directories left: %v", runs)
		}
	})
}

// TestWritableRootConcurrent: commands with writable roots over one
// staged root do not see each other's changes, nor do read-only ones.
func TestWritableRootConcurrent(t *testing.T) {
	f := newFixtureFrom(t, writableTree(t))
	done := make(chan Result, 4)
	for i := range 4 {
		go func() {
			var out bytes.Buffer
			res, err := f.sb.Exec(context.Background(), Config{Root: f.root, RootWritable: true, Env: env, Stdout: &out,
				Args: []string{"sh", "-c", fmt.Sprintf("test ! -e /mine-* && touch /mine-%d && sleep 0.2 && ls / | grep -c mine-", i)}})
			if err != nil || res.ExitCode != 0 || out.String() != "1\n" {
				t.Errorf("run %d: %v, %+v, %q", i, err, res, out.String())
			}
			done <- res
		}()
	}
	if out := f.ok(t, "sleep 0.1; ls /"); strings.Contains(out, "mine") {
		t.Errorf("a read-only command sees a writable one's files: %q", out)
	}
	roots := map[cas.Digest]bool{}
	for range 4 {
		roots[(<-done).Root] = true
	}
	if len(roots) != 4 {
		t.Errorf("%d distinct roots, want 4", len(roots))
	}
}

// TestOverlayFallback: where the overlay cannot be mounted, the command
// runs on a copy, and later ones do too.
func TestOverlayFallback(t *testing.T) {
	f := newFixtureFrom(t, writableTree(t))
	f.sb.overlayOptions = "lowerdir=no-such-dir,upperdir=upper,workdir=work,userxattr"
	var in bytes.Buffer
	in.WriteString("from stdin\n")
	var out bytes.Buffer
	res, err := f.sb.Exec(context.Background(), Config{Root: f.root, RootWritable: true, Env: env, Stdin: &in, Stdout: &out,
		Args: []string{"sh", "-c", "cat > /etc/motd && cat /etc/motd"}})
	if err != nil || res.ExitCode != 0 || out.String() != "from stdin\n" {
		t.Fatalf("%v, %+v, %q", err, res, out.String())
	}
	if f.sb.overlay.Load() != overlayUnavailable {
		t.Errorf("the overlay is not marked unavailable")
	}
	if !strings.Contains(listTree(t, f.store, res.Root), "f etc/motd") {
		t.Errorf("root: %s", listTree(t, f.store, res.Root))
	}
}

func TestWritableRootIsNosuid(t *testing.T) {
	f := newFixtureFrom(t, writableTree(t))
	out := f.ok(t, "grep ' / / ' /proc/self/mountinfo", func(c *Config) { c.RootWritable = true })
	if fs := strings.Fields(out); len(fs) < 6 || !hasOpt(fs[5], "nosuid") || !hasOpt(fs[5], "rw") || !strings.Contains(out, " overlay ") {
		t.Errorf("the writable root is mounted %q, want an overlay, rw and nosuid", out)
	}
}

// TestWritableRootNeverWritesTheStore: whatever a command does to the
// files of a writable root — append to, truncate, chmod, hardlink, or
// remount in a user namespace of its own — the stored objects and the
// shared staged root (hardlinks to them) keep their content.
func TestWritableRootNeverWritesTheStore(t *testing.T) {
	rootModes(t, func(t *testing.T, f *fixture) {
		f.ok(t, "true")
		before := storedObjects(t, f.store, f.root)
		staged := ""
		if !f.sb.forceCopy {
			staged = f.stagedPath(t)
		}
		res, out := f.exec(t, `echo x >> /bin/busybox; echo y > /etc/motd; chmod 777 /etc/conf /bin/busybox
			ln /etc/motd /etc/motd2; echo z >> /etc/motd2
			unshare -Urm sh -c 'mount -o remount,rw / ; echo w >> /etc/conf; mount -o remount,bind,rw / ; echo v >> /etc/conf'
			true`)
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, out)
		}
		if after := storedObjects(t, f.store, f.root); fmt.Sprint(before) != fmt.Sprint(after) {
			t.Errorf("stored objects changed")
		}
		if staged != "" {
			for p, want := range map[string]string{"etc/motd": "hello\n", "etc/conf": "a = 1\n"} {
				if b, err := os.ReadFile(filepath.Join(staged, p)); err != nil || string(b) != want {
					t.Errorf("the shared staged root's %s: %q, %v", p, b, err)
				}
			}
		}
		paths := listTree(t, f.store, res.Root)
		if !strings.Contains(paths, "f etc/motd2") {
			t.Errorf("root:\n%s", paths)
		}
	})
}
