package tests

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bstServer runs `bst server` with args, listening on a free loopback
// port, until the test ends, and returns its address (HOST:PORT).
func bstServer(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "bst"), append([]string{"server", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	var log bytes.Buffer
	go func() {
		re := regexp.MustCompile(`serving .* on (127\.0\.0\.1:[0-9]+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	select {
	case addr := <-addrc:
		return addr
	case <-time.After(20 * time.Second):
		t.Fatalf("bst server did not start:\n%s", log.String())
	}
	return ""
}

// project writes a project with one import element, hello.bst, into a
// new directory and returns it.
func project(t *testing.T, conf string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"project.conf":       "name: demo\nmin-version: 2.0\nelement-path: elements\n" + conf,
		"elements/hello.bst": "kind: import\nsources:\n- kind: local\n  path: files\n",
		"files/hello.txt":    "hello from a remote\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// bstRun runs bst in dir with its own cache and configuration directories
// (under home) and returns its standard error and error.
func bstRun(t *testing.T, dir, home string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "bst"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

// mustBst is bstRun that must succeed and print want (a regexp).
func mustBst(t *testing.T, dir, home, want string, args ...string) string {
	t.Helper()
	out, err := bstRun(t, dir, home, args...)
	if err != nil {
		t.Fatalf("bst %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if want != "" && !regexp.MustCompile(want).MatchString(out) {
		t.Fatalf("bst %s: output does not match %q:\n%s", strings.Join(args, " "), want, out)
	}
	return out
}

// failBst is bstRun that must fail and print want.
func failBst(t *testing.T, dir, home, want string, args ...string) string {
	t.Helper()
	out, err := bstRun(t, dir, home, args...)
	if err == nil {
		t.Fatalf("bst %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	if !regexp.MustCompile(want).MatchString(out) {
		t.Fatalf("bst %s: output does not match %q:\n%s", strings.Join(args, " "), want, out)
	}
	return out
}
