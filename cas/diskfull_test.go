package cas

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bstgo/bst/cas/artifactpb"
	"golang.org/x/sys/unix"
)

// TestDiskFull fills a small tmpfs, mounted in a user and mount namespace
// of its own so that it needs no privileges: capturing must fail with a
// clear error and leave neither partial objects, temporary files nor a ref.
func TestDiskFull(t *testing.T) {
	if os.Getenv("BST_CAS_DISKFULL") != "" {
		t.Skip("running as the child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFullChild$", "-test.v")
	cmd.Env = append(os.Environ(), "BST_CAS_DISKFULL="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
	}
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(string(out), "CANNOT-MOUNT") {
		t.Skipf("cannot mount a tmpfs in a user namespace here:\n%s", out)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: TestDiskFullChild") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestDiskFullChild(t *testing.T) {
	dir := os.Getenv("BST_CAS_DISKFULL")
	if dir == "" {
		t.Skip("only run by TestDiskFull")
	}
	mnt := filepath.Join(dir, "small")
	os.MkdirAll(mnt, 0o755)
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=512k"); err != nil {
		fmt.Println("CANNOT-MOUNT", err)
		t.FailNow()
	}
	defer unix.Unmount(mnt, 0)
	ctx := context.Background()
	s, err := OpenLocal(filepath.Join(mnt, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewArtifactCache(s)
	src := filepath.Join(dir, "src") // on the big disk
	spec := map[string]string{}
	for i := range 40 {
		spec[fmt.Sprintf("f%02d", i)] = fmt.Sprint(i) + strings.Repeat("x", 32<<10)
	}
	writeTree(t, src, spec)
	files, err := s.CaptureTree(ctx, src)
	var full *DiskFullError
	if !errors.As(err, &full) {
		t.Fatalf("CaptureTree on a full disk = %v, %v; want a DiskFullError", files, err)
	}
	if !strings.Contains(err.Error(), "disk is full") {
		t.Errorf("unclear error: %v", err)
	}
	if ents, _ := os.ReadDir(s.tmp); len(ents) != 0 {
		t.Errorf("temporary files left behind: %d", len(ents))
	}
	rep, err := s.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Errorf("after a full disk: %+v, %v", rep, err)
	}
	// Recording an artifact of the failed capture is impossible, and a
	// ref write that hits the full disk leaves nothing either.
	if err := c.Put(ctx, &artifactpb.Artifact{Files: files.Proto()}, "p/e/k"); err == nil {
		t.Error("recorded an artifact of a failed capture")
	}
	if refs, _ := c.List(); len(refs) != 0 {
		t.Errorf("refs after a full disk: %v", refs)
	}
}
