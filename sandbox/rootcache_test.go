package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bstgo/bst/cas"
)

// The staged roots of a sandbox with Options.Roots live in the local
// cache (cas.LocalStore.AcquireStaged), shared by every process using it.

const (
	rootHelperEnv  = "BST_TEST_ROOT_HELPER"  // "stage" or "run"
	rootCacheEnv   = "BST_TEST_ROOT_CACHE"   // the store's directory
	rootDigestEnv  = "BST_TEST_ROOT_DIGEST"  // the root to stage or run on
	rootHelperTest = "^TestRootCacheHelper$" // what the helper process runs
)

// TestRootCacheHelper is the other process of the tests below: it stages
// a root (and then waits to be killed) or runs a command on one in a
// sandbox of its own, printing the staged root's path.
func TestRootCacheHelper(t *testing.T) {
	what := os.Getenv(rootHelperEnv)
	if what == "" {
		t.Skip("only run by the staged roots' tests")
	}
	store, err := cas.OpenLocal(os.Getenv(rootCacheEnv))
	must(t, err)
	d, err := cas.ParseDigest(os.Getenv(rootDigestEnv))
	must(t, err)
	ctx := context.Background()
	switch what {
	case "stage":
		p, _, err := store.AcquireStaged(ctx, d)
		must(t, err)
		fmt.Println(p)
		time.Sleep(time.Minute)
	case "run":
		sb, err := New(ctx, Options{Stager: store, Roots: store, Dir: t.TempDir()})
		must(t, err)
		defer sb.Close()
		var out bytes.Buffer
		code, err := sb.Run(ctx, Config{Root: d, Env: env, Stdout: &out, Stderr: os.Stderr,
			Args: []string{"sh", "-c", "cat /etc/passwd && ls /bin | wc -l"}})
		must(t, err)
		if code != 0 {
			t.Fatalf("exit code %d", code)
		}
		fmt.Print(out.String())
		for _, r := range sb.roots {
			fmt.Println("root:", r.path)
		}
	}
}

// rootHelper starts the test binary as another process doing what.
func rootHelper(t *testing.T, what, cacheDir string, d cas.Digest) *exec.Cmd {
	t.Helper()
	exe, err := Executable()
	must(t, err)
	cmd := exec.Command(exe, "-test.run="+rootHelperTest, "-test.count=1")
	cmd.Env = append(os.Environ(), rootHelperEnv+"="+what, rootCacheEnv+"="+cacheDir, rootDigestEnv+"="+d.String())
	return cmd
}

// stagedEntries lists the names in the store's staged roots' directory,
// but the generation file.
func stagedEntries(t *testing.T, store *cas.LocalStore) []string {
	t.Helper()
	ents, err := os.ReadDir(store.StagedDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	must(t, err)
	var names []string
	for _, e := range ents {
		if e.Name() != "generation" {
			names = append(names, e.Name())
		}
	}
	return names
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	st, err := os.Lstat(p)
	must(t, err)
	return st.Sys().(*syscall.Stat_t).Ino
}

func TestAnotherProcessReusesTheStagedRoot(t *testing.T) {
	tree := busyboxTree(t)
	dir := t.TempDir()
	store, err := cas.OpenLocal(dir)
	must(t, err)
	d, err := store.CaptureTree(context.Background(), tree)
	must(t, err)

	run := func() (string, string) {
		out, err := rootHelper(t, "run", dir, d).Output()
		if err != nil {
			t.Fatalf("helper: %v\n%s", err, out)
		}
		s := string(out)
		i := strings.Index(s, "root: ")
		if i < 0 {
			t.Fatalf("helper printed no root: %q", s)
		}
		root, _, _ := strings.Cut(s[i+len("root: "):], "\n")
		return s[:i], root
	}
	out1, root1 := run()
	if !strings.HasPrefix(root1, store.StagedDir()) && !strings.Contains(root1, "/cas/staged/") {
		t.Fatalf("the root %s is not in the cache's staged roots", root1)
	}
	ino := inode(t, filepath.Join(root1, "bin", "busybox"))
	dirIno := inode(t, root1)
	out2, root2 := run()
	if root2 != root1 || out2 != out1 {
		t.Fatalf("second process: root %s, output %q; first: %s, %q", root2, out2, root1, out1)
	}
	if inode(t, root2) != dirIno || inode(t, filepath.Join(root2, "bin", "busybox")) != ino {
		t.Errorf("the second process staged the root again")
	}
	// The store's object is what both linked.
	if inode(t, filepath.Join(root1, "etc", "passwd")) == inode(t, filepath.Join(tree, "etc", "passwd")) {
		t.Errorf("the staged root links the captured tree, not the store")
	}
	if n := stagedEntries(t, store); len(n) != 2 {
		t.Errorf("staged roots' directory: %v, want one root and its lock", n)
	}
}

// manyFiles writes a tree of n small distinct files in directories of 100.
func manyFiles(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("d%03d", i/100))
		if i%100 == 0 {
			must(t, os.Mkdir(sub, 0o755))
		}
		must(t, os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%d", i)), []byte(fmt.Sprint(i)), 0o644))
	}
	return dir
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	must(t, filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	}))
	return n
}

func TestKilledStagingIsNeverUsed(t *testing.T) {
	if testing.Short() {
		t.Skip("stages thousands of files")
	}
	const files = 5000
	ctx := context.Background()
	dir := t.TempDir()
	store, err := cas.OpenLocal(dir)
	must(t, err)
	d, err := store.CaptureTree(ctx, manyFiles(t, files))
	must(t, err)
	for attempt := 1; ; attempt++ {
		must(t, os.RemoveAll(store.StagedDir()))
		cmd := rootHelper(t, "stage", dir, d)
		must(t, cmd.Start())
		// Kill it as soon as it has started staging.
		partial := ""
		for deadline := time.Now().Add(30 * time.Second); partial == "" && time.Now().Before(deadline); {
			for _, n := range stagedEntries(t, store) {
				if strings.HasPrefix(n, ".tmp-") {
					partial = n
				}
			}
			if partial == "" {
				time.Sleep(200 * time.Microsecond)
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		if partial == "" {
			t.Fatalf("the helper never started staging: %v", stagedEntries(t, store))
		}
		complete := false
		for _, n := range stagedEntries(t, store) {
			if !strings.HasPrefix(n, ".") && !strings.HasSuffix(n, ".lock") {
				complete = true
			}
		}
		if complete {
			if attempt < 5 {
				continue // staged whole before the kill landed
			}
			t.Skip("staging always ended before the kill")
		}
		if got := countFiles(t, filepath.Join(store.StagedDir(), partial)); got >= files {
			t.Logf("the killed staging had all %d files but was not renamed into place", got)
		}

		p, release, err := store.AcquireStaged(ctx, d)
		must(t, err)
		if strings.Contains(p, ".tmp-") {
			t.Fatalf("AcquireStaged returned the killed staging %s", p)
		}
		if got := countFiles(t, p); got != files {
			t.Errorf("the staged root has %d files, want %d", got, files)
		}
		release()
		for _, n := range stagedEntries(t, store) {
			if strings.HasPrefix(n, ".") {
				t.Errorf("%s left behind after a new staging", n)
			}
		}
		return
	}
}

func TestConcurrentStagingStagesOnce(t *testing.T) {
	tree := manyFiles(t, 2000)
	store, err := cas.OpenLocal(t.TempDir())
	must(t, err)
	ctx := context.Background()
	d, err := store.CaptureTree(ctx, tree)
	must(t, err)
	var wg sync.WaitGroup
	paths := make([]string, 6)
	releases := make([]func(), 6)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, release, err := store.AcquireStaged(ctx, d)
			if err != nil {
				t.Error(err)
				return
			}
			paths[i], releases[i] = p, release
		}()
	}
	wg.Wait()
	for i, p := range paths {
		if p != paths[0] {
			t.Errorf("acquire %d: %s, acquire 0: %s", i, p, paths[0])
		}
		if releases[i] != nil {
			releases[i]()
		}
	}
	if n := stagedEntries(t, store); len(n) != 2 {
		t.Errorf("staged roots' directory: %v, want one root and its lock", n)
	}
}

func TestStagedRootsAreBounded(t *testing.T) {
	store, err := cas.OpenLocal(t.TempDir())
	must(t, err)
	store.SetMaxStaged(2)
	ctx := context.Background()
	var roots []string
	var busy func()
	for i := range 5 {
		tree := t.TempDir()
		must(t, os.WriteFile(filepath.Join(tree, "f"), []byte(fmt.Sprint(i)), 0o644))
		d, err := store.CaptureTree(ctx, tree)
		must(t, err)
		p, release, err := store.AcquireStaged(ctx, d)
		must(t, err)
		roots = append(roots, p)
		if i == 0 {
			busy = release // stays in use throughout
		} else {
			release()
		}
		time.Sleep(10 * time.Millisecond) // distinct times of last use
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	if !exists(roots[0]) {
		t.Errorf("the root in use was removed")
	}
	for i, p := range roots[1:3] {
		if exists(p) {
			t.Errorf("root %d, among the least recently used, is still there", i+1)
		}
	}
	if !exists(roots[4]) {
		t.Errorf("the last root staged was removed")
	}
	busy()
}

func TestExpiryRemovesStagedRoots(t *testing.T) {
	store, err := cas.OpenLocal(t.TempDir())
	must(t, err)
	ctx := context.Background()
	stage := func(content string) (cas.Digest, string, func()) {
		tree := t.TempDir()
		must(t, os.WriteFile(filepath.Join(tree, "f"), []byte(content), 0o644))
		d, err := store.CaptureTree(ctx, tree)
		must(t, err)
		p, release, err := store.AcquireStaged(ctx, d)
		must(t, err)
		return d, p, release
	}
	_, idle, release := stage("idle")
	release()
	inUse, busy, releaseBusy := stage("busy")
	time.Sleep(10 * time.Millisecond) // the links are older than the expiry

	// No ref keeps anything: expiry removes every object.
	res, err := store.Expire(ctx, 0, nil)
	must(t, err)
	if res.Objects == 0 {
		t.Fatalf("expiry removed nothing")
	}
	if _, err := os.Stat(idle); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the idle staged root survived expiry: %v", err)
	}
	if _, err := os.Stat(filepath.Join(busy, "f")); err != nil {
		t.Errorf("the staged root in use was removed: %v", err)
	}
	// It is not used again: its objects are gone, so staging it fails.
	if p, r, err := store.AcquireStaged(ctx, inUse); err == nil {
		r()
		t.Errorf("the root linking expired objects was reused: %s", p)
	}
	releaseBusy()
	if _, err := os.Stat(busy); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the stale staged root survived its last use: %v", err)
	}
	for _, n := range stagedEntries(t, store) {
		t.Errorf("left in the staged roots' directory: %s", n)
	}
	// Usage counts nothing left.
	u, err := store.Usage()
	must(t, err)
	if u != 0 {
		t.Errorf("usage after expiring everything: %d", u)
	}
}

func TestSandboxWithRootCache(t *testing.T) {
	tree := busyboxTree(t)
	store, err := cas.OpenLocal(t.TempDir())
	must(t, err)
	ctx := context.Background()
	d, err := store.CaptureTree(ctx, tree)
	must(t, err)
	newSB := func() *Sandbox {
		sb, err := New(ctx, Options{Stager: store, Roots: store, Dir: t.TempDir()})
		must(t, err)
		return sb
	}
	run := func(sb *Sandbox, cfg Config) (int, string) {
		var out bytes.Buffer
		cfg.Root, cfg.Env, cfg.Stdout, cfg.Stderr = d, env, &out, &out
		res, err := sb.Exec(ctx, cfg)
		must(t, err)
		return res.ExitCode, out.String()
	}
	sb := newSB()
	if code, out := run(sb, Config{Args: []string{"sh", "-c", "touch /x"}}); code == 0 {
		t.Errorf("the cached root is writable: %s", out)
	}
	// A writable root is an overlay over the cached one, which stays.
	res, err := sb.Exec(ctx, Config{Root: d, Env: env, RootWritable: true, Args: []string{"sh", "-c", "echo hi >/etc/passwd && mkdir /new"}})
	must(t, err)
	if res.ExitCode != 0 || res.Root == d {
		t.Fatalf("writable run: %d, root %s", res.ExitCode, res.Root)
	}
	must(t, sb.Close())
	roots := stagedEntries(t, store)
	if len(roots) != 2 {
		t.Fatalf("after Close: %v, want the root and its lock", roots)
	}
	root := filepath.Join(store.StagedDir(), strings.TrimSuffix(roots[0], ".lock"))
	b, err := os.ReadFile(filepath.Join(root, "etc", "passwd"))
	must(t, err)
	if string(b) != "root:x:0:0:root:/root:/bin/sh\n" {
		t.Errorf("the cached root was changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(root, "new")); err == nil {
		t.Errorf("the writable run's directory is in the cached root")
	}
	sb2 := newSB()
	defer sb2.Close()
	if code, out := run(sb2, Config{Args: []string{"cat", "/etc/passwd"}}); code != 0 || out != string(b) {
		t.Errorf("second sandbox: %d %q", code, out)
	}
}
