package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bstgo/bst/cas"
)

// The test binary is also the sandbox's init, as bst is, and it seals
// itself the way bst's commands do, so the tests run the production path.
func TestMain(m *testing.M) {
	MaybeInit()
	if os.Getenv(overwriteExeEnv) != "" {
		os.Exit(overwriteSelfExe())
	}
	if err := Seal(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if secs := os.Getenv(orphanEnv); secs != "" {
		os.Exit(runUntilKilled(secs))
	}
	os.Exit(m.Run())
}

// requireSandbox skips the test when this machine cannot run rootless
// containers at all, and says why. With BST_SANDBOX_REQUIRED=1 (.ci/run
// sets it) that is a failure instead.
func requireSandbox(t testing.TB) {
	t.Helper()
	skip := t.Skip
	if os.Getenv("BST_SANDBOX_REQUIRED") == "1" {
		skip = t.Fatal
	}
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(b)) == "0" {
		skip("user namespaces are disabled (user.max_user_namespaces = 0)")
	}
	if os.Geteuid() != 0 {
		if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && strings.TrimSpace(string(b)) == "0" {
			skip("unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)")
		}
	}
}

const busybox = "/bin/busybox"

// busyboxApplets are linked in the test root's /bin.
var busyboxApplets = []string{
	"sh", "true", "false", "cat", "echo", "id", "ls", "sleep", "touch", "mkdir", "rm", "env", "pwd",
	"nc", "wget", "stat", "chmod", "tty", "test", "grep", "kill", "ps", "hostname", "sha256sum",
	"mount", "wc", "head", "find", "cp", "cut", "tail", "unshare", "stty",
}

// busyboxTree writes a root file system of Debian's static busybox and its
// applet links into a new directory and returns it.
func busyboxTree(t testing.TB) string {
	t.Helper()
	requireSandbox(t)
	if _, err := os.Stat(busybox); err != nil {
		if os.Getenv("CI") != "" || os.Getenv("BST_SANDBOX_REQUIRED") == "1" {
			t.Fatalf("%s is missing: .ci/run installs busybox-static", busybox)
		}
		t.Skipf("%s is missing (apt-get install busybox-static)", busybox)
	}
	dir := t.TempDir()
	must(t, writeBusyboxTree(dir))
	return dir
}

func writeBusyboxTree(dir string) error {
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	b, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), b, 0o755); err != nil {
		return err
	}
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(bin, a)); err != nil {
			return err
		}
	}
	if err := os.Symlink("bin", filepath.Join(dir, "sbin")); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "etc", "group"), []byte("root:x:0:\n"), 0o644)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	must(t, err)
	must(t, os.WriteFile(dst, b, mode))
	must(t, os.Chmod(dst, mode))
}

// env is the test sandboxes' environment.
var env = []string{"PATH=/bin", "HOME=/"}

// fixture is a Sandbox over a busybox root stored in a local CAS.
type fixture struct {
	sb    *Sandbox
	store *cas.LocalStore
	root  cas.Digest
	tree  string // the host tree the root was captured from
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureFrom(t, busyboxTree(t))
}

// newFixtureFrom is a fixture whose root is captured from tree.
func newFixtureFrom(t testing.TB, tree string) *fixture {
	t.Helper()
	store, err := cas.OpenLocal(t.TempDir())
	must(t, err)
	d, err := store.CaptureTree(context.Background(), tree)
	must(t, err)
	sb, err := New(context.Background(), Options{Stager: store, Dir: t.TempDir()})
	must(t, err)
	t.Cleanup(func() { sb.Close() })
	return &fixture{sb: sb, store: store, root: d, tree: tree}
}

// result is one command's outcome.
type result struct {
	code           int
	stdout, stderr string
}

// sh runs a shell script in the sandbox, with extra settings from mod.
func (f *fixture) sh(t testing.TB, script string, mod ...func(*Config)) result {
	t.Helper()
	var out, errb bytes.Buffer
	cfg := Config{Root: f.root, Args: []string{"sh", "-c", script}, Env: env, Stdout: &out, Stderr: &errb}
	for _, m := range mod {
		m(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code, err := f.sb.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("running %q: %v", script, err)
	}
	return result{code, out.String(), errb.String()}
}

// ok runs script and fails the test unless it exits 0; it returns stdout.
func (f *fixture) ok(t testing.TB, script string, mod ...func(*Config)) string {
	t.Helper()
	r := f.sh(t, script, mod...)
	if r.code != 0 {
		t.Fatalf("%q exited %d\nstdout: %s\nstderr: %s", script, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func fileUID(st os.FileInfo) int { return int(st.Sys().(*syscall.Stat_t).Uid) }
