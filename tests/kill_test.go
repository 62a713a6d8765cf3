package tests

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bstgo/bst/cas"
)

// TestKilledBuildsLeaveAConsistentCache kills `bst build` with SIGKILL at
// random moments while it captures a large source, 50 times, then checks
// that every stored object matches its digest and every ref names a
// complete artifact.
func TestKilledBuildsLeaveAConsistentCache(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	work := t.TempDir()
	proj := filepath.Join(work, "proj")
	files := filepath.Join(proj, "files", "big")
	r := rand.New(rand.NewSource(1))
	buf := make([]byte, 8<<10)
	for i := range 1500 {
		p := filepath.Join(files, fmt.Sprintf("d%02d", i%30), fmt.Sprintf("f%04d", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		r.Read(buf)
		if err := os.WriteFile(p, buf[:r.Intn(len(buf))], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(proj, "project.conf"), "name: kill\nmin-version: 2.0\nelement-path: elements\n")
	writeFile(t, filepath.Join(proj, "elements", "big.bst"), "kind: import\nsources:\n- kind: local\n  path: files/big\n")
	env := append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(work, "cache"), "XDG_CONFIG_HOME="+filepath.Join(work, "config"))
	bst := filepath.Join(binDir, "bst")

	completed := 0
	for i := range 50 {
		// A new file each round gives the element a new key, so every round
		// captures something new.
		writeFile(t, filepath.Join(files, "round"), fmt.Sprint(i))
		cmd := exec.Command(bst, "-C", proj, "build", "big.bst")
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(50+r.Intn(900)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && !ws.Signaled() {
			completed++
		}
	}
	// One more, to completion, so there is at least one artifact.
	writeFile(t, filepath.Join(files, "round"), "last")
	cmd := exec.Command(bst, "-C", proj, "build", "big.bst")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("a build after the kills failed: %v\n%s", err, out)
	}

	store, err := cas.OpenLocal(filepath.Join(work, "cache", "bst"))
	if err != nil {
		t.Fatal(err)
	}
	artifacts := cas.NewArtifactCache(store)
	rep, err := store.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := artifacts.List()
	t.Logf("%d builds killed, %d finished first; %d objects, %d refs", 50-completed, completed, rep.Objects, len(refs))
	if !rep.OK() {
		t.Fatalf("corrupt objects %v, incomplete refs %v", rep.Corrupt, rep.Incomplete)
	}
	if completed == 50 {
		t.Fatal("no build was killed: the test proves nothing")
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
