package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bstgo/bst/cas"
)

func TestRunExitCodes(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		script string
		want   int
	}{
		{"true", 0},
		{"exit 3", 3},
		{"sh -c 'kill -9 $$'; exit $?", 137}, // the shell's status for a child killed by SIGKILL
	} {
		if r := f.sh(t, c.script); r.code != c.want {
			t.Errorf("%q: exit %d, want %d (stderr %q)", c.script, r.code, c.want, r.stderr)
		}
	}
}

func TestRunMissingCommandIsAnError(t *testing.T) {
	f := newFixture(t)
	code, err := f.sb.Run(context.Background(), Config{Root: f.root, Args: []string{"/bin/no-such-command"}, Env: env})
	if err == nil || !strings.Contains(err.Error(), "no-such-command") {
		t.Fatalf("got %d, %v; want an error naming the command", code, err)
	}
}

func TestRunOutput(t *testing.T) {
	f := newFixture(t)
	r := f.sh(t, "echo out; echo err >&2")
	if r.stdout != "out\n" || r.stderr != "err\n" {
		t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
	var out bytes.Buffer
	code, err := f.sb.Run(context.Background(), Config{Root: f.root, Args: []string{"/bin/cat"}, Env: env,
		Stdin: strings.NewReader("from stdin"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "from stdin" {
		t.Errorf("cat: %d, %v, %q", code, err, out.String())
	}
}

// TestStdinThatNeverEnds: a command that does not read all its input
// ends the run all the same.
func TestStdinThatNeverEnds(t *testing.T) {
	f := newFixture(t)
	pr, pw := io.Pipe()
	defer pw.Close()
	done := make(chan error, 1)
	go func() {
		_, err := f.sb.Run(context.Background(), Config{Root: f.root, Args: []string{"true"}, Env: env, Stdin: pr})
		done <- err
	}()
	go pw.Write([]byte("some input"))
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run waits for a Stdin that never ends")
	}
}

func TestEnvironmentAndWorkingDirectory(t *testing.T) {
	f := newFixture(t)
	var out bytes.Buffer
	code, err := f.sb.Run(context.Background(), Config{Root: f.root, Args: []string{"/bin/env"}, Stdout: &out,
		Env: []string{"PATH=/bin", "B=2", "A=1", "HOME=/h"}})
	if err != nil || code != 0 {
		t.Fatal(code, err)
	}
	if got := strings.Fields(out.String()); strings.Join(got, " ") != "PATH=/bin B=2 A=1 HOME=/h" {
		t.Errorf("environment %q, want exactly the one given, in order", got)
	}
	// Without HOME, HOME comes from the root's /etc/passwd, as libcontainer does.
	out.Reset()
	if _, err := f.sb.Run(context.Background(), Config{Root: f.root, Args: []string{"/bin/env"}, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "HOME=/root" {
		t.Errorf("environment %q", got)
	}
	if out := f.ok(t, "pwd", func(c *Config) { c.Cwd = "/bin" }); out != "/bin\n" {
		t.Errorf("pwd %q", out)
	}
	// A working directory missing from the root is created.
	if out := f.ok(t, "pwd", func(c *Config) { c.Cwd = "/work/here" }); out != "/work/here\n" {
		t.Errorf("pwd %q", out)
	}
	if out := f.ok(t, "pwd", func(c *Config) { c.Cwd = "/etc/new/dir" }); out != "/etc/new/dir\n" {
		t.Errorf("pwd %q", out)
	}
}

func TestDefaultIDsAreRoot(t *testing.T) {
	f := newFixture(t)
	if out := f.ok(t, "id -u; id -g"); out != "0\n0\n" {
		t.Errorf("uid/gid inside: %q, want 0 and 0", out)
	}
}

func TestNonZeroIDs(t *testing.T) {
	f := newFixture(t)
	run := func(c *Config) { c.UID, c.GID = 1000, 1000 }
	if os.Geteuid() != 0 {
		_, err := f.sb.Run(context.Background(), Config{Root: f.root, Args: []string{"true"}, Env: env, UID: 1000, GID: 1000})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Check != "ids" {
			t.Fatalf("uid 1000 as an unprivileged user: %v; want the ids check to refuse it", err)
		}
		return
	}
	if out := f.ok(t, "id -u; id -g", run); out != "1000\n1000\n" {
		t.Errorf("uid/gid inside: %q, want 1000 and 1000", out)
	}
}

func TestWritableDirectories(t *testing.T) {
	f := newFixture(t)
	build, install := t.TempDir(), t.TempDir()
	must(t, os.WriteFile(filepath.Join(build, "source.c"), []byte("int main;\n"), 0o644))
	f.ok(t, "cat /buildstream/proj/hello/source.c > /buildstream-install/copy && mkdir /buildstream-install/usr && echo hi > /buildstream-install/usr/hi",
		func(c *Config) {
			c.Writable = []WritableDir{
				{Path: "/buildstream/proj/hello", HostPath: build},
				{Path: "/buildstream-install", HostPath: install},
			}
			c.Cwd = "/buildstream/proj/hello"
		})
	if b, err := os.ReadFile(filepath.Join(install, "copy")); err != nil || string(b) != "int main;\n" {
		t.Errorf("copy on the host: %q, %v", b, err)
	}
	st, err := os.Stat(filepath.Join(install, "usr", "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if uid := fileUID(st); uid != os.Geteuid() {
		t.Errorf("a file written inside belongs to host uid %d, want the caller's %d", uid, os.Geteuid())
	}
}

func TestReadOnlyRoot(t *testing.T) {
	f := newFixture(t)
	staged := f.stagedPath(t)
	// The staged busybox is a hardlink to a stored object.
	bb, err := os.ReadFile(filepath.Join(f.tree, "bin", "busybox"))
	must(t, err)
	obj := f.store.ObjectPath(cas.NewDigest(bb))
	var objects []string
	for _, p := range []string{obj, obj + ".x"} {
		if sameFile(t, p, filepath.Join(staged, "bin", "busybox")) {
			objects = append(objects, p)
		}
	}
	if len(objects) == 0 {
		t.Fatalf("the staged busybox is not a hardlink to the stored object %s", obj)
	}
	want := sha256.Sum256(bb)
	for _, script := range []string{
		"touch /new-file",
		"touch /bin/new-file",
		"echo x >> /bin/busybox",
		"echo x > /bin/busybox",
		"echo x > /etc/passwd",
		"chmod 777 /bin/busybox",
		"rm /etc/group",
		"mkdir /etc/new",
		"mv /bin/busybox /bin/bb",
		"mount -o remount,rw / && touch /bin/new-file",
		"mount -o remount,rw /bin && touch /bin/new-file",
		// A user namespace of its own gives every capability, over it.
		"unshare -Urm sh -c 'mount -o remount,rw / && touch /bin/new-file'",
		"unshare -Urm sh -c 'mount -o remount,bind,rw / && touch /bin/new-file'",
		"unshare -Urm sh -c 'mount --bind /bin /tmp && touch /tmp/new-file'",
	} {
		if r := f.sh(t, script); r.code == 0 {
			t.Errorf("%q succeeded on the read-only root", script)
		}
	}
	for _, p := range objects {
		if hashFile(t, p) != want {
			t.Errorf("the stored object %s changed", p)
		}
		if st, err := os.Stat(p); err != nil || st.Mode().Perm()&0o222 != 0 {
			t.Errorf("the stored object %s: %v, %v", p, st.Mode(), err)
		}
	}
	if _, err := os.Stat(filepath.Join(staged, "bin", "new-file")); err == nil {
		t.Errorf("a file appeared in the staged root")
	}
	if _, err := os.Stat(filepath.Join(staged, "etc", "group")); err != nil {
		t.Errorf("/etc/group: %v", err)
	}
}

func sameFile(t *testing.T, a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	must(t, err)
	return os.SameFile(sa, sb)
}

func TestHostIsInvisible(t *testing.T) {
	f := newFixture(t)
	markerDir := t.TempDir()
	marker := filepath.Join(markerDir, "marker")
	must(t, os.WriteFile(marker, []byte("host secret"), 0o644))
	for _, script := range []string{
		"cat " + marker,
		"ls " + markerDir,
		"ls /home",
		"cat /etc/hostname",
		"ls /usr",
		"ls /root",
		"ls /sys",
	} {
		if r := f.sh(t, script); r.code == 0 {
			t.Errorf("%q succeeded: %q", script, r.stdout)
		}
	}
	// The top directory holds the root's entries and the sandbox's mount
	// points.
	if out := f.ok(t, "ls -a /"); strings.Fields(out) != nil {
		got := strings.Join(strings.Fields(out), " ")
		if got != ". .. bin dev etc proc sbin tmp" {
			t.Errorf("ls -a /: %s", got)
		}
	}
	// Its own pid namespace: the command is pid 1, alone.
	out := strings.Fields(f.ok(t, "echo $$; ls /proc | grep '^[0-9]' | wc -l"))
	if n, _ := strconv.Atoi(out[1]); out[0] != "1" || n > 4 {
		t.Errorf("pids inside: %q, want the shell as pid 1 and at most 4 processes", out)
	}
	if out := f.ok(t, "hostname"); out != "localhost\n" {
		t.Errorf("hostname %q", out)
	}
}

func TestDevices(t *testing.T) {
	f := newFixture(t)
	out := f.ok(t, "ls /dev; echo x > /dev/null; head -c 4 /dev/zero | wc -c; head -c 4 /dev/urandom | wc -c")
	got := strings.Fields(out)
	want := "fd full null ptmx random shm stderr stdin stdout tty urandom zero 4 4"
	if strings.Join(got, " ") != want {
		t.Errorf("/dev: %s\nwant %s", strings.Join(got, " "), want)
	}
	if r := f.sh(t, "touch /dev/new"); r.code == 0 {
		t.Errorf("/dev is writable")
	}
}

func TestPrivateTmp(t *testing.T) {
	f := newFixture(t)
	hostMarker, err := os.CreateTemp("", "bst-sandbox-host-marker-")
	must(t, err)
	hostMarker.Close()
	defer os.Remove(hostMarker.Name())
	if out := f.ok(t, "ls -A /tmp"); out != "" {
		t.Errorf("/tmp is not empty: %q", out)
	}
	f.ok(t, "echo x > /tmp/left-behind && ls /tmp")
	if out := f.ok(t, "ls -A /tmp"); out != "" {
		t.Errorf("/tmp of an earlier sandbox is visible: %q", out)
	}
	if _, err := os.Stat(filepath.Join(os.TempDir(), "left-behind")); err == nil {
		t.Errorf("a file written to /tmp inside appeared on the host")
	}
}

func TestNoNetwork(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello from the host\n"))
			c.Close()
			accepted <- c
		}
	}()
	connect := fmt.Sprintf("nc -w 2 127.0.0.1 %d </dev/null", port)

	// Without network: only lo, and the host's loopback is not reachable.
	if out := f.ok(t, "cat /proc/net/dev | tail -n +3 | cut -d: -f1"); strings.Join(strings.Fields(out), " ") != "lo" {
		t.Errorf("interfaces without network: %q, want only lo", out)
	}
	r := f.sh(t, connect)
	if strings.Contains(r.stdout, "hello") {
		t.Errorf("reached the host's loopback server from a sandbox without network")
	}
	select {
	case <-accepted:
		t.Errorf("the host's server accepted a connection from a sandbox without network")
	case <-time.After(100 * time.Millisecond):
	}

	// With network (the host's namespace), the same command reaches it:
	// the check above can fail.
	r = f.sh(t, connect, func(c *Config) { c.Network = true })
	if !strings.Contains(r.stdout, "hello from the host") {
		t.Errorf("with network on, the host's server was not reached: %+v", r)
	}
}

func TestSetuidGivesNoPrivilege(t *testing.T) {
	// A setuid (or setgid, or file-capability) binary could raise a
	// command's ids only if it were on a mount without nosuid and the
	// process lacked no_new_privs. The process has no_new_privs; every
	// mount a file can be written to or brought in through is nosuid; and
	// the root, the one mount that is not, comes from the CAS, which keeps
	// only an executable bit, so it holds no setuid file.
	tree := busyboxTree(t)
	copyFile(t, busybox, filepath.Join(tree, "bin", "suid"), 0o755)
	must(t, os.Chmod(filepath.Join(tree, "bin", "suid"), 0o6755))
	f := newFixtureFrom(t, tree)
	out := f.ok(t, "cat /proc/self/mountinfo; stat -c '%a %n' /bin/suid; grep NoNewPrivs /proc/self/status", func(c *Config) {
		c.Writable = []WritableDir{{Path: "/out", HostPath: t.TempDir()}}
		c.Mounts = []Mount{{Source: t.TempDir(), Destination: "/in"}}
	})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; strings.Join(strings.Fields(last), " ") != "NoNewPrivs: 1" {
		t.Errorf("no_new_privs: %q", last)
	}
	if mode := lines[len(lines)-2]; mode != "555 /bin/suid" {
		t.Errorf("a setuid file of the tree is staged as %q, want mode 555", mode)
	}
	for _, l := range lines[:len(lines)-2] {
		fs := strings.Fields(l)
		if len(fs) < 6 {
			continue
		}
		mountPoint, opts, fsType := fs[4], fs[5], fs[len(fs)-3]
		switch {
		case hasOpt(opts, "nosuid"):
		case mountPoint == "/":
			// The staged root (read-only; checked above).
			if !hasOpt(opts, "ro") {
				t.Errorf("the root is not read-only: %s", l)
			}
		case fsType == "devtmpfs" && fs[3] != "/":
			// A device node (of /dev, or masking a /proc file): not
			// something to execute.
		case fsType == "tmpfs" && hasOpt(opts, "ro") && strings.HasPrefix(mountPoint, "/proc/"):
			// An empty read-only tmpfs masking a /proc directory.
		default:
			t.Errorf("%s is mounted without nosuid: %s", mountPoint, l)
		}
	}

	// A setuid copy of busybox, owned by the calling user (uid 0 inside),
	// gives no other host uid: files it creates belong to the caller.
	out2 := t.TempDir()
	f.ok(t, "cp /bin/busybox /out/busybox && chmod 4755 /out/busybox && /out/busybox id -u > /out/id && /out/busybox touch /out/made", func(c *Config) {
		c.Writable = []WritableDir{{Path: "/out", HostPath: out2}}
	})
	st, err := os.Stat(filepath.Join(out2, "busybox"))
	must(t, err)
	if st.Mode()&os.ModeSetuid == 0 {
		t.Fatalf("the copy is not setuid: %v", st.Mode())
	}
	st, err = os.Stat(filepath.Join(out2, "made"))
	must(t, err)
	if fileUID(st) != os.Geteuid() {
		t.Errorf("a file made through the setuid binary belongs to host uid %d, not the caller's %d", fileUID(st), os.Geteuid())
	}

	// As root, a second id can be mapped: a setuid-root binary run by uid
	// 1000 inside must leave it 1000.
	if os.Geteuid() != 0 {
		t.Log("not root: only uid 0 exists inside, so a setuid-root binary cannot change the uid")
		return
	}
	suidDir := t.TempDir()
	must(t, os.Chmod(suidDir, 0o755))
	copyFile(t, busybox, filepath.Join(suidDir, "busybox"), 0o755)
	must(t, os.Chmod(filepath.Join(suidDir, "busybox"), 0o4755))
	r := f.sh(t, "id -u; /suid/busybox id -u", func(c *Config) {
		c.UID, c.GID = 1000, 1000
		c.Mounts = []Mount{{Source: suidDir, Destination: "/suid"}}
	})
	if got := strings.Fields(r.stdout); len(got) < 2 || got[0] != "1000" || got[1] != "1000" {
		t.Errorf("uid 1000 running a setuid-root binary: %q (stderr %q), want 1000 twice", r.stdout, r.stderr)
	}
}

func hasOpt(opts, o string) bool {
	for _, x := range strings.Split(opts, ",") {
		if x == o {
			return true
		}
	}
	return false
}

// TestCannotReplaceBinary runs the test binary itself inside the sandbox
// (through /proc/self/exe, as CVE-2019-5736 did with runc) and has it try
// to open its own executable for writing.
func TestCannotReplaceBinary(t *testing.T) {
	f := newFixture(t)
	exe, err := Executable()
	must(t, err)
	before := hashFile(t, exe)
	mounts := libraryMounts(t, exe)
	var out, errb bytes.Buffer
	code, err := f.sb.Run(context.Background(), Config{
		Root:   f.root,
		Args:   []string{"/proc/self/exe"},
		Env:    append([]string{overwriteExeEnv + "=1"}, env...),
		Mounts: mounts,
		Stdout: &out, Stderr: &errb,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("inside: %s%s", out.String(), errb.String())
	if code != 0 {
		t.Errorf("the binary inside could write to its executable (exit %d)", code)
	}
	if !strings.Contains(out.String(), "running inside") || !strings.Contains(out.String(), "after exec: not written") {
		t.Errorf("the test binary did not run inside the sandbox")
	}
	if after := hashFile(t, exe); after != before {
		t.Fatalf("%s was modified", exe)
	}
}

const overwriteExeEnv = "BST_SANDBOX_TEST_OVERWRITE_EXE"

// overwriteSelfExe runs inside a sandbox: every way of writing to
// /proc/self/exe must fail. It returns 0 if they all did.
func overwriteSelfExe() int {
	fmt.Println("running inside, pid", os.Getpid())
	code := 0
	try := func(what string, flags int) {
		f, err := os.OpenFile("/proc/self/exe", flags, 0)
		if err != nil {
			fmt.Printf("%s: open: %v\n", what, err)
			return
		}
		defer f.Close()
		if _, err := f.Write([]byte("overwritten")); err != nil {
			fmt.Printf("%s: write: %v\n", what, err)
			return
		}
		fmt.Printf("%s: WRITTEN\n", what)
		code = 1
	}
	try("O_WRONLY", os.O_WRONLY)
	try("O_RDWR", os.O_RDWR)
	try("O_WRONLY|O_TRUNC", os.O_WRONLY|os.O_TRUNC)
	// Re-opening an O_PATH descriptor through /proc/self/fd.
	if p, err := os.OpenFile("/proc/self/exe", 0x200000 /* O_PATH */, 0); err == nil {
		if f, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(p.Fd())), os.O_WRONLY, 0); err == nil {
			if _, err := f.Write([]byte("overwritten")); err == nil {
				fmt.Println("O_PATH reopen: WRITTEN")
				code = 1
			} else {
				fmt.Println("O_PATH reopen: write:", err)
			}
			f.Close()
		} else {
			fmt.Println("O_PATH reopen: open:", err)
		}
		p.Close()
	}
	if code != 0 {
		return code
	}
	// CVE-2019-5736's way: keep an O_PATH descriptor of the executable open
	// across an exec (so that it is no longer busy), then write through it.
	fd, err := syscall.Open("/proc/self/exe", 0x200000 /* O_PATH */, 0)
	if err != nil {
		fmt.Println("O_PATH:", err)
		return 1
	}
	script := fmt.Sprintf("if echo overwritten > /proc/self/fd/%d; then echo 'after exec: WRITTEN'; exit 1; fi; echo 'after exec: not written'", fd)
	err = syscall.Exec("/bin/sh", []string{"sh", "-c", script}, os.Environ())
	fmt.Println("exec:", err)
	return 1
}

// libraryMounts are read-only mounts of the dynamic loader and libraries
// a host binary needs, at their host paths.
func libraryMounts(t *testing.T, exe string) []Mount {
	out, err := exec.Command("ldd", exe).Output()
	if err != nil {
		t.Skipf("ldd %s: %v", exe, err)
	}
	var ms []Mount
	for _, l := range strings.Split(string(out), "\n") {
		for _, fld := range strings.Fields(l) {
			if filepath.IsAbs(fld) {
				ms = append(ms, Mount{Source: fld, Destination: fld})
			}
		}
	}
	return ms
}

func TestCancelKillsEverything(t *testing.T) {
	f := newFixture(t)
	// A number no other process on the machine uses.
	secs := strconv.Itoa(1000000 + os.Getpid()%100000)
	mountsBefore := hostMounts(t, f.sb.Dir())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var code int
	go func() {
		var err error
		code, err = f.sb.Run(ctx, Config{Root: f.root, Env: env,
			Args: []string{"sh", "-c", "sleep " + secs + " & sleep " + secs + " & (sleep " + secs + " &) ; sleep " + secs}})
		done <- err
	}()
	// Wait until the host sees the sleeps.
	deadline := time.Now().Add(30 * time.Second)
	for len(processesWith(t, "sleep "+secs)) < 4 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the sleeps did not start: %v", processesWith(t, "sleep "+secs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	runDirs, _ := filepath.Glob(filepath.Join(f.sb.Dir(), "run-*"))
	if len(runDirs) != 1 {
		t.Errorf("state directories while running: %v", runDirs)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %d, %v; want context.Canceled", code, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	if left := processesWith(t, "sleep "+secs); len(left) != 0 {
		t.Errorf("processes left after cancellation: %v", left)
	}
	for _, d := range runDirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("state directory %s left behind: %v", d, err)
		}
	}
	if after := hostMounts(t, f.sb.Dir()); after != mountsBefore || after != "" {
		t.Errorf("host mounts of the sandbox's directory:\nbefore:\n%s\nafter:\n%s", mountsBefore, after)
	}
}

const orphanEnv = "BST_SANDBOX_TEST_ORPHAN"

// runUntilKilled runs in a child process of TestParentDeathKillsSandbox:
// it starts a sandbox with sleeps and waits to be killed.
func runUntilKilled(secs string) int {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "orphan-")
	if err == nil {
		err = writeBusyboxTree(filepath.Join(dir, "tree"))
	}
	var store *cas.LocalStore
	if err == nil {
		store, err = cas.OpenLocal(filepath.Join(dir, "cache"))
	}
	var root cas.Digest
	if err == nil {
		root, err = store.CaptureTree(ctx, filepath.Join(dir, "tree"))
	}
	var sb *Sandbox
	if err == nil {
		sb, err = New(ctx, Options{Stager: store, Dir: filepath.Join(dir, "state")})
	}
	if err == nil {
		_, err = sb.Run(ctx, Config{Root: root, Env: env, Args: []string{"sh", "-c", "sleep " + secs + " & sleep " + secs}})
	}
	fmt.Fprintln(os.Stderr, "sandbox ended:", err)
	return 1
}

// TestParentDeathKillsSandbox kills bst (here a child test process) with
// SIGKILL while a sandbox runs: the sandbox's processes must die with it.
func TestParentDeathKillsSandbox(t *testing.T) {
	requireSandbox(t)
	busyboxTree(t) // skips without busybox
	exe, err := Executable()
	must(t, err)
	secs := strconv.Itoa(2000000 + os.Getpid()%100000)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), orphanEnv+"="+secs, "TMPDIR="+t.TempDir())
	var errb bytes.Buffer
	cmd.Stderr = &errb
	must(t, cmd.Start())
	deadline := time.Now().Add(30 * time.Second)
	for len(processesWith(t, "sleep "+secs)) < 2 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the sleeps did not start: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline = time.Now().Add(10 * time.Second)
	for {
		left := processesWith(t, "sleep "+secs)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left after bst was killed: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCancelBeforeStart(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.sb.Run(ctx, Config{Root: f.root, Args: []string{"true"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}

func TestTimeout(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.sb.Run(ctx, Config{Root: f.root, Env: env, Args: []string{"sleep", "100"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestTty(t *testing.T) {
	f := newFixture(t)
	var out bytes.Buffer
	code, err := f.sb.Run(context.Background(), Config{Root: f.root, Env: env, Tty: true, Stdout: &out,
		Args: []string{"sh", "-c", "tty; test -t 0 && test -t 1 && echo both"}})
	if err != nil || code != 0 {
		t.Fatalf("%d, %v: %q", code, err, out.String())
	}
	got := strings.ReplaceAll(out.String(), "\r", "")
	if got != "/dev/pts/0\nboth\n" {
		t.Errorf("output %q", got)
	}
}

func TestConcurrentRunsShareTheRoot(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			code, err := f.sb.Run(context.Background(), Config{Root: f.root, Env: env, Stdout: &out,
				Args: []string{"sh", "-c", fmt.Sprintf("echo %d", i)}})
			if err != nil || code != 0 || out.String() != fmt.Sprintf("%d\n", i) {
				errs <- fmt.Errorf("run %d: %d, %v, %q", i, code, err, out.String())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	roots, _ := filepath.Glob(filepath.Join(f.sb.Dir(), "root-*"))
	if len(roots) != 1 {
		t.Errorf("staged roots: %v, want one", roots)
	}
}

// TestMainThreadStaysOnTheHost checks that no sandbox leaves the process's
// main thread in its mount namespace (see MaybeInit).
func TestMainThreadStaysOnTheHost(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				f.ok(t, "true")
			}
		}()
	}
	wg.Wait()
	leader, err := os.Readlink("/proc/self/ns/mnt") // the main thread's
	must(t, err)
	host, err := os.Readlink("/proc/thread-self/ns/mnt")
	must(t, err)
	if leader != host {
		t.Errorf("the main thread is in mount namespace %s, the others in %s", leader, host)
	}
}

func TestCloseRemovesEverything(t *testing.T) {
	f := newFixture(t)
	f.ok(t, "true")
	dir := f.sb.Dir()
	must(t, f.sb.Close())
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left behind: %v", dir, err)
	}
	if _, err := f.sb.Run(context.Background(), Config{Root: f.root, Args: []string{"true"}}); err == nil {
		t.Errorf("Run after Close succeeded")
	}
}

func TestSealed(t *testing.T) {
	requireSandbox(t)
	if !Sealed() {
		t.Errorf("the test binary is not running from a sealed copy after Seal")
	}
	exe, err := Executable()
	must(t, err)
	if strings.Contains(exe, "memfd") || !filepath.IsAbs(exe) {
		t.Errorf("Executable() = %q, want the path on disk", exe)
	}
	if os.Getenv(sealedFromEnv) != "" {
		t.Errorf("%s is left in the environment", sealedFromEnv)
	}
	comm, err := os.ReadFile("/proc/self/comm")
	must(t, err)
	if _, err := strconv.Atoi(strings.TrimSpace(string(comm))); err == nil {
		t.Errorf("the process is named %q", comm)
	}
}

// stagedPath returns the host directory of the fixture's staged root.
func (f *fixture) stagedPath(t *testing.T) string {
	f.ok(t, "true")
	roots, _ := filepath.Glob(filepath.Join(f.sb.Dir(), "root-*"))
	if len(roots) != 1 {
		t.Fatalf("staged roots: %v", roots)
	}
	return roots[0]
}

func hashFile(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	return sha256.Sum256(b)
}

// processesWith lists the host processes whose command line contains s.
func processesWith(t *testing.T, s string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	must(t, err)
	var found []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if cmd := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(cmd, s) {
			found = append(found, e.Name()+": "+cmd)
		}
	}
	return found
}

// hostMounts lists the host's mounts (in bst's mount namespace) whose
// mount point or root mentions dir.
func hostMounts(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/thread-self/mountinfo")
	must(t, err)
	if len(b) == 0 {
		t.Fatal("/proc/thread-self/mountinfo is empty")
	}
	var found []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, dir) {
			found = append(found, l)
		}
	}
	return strings.Join(found, "\n")
}

// openPty opens a pseudo-terminal pair: the test plays the terminal
// emulator on the master, bst's standard input is the slave.
func openPty(t *testing.T) (master, slave *os.File) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	must(t, unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	must(t, err)
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestTtyFollowsTheCallersTerminal: with a terminal as Stdin, the
// sandbox's terminal has its size, and the caller's terminal is in raw
// mode while the command runs and restored after.
func TestTtyFollowsTheCallersTerminal(t *testing.T) {
	f := newFixture(t)
	master, slave := openPty(t)
	go io.Copy(io.Discard, master)
	must(t, unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 77}))
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	must(t, err)
	var out bytes.Buffer
	code, err := f.sb.Run(context.Background(), Config{Root: f.root, Env: env, Tty: true, Stdin: slave, Stdout: &out,
		Args: []string{"sh", "-c", "stty size"}})
	if err != nil || code != 0 {
		t.Fatalf("%d, %v: %q", code, err, out.String())
	}
	if got := strings.TrimSpace(strings.ReplaceAll(out.String(), "\r", "")); got != "33 77" {
		t.Errorf("size inside %q, want 33 77", got)
	}
	after, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	must(t, err)
	if *after != *before {
		t.Errorf("the caller's terminal was not restored: %+v, was %+v", after, before)
	}
}
