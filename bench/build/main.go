// Command build measures bst build's own cost per element, against
// BuildStream 1.6 and against itself with more builders:
//
//   - chain: a chain of -chain trivial manual elements (each build-depends
//     on the previous one and on a busybox base), built with a cold cache
//     by bst and by BuildStream 1.6 (/usr/bin/bst, on bubblewrap) on the
//     same project in 1.x syntax. The per-element overhead is the chain's
//     time minus the time of building the base alone, over the chain's
//     length.
//   - wide: -wide independent trivial manual elements on the base, built
//     cold with --builders 1 and with --builders 2.
//
// Usage: go run ./bench/build [-chain 50] [-wide 200] [-bst PATH] [-bst1 PATH] [-skip-bst1]
// (-chain 0 or -wide 0 skips that part)
//
// Both measures are taken in one run, so that their ratios see the same
// machine load; it prints a markdown table and the load average.
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
	chain := flag.Int("chain", 50, "length of the chain of manual elements")
	wide := flag.Int("wide", 200, "independent manual elements")
	bst := flag.String("bst", "", "the bst binary (default: build ./cmd/bst)")
	bst1 := flag.String("bst1", "/usr/bin/bst", "BuildStream 1.6")
	skip1 := flag.Bool("skip-bst1", false, "do not run BuildStream 1.6")
	keep := flag.Bool("keep", false, "keep the work directory")
	flag.Parse()
	if *chain < 0 || *wide < 0 {
		fmt.Fprintln(os.Stderr, "build: -chain and -wide count elements (0 skips that part)")
		os.Exit(2)
	}
	if err := run(*chain, *wide, *bst, *bst1, *skip1, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench/build:", err)
		os.Exit(1)
	}
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func run(chain, wide int, bst, bst1 string, skip1, keep bool) error {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("the base is Debian's static busybox (apt-get install busybox-static): %w", err)
	}
	work, err := os.MkdirTemp("", "bst-bench-build-")
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
	fmt.Printf("load average before: %s\n\n", loadavg())

	// cold builds target in proj with a fresh cache, returning the time.
	n := 0
	cold := func(bin, proj, target string, args ...string) (time.Duration, error) {
		n++
		cache := filepath.Join(work, fmt.Sprintf("cache%d", n))
		env := append(os.Environ(), "XDG_CACHE_HOME="+cache, "XDG_CONFIG_HOME="+filepath.Join(work, "config"))
		a := append([]string{"--no-interactive", "-C", proj}, args...)
		cmd := exec.Command(bin, append(a, "build", target)...)
		cmd.Env = env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			return d, fmt.Errorf("%s build %s in %s: %v\n%s", bin, target, proj, err, tail(out))
		}
		os.RemoveAll(cache)
		return d, nil
	}

	if chain > 0 {
		if err := chainBench(cold, work, busybox, bst, bst1, chain, skip1); err != nil {
			return err
		}
	}
	if wide > 0 {
		if err := wideBench(cold, work, busybox, bst, wide); err != nil {
			return err
		}
	}
	return nil
}

// coldBuild builds a target of a project with a fresh cache and returns
// the time it took.
type coldBuild func(bin, proj, target string, args ...string) (time.Duration, error)

// chainBench times a chain of chain manual elements, cold, against
// BuildStream 1.6 unless skip1.
func chainBench(cold coldBuild, work, busybox, bst, bst1 string, chain int, skip1 bool) error {
	chainProj := filepath.Join(work, "chain")
	if err := generate(chainProj, busybox, chain, true, false); err != nil {
		return err
	}
	rows := [][]string{}
	base, err := cold(bst, chainProj, "base.bst")
	if err != nil {
		return err
	}
	full, err := cold(bst, chainProj, "all.bst")
	if err != nil {
		return err
	}
	per := (full - base) / time.Duration(chain)
	rows = append(rows, []string{"bst", fmt.Sprint(chain), sec(base), sec(full), ms(per)})
	var per1 time.Duration
	if !skip1 {
		chain1 := filepath.Join(work, "chain1")
		if err := generate(chain1, busybox, chain, true, true); err != nil {
			return err
		}
		base1, err := cold(bst1, chain1, "base.bst")
		if err != nil {
			return err
		}
		full1, err := cold(bst1, chain1, "all.bst")
		if err != nil {
			return err
		}
		per1 = (full1 - base1) / time.Duration(chain)
		rows = append(rows, []string{"BuildStream 1.6", fmt.Sprint(chain), sec(base1), sec(full1), ms(per1)})
	}
	fmt.Println("| chain of manual elements, cold | elements | base alone | whole chain | per element |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Printf("| %s |\n", strings.Join(r, " | "))
	}
	if per1 > 0 {
		fmt.Printf("\nper-element overhead: BuildStream 1.6 / bst = %.1f× (target: at least 10×)\n", float64(per1)/float64(per))
	}
	fmt.Printf("load average: %s\n\n", loadavg())
	return nil
}

// wideBench times wide independent manual elements, cold, with one
// builder and with two.
func wideBench(cold coldBuild, work, busybox, bst string, wide int) error {
	wideProj := filepath.Join(work, "wide")
	if err := generate(wideProj, busybox, wide, false, false); err != nil {
		return err
	}
	one, err := cold(bst, wideProj, "all.bst", "--builders", "1")
	if err != nil {
		return err
	}
	two, err := cold(bst, wideProj, "all.bst", "--builders", "2")
	if err != nil {
		return err
	}
	fmt.Println("| independent manual elements, cold | elements | --builders 1 | --builders 2 | ratio |")
	fmt.Println("|---|---:|---:|---:|---:|")
	fmt.Printf("| bst | %d | %s | %s | %.0f%% (target: at most 60%%) |\n", wide, sec(one), sec(two), 100*float64(two)/float64(one))
	fmt.Printf("load average after: %s\n", loadavg())
	return nil
}

func sec(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
func ms(d time.Duration) string  { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func tail(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// generate writes a project of n trivial manual elements on a busybox
// base: a chain (each on the previous one) or independent ones, and
// all.bst, a stack of them. v1 writes BuildStream 1.x syntax.
func generate(dir, busybox string, n int, chain, v1 bool) error {
	bin := filepath.Join(dir, "files", "base", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
		return err
	}
	for _, applet := range []string{"sh", "echo", "mkdir", "cat", "true", "rm", "ls", "env"} {
		if err := os.Symlink("busybox", filepath.Join(bin, applet)); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "files", "base", "usr"), 0o755); err != nil {
		return err
	}
	if err := os.Symlink("../bin", filepath.Join(dir, "files", "base", "usr", "bin")); err != nil {
		return err
	}
	conf := "name: bench\nmin-version: 2.0\nelement-path: elements\nvariables:\n  strip-binaries: \"\"\n"
	if v1 {
		conf = "name: bench\nformat-version: 18\nelement-path: elements\nvariables:\n  strip-binaries: \"\"\n"
	}
	files := map[string]string{
		"project.conf":        conf,
		"elements/base.bst":   "kind: import\nsources:\n- kind: local\n  path: files/base\n",
		"elements/all.bst":    "",
		"elements/.gitignore": "",
	}
	var all strings.Builder
	all.WriteString("kind: stack\ndepends:\n")
	buildDep := func(name string) string {
		if v1 {
			return "- filename: " + name + "\n  type: build\n"
		}
		return "- " + name + "\n"
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("e%03d.bst", i)
		var e strings.Builder
		e.WriteString("kind: manual\n")
		if v1 {
			e.WriteString("depends:\n")
		} else {
			e.WriteString("build-depends:\n")
		}
		e.WriteString(buildDep("base.bst"))
		if chain && i > 0 {
			e.WriteString(buildDep(fmt.Sprintf("e%03d.bst", i-1)))
		}
		fmt.Fprintf(&e, "config:\n  install-commands:\n  - mkdir -p %%{install-root}/share && echo %d > %%{install-root}/share/e%03d\n", i, i)
		files["elements/"+name] = e.String()
		if !chain || i == n-1 {
			fmt.Fprintf(&all, "- %s\n", name)
		}
	}
	files["elements/all.bst"] = all.String()
	delete(files, "elements/.gitignore")
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			return err
		}
	}
	return nil
}
