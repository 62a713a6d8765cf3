// Command noop measures a no-op `bst build`: a project of N elements
// that need no sandbox (import, stack, compose), built once, then built
// again with everything cached. The second build must load the project,
// compute every key, find every artifact cached and do nothing else.
//
// Usage: go run ./bench/noop [-n 10000] [-runs 3] [-bst PATH]
//
// It prints a markdown table: the cold build's time (for information) and
// the best no-op time of -runs, with the element count.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 10000, "elements")
	runs := flag.Int("runs", 3, "timed no-op builds (the best is reported)")
	bst := flag.String("bst", "", "the bst binary (default: build ./cmd/bst)")
	keep := flag.Bool("keep", false, "keep the work directory")
	flag.Parse()
	if err := run(*n, *runs, *bst, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench/noop:", err)
		os.Exit(1)
	}
}

func run(n, runs int, bst string, keep bool) error {
	work, err := os.MkdirTemp("", "bst-bench-noop-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(work)
	}
	if bst == "" {
		bst = filepath.Join(work, "bst")
		cmd := exec.Command("go", "build", "-o", bst, "./cmd/bst")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building bst: %w", err)
		}
	}
	proj := filepath.Join(work, "proj")
	if err := generate(proj, n); err != nil {
		return err
	}
	env := append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(work, "cache"), "XDG_CONFIG_HOME="+filepath.Join(work, "config"))
	build := func() (time.Duration, string, error) {
		cmd := exec.Command(bst, "--no-interactive", "-C", proj, "build", "all.bst")
		cmd.Env = env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, "", fmt.Errorf("bst build: %w\n%s", err, tail(string(out)))
		}
		return time.Since(start), string(out), nil
	}
	fmt.Fprintf(os.Stderr, "cold build of %d elements...\n", n+1)
	cold, _, err := build()
	if err != nil {
		return err
	}
	best := time.Duration(1 << 62)
	for i := range runs {
		t, out, err := build()
		if err != nil {
			return err
		}
		if !strings.Contains(out, "Everything is cached") {
			return fmt.Errorf("no-op build %d built something:\n%s", i+1, tail(out))
		}
		best = min(best, t)
	}
	fmt.Printf("| Elements | cold build (s) | no-op build, best of %d (s) |\n|---:|---:|---:|\n", runs)
	fmt.Printf("| %d | %.2f | %.3f |\n", n+1, cold.Seconds(), best.Seconds())
	return nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

// generate writes n elements in 10 layers: imports of small local trees
// in the first, then composes of 3 elements of the layer below and, every
// third element, stacks of 2; all.bst depends on the last layer. As in
// real projects, runtime closures stay small: a key lists every element
// of the build scope, so closures spanning the project would make every
// key and artifact as large as the project.
func generate(dir string, n int) error {
	const layers = 10
	write := func(p, s string) error {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(s), 0o644)
	}
	if err := write("project.conf", "name: noop\nmin-version: 2.0\nelement-path: elements\n"); err != nil {
		return err
	}
	for i := range 16 {
		if err := write(fmt.Sprintf("files/t%02d/usr/share/t%02d/README", i, i), fmt.Sprintf("tree %d\n", i)); err != nil {
			return err
		}
	}
	per := max(n/layers, 1)
	name := func(l, i int) string { return fmt.Sprintf("l%d/e%06d.bst", l, l*per+i) }
	for l := range layers {
		for i := range per {
			var b strings.Builder
			switch {
			case l == 0:
				fmt.Fprintf(&b, "kind: import\nsources:\n- kind: local\n  path: files/t%02d\nconfig:\n  target: /opt/e%06d\n", i%16, i)
			case i%3 == 0:
				// Stacks group two elements; their runtime closure stays
				// small because composes have no runtime dependencies.
				b.WriteString("kind: stack\ndepends:\n")
				fmt.Fprintf(&b, "- %s\n- %s\n", name(l-1, (i*31)%per), name(l-1, (i*31+17)%per))
			default:
				b.WriteString("kind: compose\nbuild-depends:\n")
				seen := map[int]bool{}
				for k := range 3 {
					j := (i*7 + k*13) % per
					if !seen[j] {
						seen[j] = true
						fmt.Fprintf(&b, "- %s\n", name(l-1, j))
					}
				}
				b.WriteString("config:\n  integrate: false\n")
			}
			if err := write("elements/"+name(l, i), b.String()); err != nil {
				return err
			}
		}
	}
	var b strings.Builder
	b.WriteString("kind: stack\ndepends:\n")
	for i := range per {
		fmt.Fprintf(&b, "- %s\n", name(layers-1, i))
	}
	return write("elements/all.bst", b.String())
}
