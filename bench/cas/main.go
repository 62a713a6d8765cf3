// Command cas measures the local cache's capture and staging of a large
// file tree against cp on the same tree, in the same run:
//
//   - capture (CaptureTree into a fresh store) against `cp -a`, which
//     also reads and writes every file;
//   - staging (StageTree with hardlinks) against `cp -al`, which also
//     links every file;
//   - staging writable copies (StageTree with Copy) against `cp -a`.
//
// Usage: go run ./bench/cas [-files 50000] [-runs 3] [-dir DIR]
//
// It prints a markdown table with the median times and the ratios.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/bstgo/bst/cas"
)

func main() {
	files := flag.Int("files", 50000, "files in the tree")
	runs := flag.Int("runs", 3, "runs of each measurement (the median is reported)")
	dir := flag.String("dir", "", "work directory (default: a new one under $TMPDIR)")
	flag.Parse()
	if err := run(*files, *runs, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench/cas:", err)
		os.Exit(1)
	}
}

func run(files, runs int, dir string) error {
	ctx := context.Background()
	if dir == "" {
		d, err := os.MkdirTemp("", "bst-bench-cas-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	src := filepath.Join(dir, "tree")
	bytes, err := generate(src, files)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "tree: %d files, %d MiB, in %s\n", files, bytes>>20, src)

	var capT, cpT, stageT, cpalT, copyT []time.Duration
	var root cas.Digest
	for i := range runs {
		fmt.Fprintf(os.Stderr, "run %d/%d\n", i+1, runs)
		store, err := cas.OpenLocal(filepath.Join(dir, fmt.Sprintf("cache%d", i)))
		if err != nil {
			return err
		}
		t, err := timed(func() error {
			var err error
			root, err = store.CaptureTree(ctx, src)
			return err
		})
		if err != nil {
			return err
		}
		capT = append(capT, t)
		// cp -a does not sync, CaptureTree does (once): sync cp's writes
		// too, so both measure data that reached the disk.
		if t, err = timed(func() error { return cmdSync("cp", "-a", src, filepath.Join(dir, fmt.Sprintf("cp%d", i))) }); err != nil {
			return err
		}
		cpT = append(cpT, t)
		if t, err = timed(func() error {
			return store.StageTree(ctx, root, filepath.Join(dir, fmt.Sprintf("staged%d", i)), cas.StageOptions{})
		}); err != nil {
			return err
		}
		stageT = append(stageT, t)
		if t, err = timed(func() error { return cmd("cp", "-al", src, filepath.Join(dir, fmt.Sprintf("cpal%d", i))) }); err != nil {
			return err
		}
		cpalT = append(cpalT, t)
		if t, err = timed(func() error {
			dst := filepath.Join(dir, fmt.Sprintf("copied%d", i))
			if err := store.StageTree(ctx, root, dst, cas.StageOptions{Copy: true}); err != nil {
				return err
			}
			return cmd("sync", "-f", dst)
		}); err != nil {
			return err
		}
		copyT = append(copyT, t)
		for _, p := range []string{"cp", "staged", "cpal", "copied", "cache"} {
			os.RemoveAll(filepath.Join(dir, fmt.Sprintf("%s%d", p, i)))
		}
	}
	fmt.Printf("| Operation (%d files) | bst | baseline | bst / baseline |\n|---|---:|---:|---:|\n", files)
	row := func(name, base string, a, b []time.Duration) {
		ma, mb := median(a), median(b)
		fmt.Printf("| %s vs %s | %.3f s | %.3f s | %.2f× |\n", name, base, ma.Seconds(), mb.Seconds(), ma.Seconds()/mb.Seconds())
	}
	row("capture", "`cp -a` + sync", capT, cpT)
	row("stage (hardlinks)", "`cp -al`", stageT, cpalT)
	row("stage (copies) + sync", "`cp -a` + sync", copyT, cpT)
	return nil
}

// generate writes n files of 0–16 KiB in directories of 100, with an
// executable every 10 files and a symlink every 50, and returns the bytes.
func generate(root string, n int) (int64, error) {
	r := rand.New(rand.NewSource(1))
	var total int64
	buf := make([]byte, 16<<10)
	for i := range n {
		d := filepath.Join(root, fmt.Sprintf("d%03d", i/1000), fmt.Sprintf("s%02d", i/100%10))
		if i%100 == 0 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return 0, err
			}
		}
		size := r.Intn(len(buf))
		r.Read(buf[:size])
		mode := os.FileMode(0o644)
		if i%10 == 0 {
			mode = 0o755
		}
		p := filepath.Join(d, fmt.Sprintf("f%05d", i))
		if err := os.WriteFile(p, buf[:size], mode); err != nil {
			return 0, err
		}
		if i%50 == 0 {
			if err := os.Symlink(filepath.Base(p), p+".link"); err != nil {
				return 0, err
			}
		}
		total += int64(size)
	}
	return total, nil
}

func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

func cmd(name string, args ...string) error {
	c := exec.Command(name, args...)
	c.Stderr = os.Stderr
	return c.Run()
}

func cmdSync(name string, args ...string) error {
	if err := cmd(name, args...); err != nil {
		return err
	}
	return cmd("sync", "-f", args[len(args)-1])
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
