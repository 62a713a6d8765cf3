// Command remoteexec measures remote execution against the target of
// issue 10: a chain of -n trivial manual elements (each build-depends on
// a busybox base and on the element before it) built with `bst build`
// through the test execution service (tests/reapiexec) on loopback,
// against the same build in the local sandbox, in the same run. The
// target is a per-element time at most 2× the local one.
//
// Every run starts from an empty local cache; every remote run also
// starts a new execution service, so that its action cache is empty and
// every action really executes (the service's start is not timed).
//
// Usage: go run ./bench/remoteexec [-n 50] [-runs 3] [-dir DIR]
//
// It prints a markdown table of median times and exits with status 1 when
// the target is missed.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 50, "elements in the chain")
	runs := flag.Int("runs", 3, "runs of each build (the median is reported)")
	dir := flag.String("dir", "", "work directory (default: a new one under $TMPDIR)")
	flag.Parse()
	if err := run(*n, *runs, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench/remoteexec:", err)
		os.Exit(1)
	}
}

func run(n, runs int, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "bst-bench-remoteexec-")
		if err != nil {
			return err
		}
		defer removeTree(d)
		dir = d
	}
	bin := filepath.Join(dir, "bin")
	for _, b := range [][2]string{{"bst", "./cmd/bst"}, {"reapiexec", "./tests/reapiexec/cmd/reapiexec"}} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(bin, b[0]), b[1]).CombinedOutput()
		if err != nil {
			return fmt.Errorf("building %s: %v\n%s", b[1], err, out)
		}
	}
	project := filepath.Join(dir, "project")
	if err := genProject(project, n); err != nil {
		return err
	}
	target := fmt.Sprintf("e%03d.bst", n)
	var local, remote []time.Duration
	for i := range runs {
		home := filepath.Join(dir, fmt.Sprintf("local%d", i))
		d, err := timed(func() error { return bst(bin, project, home, "build", target) })
		if err != nil {
			return err
		}
		local = append(local, d)

		addr, stop, err := startService(bin, filepath.Join(dir, fmt.Sprintf("svc%d", i)))
		if err != nil {
			return err
		}
		home = filepath.Join(dir, fmt.Sprintf("remote%d", i))
		d, err = timed(func() error {
			return bst(bin, project, home, "--remote-execution", "grpc://"+addr, "build", target)
		})
		stop()
		if err != nil {
			return err
		}
		remote = append(remote, d)
	}
	lm, rm := median(local), median(remote)
	ratio := float64(rm) / float64(lm)
	fmt.Printf("| build of a chain of %d elements (median of %d) | total | per element |\n|---|---|---|\n", n, runs)
	fmt.Printf("| local sandbox | %v | %v |\n", lm.Round(time.Millisecond), (lm / time.Duration(n)).Round(time.Millisecond))
	fmt.Printf("| remote execution (tests/reapiexec, loopback) | %v | %v |\n", rm.Round(time.Millisecond), (rm / time.Duration(n)).Round(time.Millisecond))
	fmt.Printf("\nremote/local per element: %.2f× (target ≤ 2×)\n", ratio)
	if ratio > 2 {
		return fmt.Errorf("target missed: %.2f× > 2×", ratio)
	}
	return nil
}

// genProject writes base.bst (busybox) and the chain e001 … eN.
func genProject(dir string, n int) error {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("needs /bin/busybox (busybox-static): %w", err)
	}
	files := map[string]string{
		"project.conf":      "name: chain\nmin-version: 2.0\nelement-path: elements\n",
		"elements/base.bst": "kind: import\nsources:\n- kind: local\n  path: files/base\n",
	}
	for i := 1; i <= n; i++ {
		deps := "- base.bst\n"
		if i > 1 {
			deps += fmt.Sprintf("- e%03d.bst\n", i-1)
		}
		files[fmt.Sprintf("elements/e%03d.bst", i)] = fmt.Sprintf(
			"kind: manual\nbuild-depends:\n%sconfig:\n  install-commands:\n  - mkdir -p %%{install-root}/e%03d\n  - echo %d > %%{install-root}/e%03d/file\n",
			deps, i, i, i)
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	binDir := filepath.Join(dir, "files/base/bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(binDir, "busybox"), bb, 0o755); err != nil {
		return err
	}
	for _, tool := range []string{"sh", "mkdir", "echo"} {
		if err := os.Symlink("busybox", filepath.Join(binDir, tool)); err != nil {
			return err
		}
	}
	return nil
}

func bst(bin, project, home string, args ...string) error {
	c := exec.Command(filepath.Join(bin, "bst"), append([]string{"--no-interactive", "--builders", "4"}, args...)...)
	c.Dir = project
	c.Env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"))
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Errorf("bst %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// startService runs the test execution service and returns its address
// and how to stop it.
func startService(bin, dir string) (string, func(), error) {
	c := exec.Command(filepath.Join(bin, "reapiexec"), "--listen", "127.0.0.1:0", "--dir", dir)
	stderr, err := c.StderrPipe()
	if err != nil {
		return "", nil, err
	}
	if err := c.Start(); err != nil {
		return "", nil, err
	}
	addrc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`serving REAPI execution on (\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	stop := func() {
		c.Process.Signal(syscall.SIGTERM)
		c.Wait()
	}
	select {
	case addr := <-addrc:
		return addr, stop, nil
	case <-time.After(30 * time.Second):
		c.Process.Kill()
		c.Wait()
		return "", nil, fmt.Errorf("reapiexec did not start")
	}
}

func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

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
