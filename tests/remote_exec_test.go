package tests

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bstgo/bst/cas"
)

var (
	reapiexecOnce sync.Once
	reapiexecErr  error
)

// execService is a running test execution service (tests/reapiexec).
type execService struct {
	Addr string
	mu   sync.Mutex
	log  strings.Builder
}

// Log is what the service has logged so far: one line per action.
func (s *execService) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// count is how many lines of the log start with prefix.
func (s *execService) count(prefix string) int {
	n := 0
	for _, l := range strings.Split(s.Log(), "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// startExecService builds (once) and runs the test execution service on
// a free loopback port until the test ends.
func startExecService(t testing.TB, args ...string) *execService {
	t.Helper()
	reapiexecOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "reapiexec"),
			"github.com/bstgo/bst/tests/reapiexec/cmd/reapiexec").CombinedOutput()
		if err != nil {
			reapiexecErr = &buildError{string(out)}
		}
	})
	if reapiexecErr != nil {
		t.Fatal(reapiexecErr)
	}
	dir, err := os.MkdirTemp("", "reapiexec-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "reapiexec"), append([]string{"--listen", "127.0.0.1:0", "--dir", dir}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &execService{}
	addrc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`serving REAPI execution on (127\.0\.0\.1:[0-9]+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
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
		removeTree(dir)
	})
	select {
	case s.Addr = <-addrc:
		return s
	case <-time.After(30 * time.Second):
		t.Fatalf("reapiexec did not start:\n%s", s.Log())
	}
	return nil
}

type buildError struct{ out string }

func (e *buildError) Error() string { return "building reapiexec: " + e.out }

// removeTree removes dir, making read-only directories writable first.
func removeTree(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	os.RemoveAll(dir)
}

// execProject writes a project whose base.bst imports a busybox
// sysroot, and elements (name → .bst content) built on it.
func execProject(t testing.TB, elements map[string]string) string {
	t.Helper()
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox (busybox-static)")
	}
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("project.conf", "name: demo\nmin-version: 2.0\nelement-path: elements\n", 0o644)
	write("elements/base.bst", "kind: import\nsources:\n- kind: local\n  path: files/base\n", 0o644)
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	write("files/base/bin/busybox", string(bb), 0o755)
	for _, tool := range []string{"sh", "echo", "mkdir", "cat", "false", "true", "sleep", "ls", "touch", "test"} {
		if err := os.Symlink("busybox", filepath.Join(dir, "files/base/bin", tool)); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range elements {
		write("elements/"+name, content, 0o644)
	}
	return dir
}

const helloManual = `kind: manual
build-depends:
- base.bst
config:
  install-commands:
  - echo "building $GREETING remotely"
  - mkdir -p %{install-root}/out
  - echo "$GREETING" > %{install-root}/out/hello.txt
environment:
  GREETING: hello
`

// TestRemoteExecBuild builds an element through the execution service:
// its artifact is what the action left in %{install-root}, the command's
// output is in the element's log, the cache key is the local build's,
// and a second build from an empty local cache is answered by the
// action cache without executing anything.
func TestRemoteExecBuild(t *testing.T) {
	svc := startExecService(t)
	dir := execProject(t, map[string]string{"hello.bst": helloManual})
	home := t.TempDir()
	url := "grpc://" + svc.Addr

	local := t.TempDir()
	localKey := mustBst(t, dir, local, "", "show", "--format", "%{key}", "hello.bst")

	out := mustBst(t, dir, home, "", "--remote-execution", url, "build", "hello.bst")
	if n := svc.count("executing "); n != 1 {
		t.Fatalf("%d actions executed, want 1 (the import runs no command):\n%s\n%s", n, svc.Log(), out)
	}
	key := mustBst(t, dir, home, "", "show", "--format", "%{key}", "hello.bst")
	if key != localKey {
		t.Errorf("remote build key %q, local %q", key, localKey)
	}
	co := filepath.Join(t.TempDir(), "co")
	mustBst(t, dir, home, "", "artifact", "checkout", "--directory", co, "hello.bst")
	if got, err := os.ReadFile(filepath.Join(co, "out/hello.txt")); err != nil || string(got) != "hello\n" {
		t.Fatalf("checked out %q, %v", got, err)
	}
	logs, _ := filepath.Glob(filepath.Join(home, "cache", "bst", "logs", "demo", "hello", "*build*"))
	if len(logs) == 0 {
		logs, _ = filepath.Glob(filepath.Join(home, "cache", "*", "logs", "*", "*", "*"))
	}
	var logText string
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		logText += string(b)
	}
	if !strings.Contains(logText, "building hello remotely") || !strings.Contains(logText, "executed remotely") {
		t.Errorf("the element's log lacks the action's output (%v):\n%s", logs, logText)
	}

	// An empty local cache: the artifact must be built again, and the
	// action cache answers.
	home2 := t.TempDir()
	mustBst(t, dir, home2, "", "--remote-execution", url, "build", "hello.bst")
	if n := svc.count("executing "); n != 1 {
		t.Fatalf("%d actions executed after an action cache hit, want 1:\n%s", n, svc.Log())
	}
	co2 := filepath.Join(t.TempDir(), "co")
	mustBst(t, dir, home2, "", "artifact", "checkout", "--directory", co2, "hello.bst")
	if got, err := os.ReadFile(filepath.Join(co2, "out/hello.txt")); err != nil || string(got) != "hello\n" {
		t.Fatalf("checked out %q, %v after a cache hit", got, err)
	}
}

// TestRemoteExecWritableRoot: batches that change the root itself (the
// integration commands run before a build and by a compose element) run
// remotely too, with the whole input root as their output, and leave
// the artifacts a local build leaves.
func TestRemoteExecWritableRoot(t *testing.T) {
	svc := startExecService(t)
	dir := execProject(t, map[string]string{
		"tools.bst": "kind: stack\ndepends:\n- base.bst\npublic:\n  bst:\n    integration-commands:\n" +
			"    - mkdir -p /etc\n    - echo integrated > /etc/integrated\n",
		"user.bst": "kind: manual\nbuild-depends:\n- tools.bst\nconfig:\n  install-commands:\n" +
			"  - mkdir -p %{install-root}/out\n  - cat /etc/integrated > %{install-root}/out/seen\n",
		"image.bst": "kind: compose\nbuild-depends:\n- tools.bst\nconfig:\n  integrate: true\n",
	})
	remote, local := t.TempDir(), t.TempDir()
	mustBst(t, dir, remote, "", "--remote-execution", "grpc://"+svc.Addr, "build", "user.bst", "image.bst")
	// user.bst: integration and its commands; image.bst: integration.
	if n := svc.count("executing "); n != 3 {
		t.Fatalf("%d actions executed, want 3:\n%s", n, svc.Log())
	}
	mustBst(t, dir, local, "", "build", "user.bst", "image.bst")
	for _, name := range []string{"user.bst", "image.bst"} {
		rco, lco := filepath.Join(t.TempDir(), "r"), filepath.Join(t.TempDir(), "l")
		mustBst(t, dir, remote, "", "artifact", "checkout", "--directory", rco, name)
		mustBst(t, dir, local, "", "artifact", "checkout", "--directory", lco, name)
		if r, l := listTree(t, rco), listTree(t, lco); r != l {
			t.Errorf("%s built remotely holds\n%s\nlocally\n%s", name, r, l)
		}
	}
	co := filepath.Join(t.TempDir(), "co")
	mustBst(t, dir, remote, "", "artifact", "checkout", "--directory", co, "user.bst")
	if got, err := os.ReadFile(filepath.Join(co, "out/seen")); err != nil || string(got) != "integrated\n" {
		t.Errorf("the build did not see the integrated root: %q, %v", got, err)
	}
	co = filepath.Join(t.TempDir(), "co")
	mustBst(t, dir, remote, "", "artifact", "checkout", "--directory", co, "image.bst")
	if got, err := os.ReadFile(filepath.Join(co, "etc/integrated")); err != nil || string(got) != "integrated\n" {
		t.Errorf("the composed image lacks what integration wrote: %q, %v", got, err)
	}
}

// listTree lists the files under dir with their kind and content (for
// regular files), one a line.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(&b, "%s %s", rel, info.Mode().Type())
		switch {
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %x %v", sha256.Sum256(data), info.Mode()&0o111 != 0)
		case info.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(&b, " -> %s", target)
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestRemoteExecBrokenStream follows operations with WaitExecution when
// the Execute stream breaks.
func TestRemoteExecBrokenStream(t *testing.T) {
	svc := startExecService(t, "--break-streams")
	dir := execProject(t, map[string]string{"hello.bst": helloManual})
	home := t.TempDir()
	mustBst(t, dir, home, "", "--remote-execution", "grpc://"+svc.Addr, "build", "hello.bst")
	if svc.count("wait ") == 0 {
		t.Errorf("the broken stream was not followed with WaitExecution:\n%s", svc.Log())
	}
	co := filepath.Join(t.TempDir(), "co")
	mustBst(t, dir, home, "", "artifact", "checkout", "--directory", co, "hello.bst")
	if got, err := os.ReadFile(filepath.Join(co, "out/hello.txt")); err != nil || string(got) != "hello\n" {
		t.Fatalf("checked out %q, %v", got, err)
	}
}

// TestRemoteExecFailures: a failing command fails the build as a local
// one does (a failed artifact, the command's output in the log), and a
// lost worker is reported with the action's digest.
func TestRemoteExecFailures(t *testing.T) {
	svc := startExecService(t)
	dir := execProject(t, map[string]string{
		"fail.bst": "kind: manual\nbuild-depends:\n- base.bst\nconfig:\n  build-commands:\n  - echo about to fail\n  - exit 3\n",
		"lost.bst": "kind: manual\nbuild-depends:\n- base.bst\nconfig:\n  build-commands:\n  - true\nenvironment:\n  REAPIEXEC_LOSE_WORKER: yes\n",
	})
	home := t.TempDir()
	url := "grpc://" + svc.Addr
	out := failBst(t, dir, home, `Command .exit 3. failed with exitcode 3`, "--remote-execution", url, "build", "fail.bst")
	if !strings.Contains(out, "about to fail") {
		t.Errorf("the failure does not show the command's output:\n%s", out)
	}
	mustBst(t, dir, home, "failed", "artifact", "show", "fail.bst")
	out = failBst(t, dir, home, `worker lost`, "--remote-execution", url, "build", "lost.bst")
	if !regexp.MustCompile(`action [0-9a-f]{64}/[0-9]+`).MatchString(out) {
		t.Errorf("a lost worker is not reported with the action digest:\n%s", out)
	}
	// A lost worker says nothing about the element: no failed artifact.
	mustBst(t, dir, home, "not cached", "artifact", "show", "lost.bst")
}

// TestRemoteExecSocket: an element with sandbox.remote-apis-socket built
// remotely asks the worker for the socket with the remoteApisSocketPath
// property, and finds it in its sandbox there.
func TestRemoteExecSocket(t *testing.T) {
	svc := startExecService(t)
	dir := execProject(t, map[string]string{
		"sock.bst": "kind: manual\nbuild-depends:\n- base.bst\nconfig:\n  install-commands:\n" +
			"  - test -S /run/reapi/casd.sock\n  - mkdir -p %{install-root}/out\n  - echo socket-ok > %{install-root}/out/ok\n" +
			"sandbox:\n  remote-apis-socket:\n    path: /run/reapi/casd.sock\n",
	})
	home := t.TempDir()
	mustBst(t, dir, home, "", "--remote-execution", "grpc://"+svc.Addr, "build", "sock.bst")
	if n := svc.count("executing "); n != 1 {
		t.Fatalf("%d actions executed, want 1:\n%s", n, svc.Log())
	}
	co := filepath.Join(t.TempDir(), "co")
	mustBst(t, dir, home, "", "artifact", "checkout", "--directory", co, "sock.bst")
	if got, err := os.ReadFile(filepath.Join(co, "out/ok")); err != nil || string(got) != "socket-ok\n" {
		t.Fatalf("checked out %q, %v", got, err)
	}
}

// TestRemoteExecTimeout: an action the service stops at its timeout is
// reported as a timeout with the action digest, and is not cached as the
// element's failure.
func TestRemoteExecTimeout(t *testing.T) {
	svc := startExecService(t, "--timeout", "1s")
	dir := execProject(t, map[string]string{
		"slow.bst": "kind: manual\nbuild-depends:\n- base.bst\nconfig:\n  build-commands:\n  - sleep 10\n",
	})
	home := t.TempDir()
	out := failBst(t, dir, home, `remote execution timed out`, "--remote-execution", "grpc://"+svc.Addr, "build", "slow.bst")
	if !regexp.MustCompile(`action [0-9a-f]{64}/[0-9]+`).MatchString(out) {
		t.Errorf("a timeout is not reported with the action digest:\n%s", out)
	}
	if svc.count("timed out ") != 1 {
		t.Errorf("the service did not time the action out:\n%s", svc.Log())
	}
	mustBst(t, dir, home, "not cached", "artifact", "show", "slow.bst")
}

// TestRemoteExecConfig: the user configuration's remote-execution
// section moves builds, as --remote-execution does, and a section
// without a storage-service is refused.
func TestRemoteExecConfig(t *testing.T) {
	svc := startExecService(t)
	dir := execProject(t, map[string]string{"hello.bst": helloManual})
	home := t.TempDir()
	conf := filepath.Join(home, "bst.conf")
	spec := "    url: grpc://" + svc.Addr + "\n"
	os.WriteFile(conf, []byte("remote-execution:\n  execution-service:\n"+spec+"  storage-service:\n"+spec+"  action-cache-service:\n"+spec), 0o644)
	mustBst(t, dir, home, "", "--config", conf, "build", "hello.bst")
	if n := svc.count("executing "); n != 1 {
		t.Fatalf("%d actions executed, want 1:\n%s", n, svc.Log())
	}
	bad := filepath.Join(home, "bad.conf")
	os.WriteFile(bad, []byte("projects:\n  demo:\n    remote-execution:\n      execution-service:\n"+"    "+spec), 0o644)
	failBst(t, dir, t.TempDir(), "storage-service", "--config", bad, "build", "hello.bst")
}

// TestRemoteExecCancel: interrupting bst while an action runs cancels
// the remote operation. bst is interrupted only once the action's command
// has printed something: a cancellation that lands while the worker's
// sandbox is still starting is not seen by the sandbox (see
// docs/remote-execution.md), which this test is not about.
func TestRemoteExecCancel(t *testing.T) {
	svc := startExecService(t)
	dir := execProject(t, map[string]string{
		"slow.bst": "kind: manual\nbuild-depends:\n- base.bst\nconfig:\n  build-commands:\n  - echo slow-started\n  - sleep 120\n",
	})
	home := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "bst"), "--no-interactive", "--remote-execution", "grpc://"+svc.Addr, "build", "slow.bst")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !regexp.MustCompile(`(?m)^output \S+: slow-started$`).MatchString(svc.Log()) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the action never started:\n%s\n%s", svc.Log(), out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("an interrupted build succeeded:\n%s", out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("bst did not stop when interrupted:\n%s", out.String())
	}
	for svc.count("cancelled ") == 0 {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("the remote operation was not cancelled:\n%s", svc.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRemoteAPIsSocket: an element asking for sandbox.remote-apis-socket
// finds a Unix socket at that path in its sandbox, in each of two builds
// in one session.
func TestRemoteAPIsSocket(t *testing.T) {
	sock := "sandbox:\n  remote-apis-socket:\n    path: /run/reapi/casd.sock\n"
	home := settledTempDir(t)
	dir := execProject(t, map[string]string{
		"a.bst": "kind: manual\nbuild-depends:\n- base.bst\nconfig:\n  build-commands:\n  - test -S /run/reapi/casd.sock && echo socket-ok-a\n" + sock,
		"b.bst": "kind: manual\nbuild-depends:\n- base.bst\n- a.bst\nconfig:\n  build-commands:\n  - test -S /run/reapi/casd.sock && echo socket-ok-b\n" + sock +
			"    action-cache-enable-update: true\n",
	})
	mustBst(t, dir, home, "", "build", "b.bst")
	logs, _ := filepath.Glob(filepath.Join(home, "cache", "bst", "logs", "demo", "*", "*build*"))
	var text string
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		text += string(b)
	}
	if !strings.Contains(text, "socket-ok-a") || !strings.Contains(text, "socket-ok-b") {
		t.Errorf("the socket was not in the sandbox:\n%s", text)
	}

	// While a build runs, what is behind the socket answers REAPI calls:
	// a blob written through it is found again.
	writeFile(t, filepath.Join(dir, "elements", "slow.bst"), "kind: manual\nbuild-depends:\n- base.bst\nconfig:\n  build-commands:\n  - sleep 10\n"+sock)
	tmp := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "bst"), "--no-interactive", "build", "slow.bst")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "TMPDIR="+tmp)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var socks []string
	for deadline := time.Now().Add(30 * time.Second); len(socks) == 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		socks, _ = filepath.Glob(filepath.Join(tmp, "bst-reapi-*", "casd.sock"))
	}
	if len(socks) == 0 {
		t.Fatal("no remote-apis socket appeared during the build")
	}
	r, err := cas.DialRemote(cas.RemoteSpec{URL: "unix:" + socks[0], Type: cas.RemoteStorage, Push: true, RetryLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	blob := []byte("compiled by recc")
	d := cas.NewDigest(blob)
	if err := r.Put(ctx, d, bytes.NewReader(blob)); err != nil {
		t.Fatalf("writing through the socket: %v", err)
	}
	if missing, err := r.FindMissing(ctx, []cas.Digest{d}); err != nil || len(missing) != 0 {
		t.Fatalf("the blob written through the socket is missing: %v, %v", missing, err)
	}
}

// TestRemoteAPIsSocketRemoteCache: with a remote-execution
// action-cache-service and no execution-service, builds run locally and
// the socket in the sandbox forwards to the configured storage and
// action cache (as buildbox-casd does for BuildStream): a blob and an
// action result written through it are found on the remote, under the
// remote's instance name.
func TestRemoteAPIsSocketRemoteCache(t *testing.T) {
	addr := bstServer(t, "--cache-dir", t.TempDir())
	home := settledTempDir(t)
	dir := execProject(t, map[string]string{
		"slow.bst": "kind: manual\nbuild-depends:\n- base.bst\nconfig:\n  build-commands:\n  - sleep 60\n" +
			"sandbox:\n  remote-apis-socket:\n    path: /run/reapi/casd.sock\n    action-cache-enable-update: true\n",
	})
	conf := filepath.Join(home, "bst.conf")
	spec := "    url: grpc://" + addr + "\n    instance-name: main\n"
	writeFile(t, conf, "remote-execution:\n  storage-service:\n"+spec+"  action-cache-service:\n"+spec+"    push: true\n")
	tmp := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "bst"), "--no-interactive", "--config", conf, "build", "slow.bst")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "TMPDIR="+tmp)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var socks []string
	for deadline := time.Now().Add(60 * time.Second); len(socks) == 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		socks, _ = filepath.Glob(filepath.Join(tmp, "bst-reapi-*", "casd.sock"))
	}
	if len(socks) == 0 {
		t.Fatalf("no remote-apis socket appeared during the build:\n%s", out.String())
	}
	ctx := context.Background()
	nested, err := cas.DialRemote(cas.RemoteSpec{URL: "unix:" + socks[0], Type: cas.RemoteStorage, Push: true, RetryLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer nested.Close()
	blob := []byte("compiled by recc, shared")
	d := cas.NewDigest(blob)
	if err := nested.Put(ctx, d, bytes.NewReader(blob)); err != nil {
		t.Fatalf("writing through the socket: %v", err)
	}
	conn, err := grpc.NewClient("unix:"+socks[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	action := cas.NewDigest([]byte("cc -c hello.c"))
	if _, err := repb.NewActionCacheClient(conn).UpdateActionResult(ctx, &repb.UpdateActionResultRequest{
		ActionDigest: action.Proto(), ActionResult: &repb.ActionResult{StdoutDigest: d.Proto()}}); err != nil {
		t.Fatalf("updating the action cache through the socket: %v", err)
	}

	remote, err := cas.DialRemote(cas.RemoteSpec{URL: "grpc://" + addr, InstanceName: "main", Type: cas.RemoteStorage, RetryLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	if missing, err := remote.FindMissing(ctx, []cas.Digest{d}); err != nil || len(missing) != 0 {
		t.Fatalf("the blob written through the socket is not on the storage-service: %v, %v", missing, err)
	}
	rconn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer rconn.Close()
	if _, err := repb.NewActionCacheClient(rconn).GetActionResult(ctx, &repb.GetActionResultRequest{
		InstanceName: "main", ActionDigest: action.Proto()}); err != nil {
		t.Fatalf("the action result written through the socket is not on the action-cache-service: %v", err)
	}
}

// settledTempDir is t.TempDir for a cache that bst processes may still be
// emptying in the background when the test ends: its removal is retried
// for a few seconds.
func settledTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "bst-settled-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; ; i++ {
			err := os.RemoveAll(dir)
			if err == nil || i == 50 {
				if err != nil {
					t.Errorf("removing %s: %v", dir, err)
				}
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return dir
}
