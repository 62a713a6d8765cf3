// Command sources measures the two claims of the source cache and the
// fetch pool, each against its baseline in the same run:
//
//  1. Staging a cached source again is at least 10x faster than
//     extracting its tarball with tar -x: a tar source of -files files
//     (default 20,000) is fetched and staged once through package source
//     (as bst source fetch does), then Env.Stage of the same source is timed
//     against `tar -xzf` of the same tarball into an empty directory.
//  2. Fetching -sources tar sources (default 200) from a local HTTP server
//     that adds -latency (default 50ms) to every request is at least 3x
//     faster with `bst source fetch --fetchers 10` than with --fetchers 1:
//     the real bst binary, a fresh cache each run.
//
// Usage: go run ./bench/sources [-bench stage,fetch] [-files N] [-sources N] [-latency D] [-runs N] [-keep]
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/plugins"
	"github.com/bstgo/bst/source"
)

func main() {
	files := flag.Int("files", 20000, "files in the staged source")
	sources := flag.Int("sources", 200, "tar sources to fetch")
	latency := flag.Duration("latency", 50*time.Millisecond, "latency the HTTP server adds to every request")
	runs := flag.Int("runs", 5, "runs of each timed operation (the median is reported)")
	bstPath := flag.String("bst", "", "the bst binary (default: build ./cmd/bst)")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	which := flag.String("bench", "stage,fetch", "the benchmarks to run: stage, fetch or both")
	flag.Parse()

	tmp, err := os.MkdirTemp("", "bst-bench-sources-")
	check(err)
	if *keep {
		fmt.Fprintln(os.Stderr, "keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	ok1, ok2 := true, true
	if strings.Contains(*which, "stage") {
		ok1 = benchStage(tmp, *files, *runs)
	}
	if strings.Contains(*which, "fetch") {
		ok2 = benchFetch(tmp, *bstPath, *sources, *latency, max(*runs/2, 1))
	}
	if !ok1 || !ok2 {
		os.Exit(1)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/sources:", err)
		os.Exit(2)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// tarball writes a gzipped tarball of n small files under top/, 100 to a
// directory, each with distinct content.
func tarball(top string, n int) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: top + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	for i := 0; i < n; i++ {
		if i%100 == 0 {
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("%s/d%03d/", top, i/100), Typeflag: tar.TypeDir, Mode: 0o755})
		}
		body := fmt.Sprintf("file %d of %s\n%s", i, top, bytes.Repeat([]byte("x"), i%512))
		mode := int64(0o644)
		if i%10 == 0 {
			mode = 0o755
		}
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("%s/d%03d/f%05d", top, i/100, i), Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(body))})
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// sourceContext configures sources of a benchmark project.
type sourceContext struct{ dir string }

func (c sourceContext) ProjectDir() string                       { return c.dir }
func (c sourceContext) ProjectPath(n *node.Node) (string, error) { return n.Value(), nil }
func (c sourceContext) TranslateURL(u string, _ node.Provenance) (string, error) {
	return u, nil
}

func benchStage(tmp string, n, runs int) bool {
	fmt.Fprintf(os.Stderr, "== staging a cached source of %d files again, against tar -x\n", n)
	data := tarball("big-1.0", n)
	archive := filepath.Join(tmp, "big-1.0.tar.gz")
	check(os.WriteFile(archive, data, 0o644))

	// Baseline: tar -x into an empty directory.
	var tarTimes []time.Duration
	for i := 0; i < runs; i++ {
		dest := filepath.Join(tmp, fmt.Sprintf("tar-x-%d", i))
		check(os.MkdirAll(dest, 0o755))
		start := time.Now()
		out, err := exec.Command("tar", "-xzf", archive, "-C", dest).CombinedOutput()
		tarTimes = append(tarTimes, time.Since(start))
		if err != nil {
			check(fmt.Errorf("tar -x: %v: %s", err, out))
		}
		os.RemoveAll(dest)
	}

	store, err := cas.OpenLocal(filepath.Join(tmp, "cache"))
	check(err)
	env, err := source.NewEnv(source.Options{SourceDir: filepath.Join(tmp, "sources"), Store: store})
	check(err)
	defer env.Close()
	reg := plugins.Builtin()
	kind, _ := reg.Source("tar")
	cfg, err := node.Parse([]byte(fmt.Sprintf("url: file://%s\nref: %s\n", archive, sum(data))), &node.File{Name: "big.bst"})
	check(err)
	src, err := kind.Configure(sourceContext{dir: tmp}, cfg)
	check(err)
	es := &source.ElementSources{Element: "big.bst", Project: "bench", Entries: []source.Entry{{Kind: "tar", Source: src}}}
	ctx := context.Background()

	start := time.Now()
	_, err = env.Fetch(ctx, es)
	check(err)
	first := time.Since(start)

	var stageTimes, linkTimes []time.Duration
	var root cas.Digest
	for i := 0; i < runs; i++ {
		start := time.Now()
		root, err = env.Stage(ctx, es)
		check(err)
		stageTimes = append(stageTimes, time.Since(start))
		dest := filepath.Join(tmp, fmt.Sprintf("staged-%d", i))
		start = time.Now()
		check(store.StageTree(ctx, root, dest, cas.StageOptions{}))
		linkTimes = append(linkTimes, time.Since(start))
		os.RemoveAll(dest)
	}
	tarX, stage, link := median(tarTimes), median(stageTimes), median(linkTimes)
	ratio := float64(tarX) / float64(stage)
	fmt.Printf("| staging a %d-file tar source | time (median of %d) |\n|---|---:|\n", n, runs)
	fmt.Printf("| tar -xzf of its tarball (baseline) | %s |\n", tarX.Round(time.Millisecond))
	fmt.Printf("| first fetch + extraction into the source cache | %s |\n", first.Round(time.Millisecond))
	fmt.Printf("| Env.Stage again (source cache hit, tree checked complete) | %s |\n", stage.Round(100*time.Microsecond))
	fmt.Printf("| then StageTree: hardlinking the tree into a directory | %s |\n", link.Round(time.Millisecond))
	fmt.Printf("\nstaging again is %.0fx faster than tar -x (goal: at least 10x)\n\n", ratio)
	return ratio >= 10
}

func benchFetch(tmp, bst string, n int, latency time.Duration, runs int) bool {
	fmt.Fprintf(os.Stderr, "== fetching %d tar sources, %s latency per request, --fetchers 10 against 1\n", n, latency)
	if bst == "" {
		bst = filepath.Join(tmp, "bst")
		out, err := exec.Command("go", "build", "-o", bst, "./cmd/bst").CombinedOutput()
		if err != nil {
			check(fmt.Errorf("building bst: %v: %s", err, out))
		}
	}
	srvDir := filepath.Join(tmp, "srv")
	proj := filepath.Join(tmp, "fetchproj")
	check(os.MkdirAll(srvDir, 0o755))
	check(os.MkdirAll(filepath.Join(proj, "elements"), 0o755))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	files := http.FileServer(http.Dir(srvDir))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		files.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	defer srv.Close()

	check(os.WriteFile(filepath.Join(proj, "project.conf"), []byte(fmt.Sprintf(
		"name: fetchbench\nmin-version: 2.0\nelement-path: elements\naliases:\n  upstream: http://%s/\n", l.Addr())), 0o644))
	all := "kind: stack\ndepends:\n"
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("pkg%03d", i)
		data := tarball(name, 20)
		check(os.WriteFile(filepath.Join(srvDir, name+".tar.gz"), data, 0o644))
		check(os.WriteFile(filepath.Join(proj, "elements", name+".bst"), []byte(fmt.Sprintf(
			"kind: import\nsources:\n- kind: tar\n  url: upstream:%s.tar.gz\n  ref: %s\n", name, sum(data))), 0o644))
		all += fmt.Sprintf("- %s.bst\n", name)
	}
	check(os.WriteFile(filepath.Join(proj, "elements", "all.bst"), []byte(all), 0o644))

	fetch := func(fetchers int) time.Duration {
		home, err := os.MkdirTemp(tmp, "home-")
		check(err)
		defer os.RemoveAll(home)
		cmd := exec.Command(bst, "-C", proj, "source", "fetch", "--deps", "all", "--fetchers", fmt.Sprint(fetchers), "all.bst")
		cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, "cache"), "XDG_CONFIG_HOME="+filepath.Join(home, "config"))
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			check(fmt.Errorf("bst source fetch: %v\n%s", err, out))
		}
		if !bytes.Contains(out, []byte(fmt.Sprintf("Fetched %d elements", n))) {
			check(fmt.Errorf("bst source fetch did not fetch %d elements:\n%s", n, out))
		}
		return d
	}
	var one, ten []time.Duration
	for i := 0; i < runs; i++ {
		one = append(one, fetch(1))
		ten = append(ten, fetch(10))
	}
	t1, t10 := median(one), median(ten)
	ratio := float64(t1) / float64(t10)
	fmt.Printf("| bst source fetch of %d tar sources, %s per request | time (median of %d) |\n|---|---:|\n", n, latency, runs)
	fmt.Printf("| --fetchers 1 (baseline) | %s |\n", t1.Round(10*time.Millisecond))
	fmt.Printf("| --fetchers 10 | %s |\n", t10.Round(10*time.Millisecond))
	fmt.Printf("\n--fetchers 10 is %.1fx faster than --fetchers 1 (goal: at least 3x)\n", ratio)
	return ratio >= 3
}
