// Command remote measures remote caches against the targets of issue 9,
// each next to its baseline in the same run:
//
//   - pulling one artifact of -files files (-mb MiB in all) from `bst
//     server` on loopback into an empty local cache, with `bst artifact
//     pull`, against `cp -a` of the same tree (target: within 3×); `cp -a`
//     followed by `sync -f` is shown too, since a pull syncs once before it
//     records the artifact;
//   - a fully cached project of -elements elements on a fresh machine:
//     `bst build --deps all` with the server as its artifact cache, from an
//     empty local cache: it pulls everything and builds nothing (target:
//     under 20 s).
//
// Usage: go run ./bench/remote [-files 10000] [-mb 200] [-elements 1000] [-runs 3] [-dir DIR]
//
// It builds ./cmd/bst (or uses $BST), runs the server as a separate process, prints a
// markdown table of median times, and exits with status 1 when a target is missed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/cas/artifactpb"
)

func main() {
	files := flag.Int("files", 10000, "files in the pulled artifact")
	mb := flag.Int("mb", 200, "MiB in the pulled artifact")
	elements := flag.Int("elements", 1000, "elements in the fully cached project")
	runs := flag.Int("runs", 3, "runs of each measurement (the median is reported)")
	dir := flag.String("dir", "", "work directory (default: a new one under $TMPDIR)")
	flag.Parse()
	if err := run(*files, *mb, *elements, *runs, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench/remote:", err)
		os.Exit(1)
	}
}

type bench struct {
	dir, bst, addr string
}

func run(files, mb, elements, runs int, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "bst-bench-remote-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	b := &bench{dir: dir, bst: os.Getenv("BST")}
	if b.bst == "" {
		b.bst = filepath.Join(dir, "bst")
		if err := cmd("", nil, "go", "build", "-o", b.bst, "./cmd/bst"); err != nil {
			return err
		}
	}
	stop, err := b.startServer()
	if err != nil {
		return err
	}
	defer stop()

	pullT, cpT, cpSyncT, err := b.pullTree(files, mb, runs)
	if err != nil {
		return err
	}
	cachedT, err := b.cachedProject(elements, runs)
	if err != nil {
		return err
	}
	fmt.Printf("| Measurement | bst | baseline | bst / baseline |\n|---|---:|---:|---:|\n")
	mp, mc, ms := median(pullT), median(cpT), median(cpSyncT)
	fmt.Printf("| pull %d files, %d MiB, vs `cp -a` (target ≤ 3×) | %.2f s | %.2f s | %.2f× |\n", files, mb, mp.Seconds(), mc.Seconds(), mp.Seconds()/mc.Seconds())
	fmt.Printf("| same, vs `cp -a` + `sync -f` | %.2f s | %.2f s | %.2f× |\n", mp.Seconds(), ms.Seconds(), mp.Seconds()/ms.Seconds())
	m := median(cachedT)
	fmt.Printf("| %d cached elements: `bst build --deps all` pulling everything, vs the 20 s target | %.2f s | 20 s | %.2f× |\n", elements, m.Seconds(), m.Seconds()/20)
	if r := mp.Seconds() / mc.Seconds(); r > 3 {
		return fmt.Errorf("target missed: the pull took %.2f× as long as cp -a", r)
	}
	if m > 20*time.Second {
		return fmt.Errorf("target missed: the cached project took %.1f s", m.Seconds())
	}
	return nil
}

// startServer runs `bst server` on a free loopback port.
func (b *bench) startServer() (func(), error) {
	c := exec.Command(b.bst, "server", "--listen", "127.0.0.1:0", "--cache-dir", filepath.Join(b.dir, "server"))
	stderr, err := c.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	re := regexp.MustCompile(`on (127\.0\.0\.1:[0-9]+)`)
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			b.addr = m[1]
			break
		}
	}
	if b.addr == "" {
		c.Process.Kill()
		c.Wait()
		return nil, fmt.Errorf("bst server did not start")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	return func() { c.Process.Signal(os.Interrupt); c.Wait() }, nil
}

// env is the environment of a bst run with its own cache.
func (b *bench) env(cache string) []string {
	return append(os.Environ(), "XDG_CACHE_HOME="+cache, "XDG_CONFIG_HOME="+filepath.Join(b.dir, "config"))
}

// pullTree measures target 1.
func (b *bench) pullTree(files, mb, runs int) (pull, cp, cpSync []time.Duration, err error) {
	ctx := context.Background()
	src := filepath.Join(b.dir, "tree")
	total, err := generate(src, files, int64(mb)<<20)
	if err != nil {
		return nil, nil, nil, err
	}
	fmt.Fprintf(os.Stderr, "tree: %d files, %d MiB\n", files, total>>20)
	// The artifact, made and pushed in-process.
	store, err := cas.OpenLocal(filepath.Join(b.dir, "xdg-src", "bst"))
	if err != nil {
		return nil, nil, nil, err
	}
	ac := cas.NewArtifactCache(store)
	root, err := store.CaptureTree(ctx, src)
	if err != nil {
		return nil, nil, nil, err
	}
	meta, err := store.PutBytes(ctx, []byte("{}\n"))
	if err != nil {
		return nil, nil, nil, err
	}
	key := strings.Repeat("ab", 32)
	a := &artifactpb.Artifact{Version: cas.ArtifactVersion, BuildSuccess: true, StrongKey: key, WeakKey: key, StrictKey: key,
		Files: root.Proto(), PublicData: meta.Proto(), LowDiversityMeta: meta.Proto(), HighDiversityMeta: meta.Proto()}
	ref := cas.ArtifactRef("bench", "tree.bst", key)
	if err := ac.Put(ctx, a, ref); err != nil {
		return nil, nil, nil, err
	}
	t, err := timed(func() error {
		return cmd(b.dir, b.env(filepath.Join(b.dir, "xdg-src")), b.bst, "artifact", "push", "--artifact-remote", "grpc://"+b.addr, ref)
	})
	if err != nil {
		return nil, nil, nil, err
	}
	fmt.Fprintf(os.Stderr, "pushed in %.2f s\n", t.Seconds())
	for i := range runs {
		fmt.Fprintf(os.Stderr, "pull run %d/%d\n", i+1, runs)
		cache := filepath.Join(b.dir, fmt.Sprintf("pull%d", i))
		cmd("", nil, "sync")
		t, err := timed(func() error {
			return cmd(b.dir, b.env(cache), b.bst, "artifact", "pull", "--artifact-remote", "grpc://"+b.addr, ref)
		})
		if err != nil {
			return nil, nil, nil, err
		}
		if _, err := os.Stat(filepath.Join(cache, "bst", "artifacts", "refs", ref)); err != nil {
			return nil, nil, nil, fmt.Errorf("the pull did not record the artifact: %w", err)
		}
		pull = append(pull, t)
		cmd("", nil, "sync")
		dst := filepath.Join(b.dir, fmt.Sprintf("cp%d", i))
		if t, err = timed(func() error { return cmd("", nil, "cp", "-a", src, dst) }); err != nil {
			return nil, nil, nil, err
		}
		cp = append(cp, t)
		os.RemoveAll(dst)
		cmd("", nil, "sync")
		if t, err = timed(func() error {
			if err := cmd("", nil, "cp", "-a", src, dst); err != nil {
				return err
			}
			return cmd("", nil, "sync", "-f", dst)
		}); err != nil {
			return nil, nil, nil, err
		}
		cpSync = append(cpSync, t)
		os.RemoveAll(dst)
		os.RemoveAll(cache)
	}
	return pull, cp, cpSync, nil
}

// cachedProject measures target 2: the project is built and pushed once,
// then each run pulls everything into an empty cache and builds.
func (b *bench) cachedProject(n, runs int) ([]time.Duration, error) {
	proj := filepath.Join(b.dir, "proj")
	if err := genProject(proj, n); err != nil {
		return nil, err
	}
	first := filepath.Join(b.dir, "cache-build")
	t, err := timed(func() error { return cmd(proj, b.env(first), b.bst, "build", "all.bst") })
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "built %d elements in %.1f s\n", n+1, t.Seconds())
	t, err = timed(func() error {
		return cmd(proj, b.env(first), b.bst, "artifact", "push", "--deps", "all", "--artifact-remote", "grpc://"+b.addr, "all.bst")
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "pushed %d artifacts in %.1f s\n", n+1, t.Seconds())
	var out []time.Duration
	for i := range runs {
		fmt.Fprintf(os.Stderr, "cached project run %d/%d\n", i+1, runs)
		cache := filepath.Join(b.dir, fmt.Sprintf("fresh%d", i))
		cmd("", nil, "sync")
		var buildOut bytes.Buffer
		t, err := timed(func() error {
			c := exec.Command(b.bst, "build", "--deps", "all", "--artifact-remote", "grpc://"+b.addr, "all.bst")
			c.Dir, c.Env, c.Stderr = proj, b.env(cache), &buildOut
			return c.Run()
		})
		if err != nil {
			return nil, fmt.Errorf("%v\n%s", err, buildOut.String())
		}
		// Every element all.bst reaches is pulled (the generator leaves a
		// few unreachable), nothing built.
		m := regexp.MustCompile(`Built 0 elements, 0 already cached, (\d+) pulled\.`).FindStringSubmatch(buildOut.String())
		if m == nil || strings.Contains(buildOut.String(), "not built") {
			return nil, fmt.Errorf("the build did not pull everything:\n%s", buildOut.String())
		}
		fmt.Fprintf(os.Stderr, "pulled %s artifacts, built none\n", m[1])
		out = append(out, t)
		os.RemoveAll(cache)
	}
	return out, nil
}

// generate writes n files holding about total bytes in directories of
// 100: mostly small files, with a few of several MiB (sent through
// ByteStream rather than in batches), every tenth executable.
func generate(root string, n int, total int64) (int64, error) {
	r := rand.New(rand.NewSource(1))
	sizes := make([]int64, n)
	var sum int64
	for i := range sizes {
		s := int64(r.ExpFloat64() * 16384)
		if i%1000 == 999 {
			s = 6 << 20
		}
		sizes[i] = s
		sum += s
	}
	var written int64
	buf := make([]byte, 8<<20)
	r.Read(buf)
	for i, s := range sizes {
		s = s * total / sum
		d := filepath.Join(root, fmt.Sprintf("d%03d", i/1000), fmt.Sprintf("s%02d", i/100%10))
		if i%100 == 0 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return 0, err
			}
		}
		off := r.Int63n(int64(len(buf)) - min(s, int64(len(buf))) + 1)
		data := buf[off : off+min(s, int64(len(buf)))]
		// Make every file distinct.
		data = append(fmt.Appendf(nil, "%d\n", i), data...)
		mode := os.FileMode(0o644)
		if i%10 == 0 {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%05d", i)), data, mode); err != nil {
			return 0, err
		}
		written += int64(len(data))
	}
	return written, nil
}

// genProject writes a project of n elements in 10 layers, each element
// depending on three of the layer below; import elements (with a few
// small files each) and every fourth a stack, plus all.bst over the top
// layer. None needs a sandbox to build.
func genProject(dir string, n int) error {
	write := func(p, s string) error {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(s), 0o644)
	}
	if err := write(filepath.Join(dir, "project.conf"), "name: bench\nmin-version: 2.0\nelement-path: elements\n"); err != nil {
		return err
	}
	layers := 10
	per := (n + layers - 1) / layers
	r := rand.New(rand.NewSource(2))
	var names [][]string
	count := 0
	for l := range layers {
		var layer []string
		for i := 0; i < per && count < n; i++ {
			name := fmt.Sprintf("l%d/e%04d.bst", l, count)
			var deps []string
			if l > 0 {
				below := names[l-1]
				for range 3 {
					deps = append(deps, below[r.Intn(len(below))])
				}
				sort.Strings(deps)
				deps = dedupe(deps)
			}
			var b strings.Builder
			if l > 0 && count%4 == 0 {
				b.WriteString("kind: stack\n")
			} else {
				b.WriteString("kind: import\nsources:\n- kind: local\n  path: files/" + strings.TrimSuffix(name, ".bst") + "\n")
				for f := range 3 {
					p := filepath.Join(dir, "files", strings.TrimSuffix(name, ".bst"), "usr", "share", fmt.Sprintf("e%04d", count), fmt.Sprintf("f%d", f))
					if err := write(p, strings.Repeat(name+"\n", 10+f*50)); err != nil {
						return err
					}
				}
			}
			if len(deps) > 0 {
				b.WriteString("depends:\n")
				for _, d := range deps {
					b.WriteString("- " + d + "\n")
				}
			}
			if err := write(filepath.Join(dir, "elements", name), b.String()); err != nil {
				return err
			}
			layer = append(layer, name)
			count++
		}
		names = append(names, layer)
	}
	var all strings.Builder
	all.WriteString("kind: stack\ndepends:\n")
	for _, name := range names[len(names)-1] {
		all.WriteString("- " + name + "\n")
	}
	return write(filepath.Join(dir, "elements", "all.bst"), all.String())
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

// cmd runs a program in dir (or here) with env (or ours); its output
// goes to our standard error only when it fails.
func cmd(dir string, env []string, name string, args ...string) error {
	c := exec.Command(name, args...)
	c.Dir, c.Env = dir, env
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
