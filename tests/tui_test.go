package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The interactive interface, driven in tmux as a user would: the status
// area while jobs run, and the failure prompt.

// tmuxSession runs a shell command in a detached tmux session of its own.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

func startTmux(t *testing.T, dir, command string, env []string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is needed for the interface tests (apt-get install tmux)")
		}
		t.Skip("tmux is not installed")
	}
	s := &tmuxSession{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock"), name: "bst"}
	args := []string{"-S", s.socket, "new-session", "-d", "-s", s.name, "-x", "160", "-y", "50", "-c", dir}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(args, command)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-S", s.socket, "kill-server").Run() })
	return s
}

// screen returns what the pane shows.
func (s *tmuxSession) screen() string {
	out, _ := exec.Command("tmux", "-S", s.socket, "capture-pane", "-p", "-t", s.name).Output()
	return string(out)
}

// waitFor waits until the pane shows want, and returns the screen.
func (s *tmuxSession) waitFor(want string, timeout time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		sc := s.screen()
		if strings.Contains(sc, want) {
			return sc
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %q; it shows:\n%s", want, sc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *tmuxSession) send(keys ...string) {
	args := append([]string{"-S", s.socket, "send-keys", "-t", s.name}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys: %v\n%s", err, out)
	}
}

// busyboxProject writes a project with a busybox base and the given
// elements.
func busyboxProject(t *testing.T, elements map[string]string) string {
	t.Helper()
	if _, err := os.Stat("/bin/busybox"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("/bin/busybox is needed (apt-get install busybox-static)")
		}
		t.Skip("no /bin/busybox")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "files", "base", "bin")
	os.MkdirAll(bin, 0o755)
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "echo", "sleep", "mkdir", "cat", "false", "true"} {
		os.Symlink("busybox", filepath.Join(bin, applet))
	}
	writeFile(t, filepath.Join(dir, "project.conf"), "name: tui\nmin-version: 2.0\nelement-path: elements\n")
	writeFile(t, filepath.Join(dir, "elements", "base.bst"), "kind: import\nsources:\n- kind: local\n  path: files/base\n")
	for name, content := range elements {
		writeFile(t, filepath.Join(dir, "elements", name), content)
	}
	return dir
}

func tuiEnv(dir string) []string {
	return []string{
		"PATH=" + binDir + ":/usr/bin:/bin",
		"XDG_CACHE_HOME=" + filepath.Join(dir, ".cache"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, ".config"),
		"HOME=" + dir,
		"TERM=xterm-256color",
	}
}

func TestStatusAreaShowsRunningJobs(t *testing.T) {
	dir := busyboxProject(t, map[string]string{
		"slow.bst": "kind: manual\nbuild-depends:\n- base.bst\nconfig:\n  build-commands:\n  - sleep 4\n",
	})
	s := startTmux(t, dir, fmt.Sprintf("%s/bst build slow.bst; echo EXIT=$? > %s/exit; sleep 60", binDir, dir), tuiEnv(dir))
	sc := s.waitFor("build:slow.bst", 60*time.Second)
	// The header counts the queues' jobs; the running job has a clock.
	if !strings.Contains(sc, "Build 1/0/0") || !strings.Contains(sc, "Fetch") {
		t.Errorf("no queue counts in the status area:\n%s", sc)
	}
	if !strings.Contains(sc, "] build:slow.bst") {
		t.Errorf("no line for the running job:\n%s", sc)
	}
	waitFile(t, filepath.Join(dir, "exit"), "EXIT=0", 60*time.Second)
	sc = s.screen()
	if strings.Contains(sc, "] build:slow.bst\n") {
		t.Errorf("the status area is still there after the build:\n%s", sc)
	}
	if !strings.Contains(sc, "SUCCESS") {
		t.Errorf("no log lines above the status area:\n%s", sc)
	}
}

func TestFailurePrompt(t *testing.T) {
	dir := busyboxProject(t, map[string]string{
		"broken.bst": "kind: manual\nbuild-depends:\n- base.bst\nconfig:\n  build-commands:\n  - echo about to fail\n  - false\n",
	})
	s := startTmux(t, dir, fmt.Sprintf("%s/bst build broken.bst; echo EXIT=$? > %s/exit; sleep 60", binDir, dir), tuiEnv(dir))
	s.waitFor("Choose one of: (c)ontinue (q)uit (t)erminate (r)etry (l)og", 60*time.Second)
	// The log, then a retry that fails again, then quit.
	s.send("l", "Enter")
	s.waitFor("about to fail", 10*time.Second)
	s.send("r", "Enter")
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(s.screen(), "Choose one of") < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := strings.Count(s.screen(), "Choose one of"); n < 3 {
		t.Fatalf("retrying did not fail and ask again (%d prompts):\n%s", n, s.screen())
	}
	s.send("q", "Enter")
	waitFile(t, filepath.Join(dir, "exit"), "EXIT=255", 30*time.Second)
	if sc := s.screen(); !strings.Contains(sc, "Failure Summary") {
		t.Errorf("no failure summary:\n%s", sc)
	}
}

func waitFile(t *testing.T, p, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		data, _ := os.ReadFile(p)
		if strings.TrimSpace(string(data)) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %q, want %q", p, data, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestFailurePromptShell(t *testing.T) {
	dir := busyboxProject(t, map[string]string{
		"broken.bst": "kind: manual\nbuild-depends:\n- base.bst\nconfig:\n  build-commands:\n  - false\n",
	})
	s := startTmux(t, dir, fmt.Sprintf("%s/bst build broken.bst; echo EXIT=$? > %s/exit; sleep 60", binDir, dir), tuiEnv(dir))
	s.waitFor("(l)og (s)hell", 60*time.Second)
	s.send("s", "Enter")
	s.waitFor("A shell in the build sandbox of broken.bst", 30*time.Second)
	// The shell is in the build sandbox: at the build root, with the
	// base's busybox.
	s.send("echo IN-$(pwd)-$(cat /proc/self/comm 2>/dev/null)-SANDBOX", "Enter")
	s.waitFor("IN-/buildstream/tui/broken.bst-", 30*time.Second)
	s.send("exit", "Enter")
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(s.screen(), "Choose one of") < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := strings.Count(s.screen(), "Choose one of"); n < 2 {
		t.Fatalf("leaving the shell did not ask again:\n%s", s.screen())
	}
	s.send("q", "Enter")
	waitFile(t, filepath.Join(dir, "exit"), "EXIT=255", 30*time.Second)
}
