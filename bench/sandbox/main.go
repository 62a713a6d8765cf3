// Command sandbox measures how long a sandbox takes from start to exit:
// `true` in bst's sandbox against bubblewrap over the same staged root of
// about 20,000 files, interleaved in one run, and prints both medians and
// their ratio. See bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/sandbox"
)

func main() {
	sandbox.MaybeInit() // this program is its sandboxes' init, as bst is
	runs := flag.Int("runs", 100, "runs of each")
	files := flag.Int("files", 20000, "files in the root")
	bwrap := flag.String("bwrap", "bwrap", "the bubblewrap binary; empty to skip it")
	busybox := flag.String("busybox", "/bin/busybox", "a static busybox for the root")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured runs to this file")
	flag.Parse()
	profile = *cpuprofile
	if err := sandbox.Seal(); err != nil {
		fail(err)
	}
	if err := run(context.Background(), *runs, *files, *bwrap, *busybox, *keep); err != nil {
		fail(err)
	}
}

var profile string

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/sandbox:", err)
	os.Exit(1)
}

func run(ctx context.Context, runs, files int, bwrap, busybox string, keep bool) error {
	tmp, err := os.MkdirTemp("", "bst-bench-sandbox-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	os.Chmod(tmp, 0o755)

	tree := filepath.Join(tmp, "tree")
	n, err := makeTree(tree, busybox, files)
	if err != nil {
		return err
	}
	store, err := cas.OpenLocal(filepath.Join(tmp, "cache"))
	if err != nil {
		return err
	}
	root, err := store.CaptureTree(ctx, tree)
	if err != nil {
		return err
	}
	sb, err := sandbox.New(ctx, sandbox.Options{Stager: store, Dir: filepath.Join(tmp, "state")})
	if err != nil {
		return err
	}
	defer sb.Close()

	cfg := sandbox.Config{Root: root, Args: []string{"true"}, Env: []string{"PATH=/bin"}}
	t0 := time.Now()
	if err := runOurs(ctx, sb, cfg); err != nil { // stages the root, once
		return err
	}
	firstRun := time.Since(t0)
	staged, _ := filepath.Glob(filepath.Join(sb.Dir(), "root-*"))
	if len(staged) != 1 {
		return fmt.Errorf("staged roots: %v", staged)
	}
	bwrapArgs := []string{"--unshare-all", "--ro-bind", staged[0], "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "true"}
	if bwrap != "" {
		if _, err := exec.LookPath(bwrap); err != nil {
			return fmt.Errorf("%s not found (apt-get install bubblewrap, or -bwrap '')", bwrap)
		}
		if out, err := exec.Command(bwrap, bwrapArgs...).CombinedOutput(); err != nil {
			return fmt.Errorf("bwrap: %v: %s", err, out)
		}
	}
	fmt.Fprintf(os.Stderr, "root: %d files, staged and first run in %v; sealed binary: %v; uid %d\n",
		n, firstRun.Round(time.Millisecond), sandbox.Sealed(), os.Geteuid())

	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var ours, theirs []time.Duration
	for range runs { // interleaved, so that both see the same machine load
		t := time.Now()
		if err := runOurs(ctx, sb, cfg); err != nil {
			return err
		}
		ours = append(ours, time.Since(t))
		if bwrap != "" {
			t = time.Now()
			cmd := exec.Command(bwrap, bwrapArgs...)
			cmd.Env = []string{"PATH=/bin"}
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("bwrap: %w", err)
			}
			theirs = append(theirs, time.Since(t))
		}
	}
	fmt.Printf("bst sandbox: median %s (p10 %s, p90 %s) over %d runs\n", ms(pct(ours, 50)), ms(pct(ours, 10)), ms(pct(ours, 90)), runs)
	if bwrap != "" {
		fmt.Printf("bubblewrap:  median %s (p10 %s, p90 %s) over %d runs\n", ms(pct(theirs, 50)), ms(pct(theirs, 10)), ms(pct(theirs, 90)), runs)
		fmt.Printf("ratio (bst / bubblewrap, medians): %.2f\n", float64(pct(ours, 50))/float64(pct(theirs, 50)))
	}
	return nil
}

func runOurs(ctx context.Context, sb *sandbox.Sandbox, cfg sandbox.Config) error {
	code, err := sb.Run(ctx, cfg)
	if err == nil && code != 0 {
		err = fmt.Errorf("true exited %d", code)
	}
	return err
}

// makeTree writes a root laid out like a merged-/usr Debian system: /bin,
// /lib, /lib64 and /sbin link into /usr; /etc, /home, /opt, /root, /run,
// /srv, /var and the rest are directories; /dev, /proc and /tmp are
// empty (bubblewrap needs them in a read-only root). /usr/bin holds
// busybox and a few applet links, /etc/passwd one line, and small files,
// 100 to a directory under /usr/share, make up the files count.
func makeTree(dir, busybox string, files int) (int, error) {
	for _, d := range []string{"usr/bin", "usr/lib", "usr/lib64", "usr/sbin", "usr/share", "etc", "home", "media",
		"mnt", "opt", "root", "run", "srv", "sys", "var/lib", "var/tmp", "boot", "dev", "proc", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return 0, err
		}
	}
	for _, l := range []string{"bin", "lib", "lib64", "sbin"} {
		if err := os.Symlink("usr/"+l, filepath.Join(dir, l)); err != nil {
			return 0, err
		}
	}
	bin := filepath.Join(dir, "usr", "bin")
	b, err := os.ReadFile(busybox)
	if err != nil {
		return 0, fmt.Errorf("%w (apt-get install busybox-static)", err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), b, 0o755); err != nil {
		return 0, err
	}
	n := 1
	for _, a := range []string{"sh", "true", "ls", "cat"} {
		if err := os.Symlink("busybox", filepath.Join(bin, a)); err != nil {
			return 0, err
		}
		n++
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644); err != nil {
		return 0, err
	}
	n++
	for i := 0; n < files; i++ {
		d := filepath.Join(dir, "usr", "share", fmt.Sprintf("pkg%03d", i/100), fmt.Sprintf("d%02d", i%100))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, err
		}
		for j := 0; j < 100 && n < files; j++ {
			if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%03d", j)), fmt.Appendf(nil, "file %d %d\n", i, j), 0o644); err != nil {
				return 0, err
			}
			n++
		}
	}
	return n, nil
}

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
