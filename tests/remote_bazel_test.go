package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRemoteBazel checks that bst's cache server speaks standard REAPI:
// Bazel builds a genrule with --remote_cache pointing at it, and after a
// clean the second build is a remote cache hit.
func TestRemoteBazel(t *testing.T) {
	bazel, err := exec.LookPath("bazel")
	if err != nil {
		t.Skip("bazel is not installed (Debian package bazel-bootstrap): the cache server is not checked against Bazel")
	}
	cacheDir := t.TempDir()
	addr := bstServer(t, "--cache-dir", cacheDir)
	ws := t.TempDir()
	for name, content := range map[string]string{
		"WORKSPACE": "",
		"BUILD":     "genrule(\n    name = \"hello\",\n    outs = [\"hello.txt\"],\n    cmd = \"echo hello from bazel > $@\",\n)\n",
	} {
		if err := os.WriteFile(filepath.Join(ws, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := filepath.Join(t.TempDir(), "bazel-root")
	home := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bazel, append([]string{"--output_user_root=" + root, "--max_idle_secs=60"}, args...)...)
		cmd.Dir = ws
		cmd.Env = append(os.Environ(), "HOME="+home)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("bazel %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	// One Bazel server for the three commands; it goes with the test.
	t.Cleanup(func() {
		cmd := exec.Command(bazel, "--output_user_root="+root, "shutdown")
		cmd.Dir = ws
		cmd.Env = append(os.Environ(), "HOME="+home)
		cmd.Run()
	})
	build := []string{"build", "--remote_cache=grpc://" + addr, "--spawn_strategy=local", "--noshow_progress", "//:hello"}
	out := run(build...)
	if strings.Contains(out, "remote cache hit") {
		t.Fatalf("the first build was a cache hit:\n%s", out)
	}
	entries, _ := os.ReadDir(filepath.Join(cacheDir, "ac"))
	if len(entries) == 0 {
		t.Fatalf("Bazel stored no action result:\n%s", out)
	}
	run("clean")
	out = run(build...)
	if !strings.Contains(out, "1 remote cache hit") {
		t.Fatalf("the second build was not a remote cache hit:\n%s", out)
	}
	data, err := os.ReadFile(filepath.Join(ws, "bazel-bin", "hello.txt"))
	if err != nil || string(data) != "hello from bazel\n" {
		t.Fatalf("bazel-bin/hello.txt: %q, %v", data, err)
	}
}
