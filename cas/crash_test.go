package cas

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bstgo/bst/cas/artifactpb"
)

// TestMain lets the test binary act as a writer process that the tests
// kill.
func TestMain(m *testing.M) {
	if dir := os.Getenv("BST_CAS_TEST_WRITER"); dir != "" {
		writerLoop(dir)
		return
	}
	os.Exit(m.Run())
}

// writerLoop captures fresh trees and records artifacts of them forever.
func writerLoop(cacheDir string) {
	ctx := context.Background()
	s, err := OpenLocal(cacheDir)
	if err != nil {
		panic(err)
	}
	c := NewArtifactCache(s)
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	for i := 0; ; i++ {
		src, err := os.MkdirTemp("", "writer-")
		if err != nil {
			panic(err)
		}
		for j := range 100 {
			p := filepath.Join(src, fmt.Sprintf("d%d", j%9), fmt.Sprintf("f%d", j))
			os.MkdirAll(filepath.Dir(p), 0o755)
			data := make([]byte, r.Intn(16<<10))
			r.Read(data)
			os.WriteFile(p, data, 0o644)
		}
		files, err := s.CaptureTree(ctx, src)
		if err != nil {
			panic(err)
		}
		log, err := s.PutBytes(ctx, []byte(fmt.Sprintf("log %d\n", i)))
		if err != nil {
			panic(err)
		}
		a := &artifactpb.Artifact{Version: ArtifactVersion, BuildSuccess: true, Files: files.Proto(),
			Logs: []*artifactpb.Artifact_LogFile{{Name: "build.log", Digest: log.Proto()}}}
		key := fmt.Sprintf("%d-%d", os.Getpid(), i)
		if err := c.Put(ctx, a, "crash/strong/"+key, "crash/weak/"+key); err != nil {
			panic(err)
		}
		os.RemoveAll(src)
	}
}

// Killing writers at random moments, 50 times, never leaves a corrupted
// object or a ref to an incomplete artifact.
func TestKilledWritersLeaveAConsistentCache(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	dir := t.TempDir()
	r := rand.New(rand.NewSource(1))
	kills := 0
	for kills < 50 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "BST_CAS_TEST_WRITER="+dir, "TMPDIR="+t.TempDir())
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Later writers live longer, so that even on a loaded machine,
		// where starting one is slow, some record artifacts.
		time.Sleep(time.Duration(20+r.Intn(400)+10*kills) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("writer ended by itself: %v\n%s", err, stderr.String())
		}
		kills++
	}
	s, err := OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := NewArtifactCache(s)
	rep, err := s.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := c.List()
	t.Logf("%d kills: %d objects, %d refs", kills, rep.Objects, len(refs))
	if len(refs) == 0 {
		t.Fatal("no writer ever recorded an artifact: the test proves nothing")
	}
	if !rep.OK() {
		t.Fatalf("corrupt objects %v, incomplete refs %v", rep.Corrupt, rep.Incomplete)
	}
}
