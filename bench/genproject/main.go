// Command genproject writes a synthetic BuildStream project for load-time
// benchmarks (bst show, cache-key computation).
//
// The project is a layered DAG: N elements spread evenly over L layers.
// Layer 0 holds `import` elements with a `local` source; every element of a
// higher layer depends on about F elements of the layer directly below, picked
// with a seeded PRNG, so the same flags always give byte-identical output.
// Every element of a layer is depended on by at least one element of the next
// layer, and the top-level all.bst stack depends on the whole last layer, so
// `bst show --deps all all.bst` visits all N+1 elements.
//
// Usage:
//
//	genproject -n 20000 -layers 20 -fanin 5 -seed 1 -format 2 -o /tmp/proj
//
// -format 2 writes BuildStream 2 syntax (min-version: 2.0); -format 1 writes
// the same graph in BuildStream 1.x syntax (format-version: 18, loadable by
// BuildStream 1.6). The two formats differ in project.conf and in one
// spelling: BuildStream 1.x has no `filename:` lists, so format 1 writes
// one `filename:` map per name instead.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

const (
	// Number of shared files/ trees used by the local sources.
	numBaseTrees = 16
	numSrcTrees  = 16
)

type options struct {
	n, layers, fanin int
	seed             uint64
	format           int
	out, name        string
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 1000, "number of elements to generate, not counting all.bst")
	flag.IntVar(&o.layers, "layers", 20, "number of layers (capped at -n)")
	flag.IntVar(&o.fanin, "fanin", 5, "dependencies of each element on the layer below")
	flag.Uint64Var(&o.seed, "seed", 1, "seed for the dependency choice")
	flag.IntVar(&o.format, "format", 2, "project syntax: 2 (BuildStream 2) or 1 (BuildStream 1.x)")
	flag.StringVar(&o.out, "o", "", "output directory (must not exist or be empty)")
	flag.StringVar(&o.name, "name", "bench", "project name")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: genproject [flags] -o DIR\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintf(os.Stderr, "genproject: %v\n", err)
		flag.Usage()
		os.Exit(2)
	}
	st, err := generate(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "genproject: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d elements + all.bst, %d layers, %d dependencies, format %d\n",
		o.out, o.n, st.layers, st.edges, o.format)
}

func (o *options) check() error {
	switch {
	case flag.NArg() != 0:
		return fmt.Errorf("unexpected arguments: %v", flag.Args())
	case o.out == "":
		return fmt.Errorf("-o is required")
	case o.n < 1:
		return fmt.Errorf("-n must be at least 1")
	case o.layers < 1:
		return fmt.Errorf("-layers must be at least 1")
	case o.fanin < 1:
		return fmt.Errorf("-fanin must be at least 1")
	case o.format != 1 && o.format != 2:
		return fmt.Errorf("-format must be 1 or 2")
	case !validSymbol(o.name):
		return fmt.Errorf("-name %q is not a valid project name", o.name)
	}
	if o.layers > o.n {
		o.layers = o.n
	}
	return nil
}

func validSymbol(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// rng is splitmix64: tiny, and its output is fixed forever, unlike the
// algorithms behind math/rand's bounded helpers.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a value in [0, n); the modulo bias is irrelevant here.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

type element struct {
	layer, index int // index is global: 0..n-1
	path         string
	deps         []int // global indexes, sorted
}

type stats struct{ layers, edges int }

func digits(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// graph lays out the elements and picks their dependencies.
func graph(o options) [][]*element {
	r := &rng{s: o.seed}
	ew := max(5, digits(o.n-1))
	lw := max(2, digits(o.layers-1))
	layers := make([][]*element, o.layers)
	idx := 0
	for l := range layers {
		size := o.n / o.layers
		if l < o.n%o.layers {
			size++
		}
		for range size {
			layers[l] = append(layers[l], &element{
				layer: l,
				index: idx,
				path:  fmt.Sprintf("layer%0*d/elem%0*d.bst", lw, l, ew, idx),
			})
			idx++
		}
	}
	for l := 1; l < len(layers); l++ {
		below, cur := layers[l-1], layers[l]
		used := make([]bool, len(below))
		for _, e := range cur {
			k := min(o.fanin, len(below))
			picked := make(map[int]bool, k)
			for len(picked) < k {
				j := r.intn(len(below))
				if !picked[j] {
					picked[j] = true
					used[j] = true
					e.deps = append(e.deps, below[j].index)
				}
			}
		}
		// Make sure the whole layer below is reachable from this one.
		for j, u := range used {
			if !u {
				e := cur[j%len(cur)]
				e.deps = append(e.deps, below[j].index)
			}
		}
		for _, e := range cur {
			slices.Sort(e.deps)
		}
	}
	return layers
}

func generate(o options) (stats, error) {
	if ents, err := os.ReadDir(o.out); err == nil && len(ents) > 0 {
		return stats{}, fmt.Errorf("%s exists and is not empty", o.out)
	}
	layers := graph(o)
	byIndex := make([]*element, 0, o.n)
	for _, l := range layers {
		byIndex = append(byIndex, l...)
	}
	w := &writer{root: o.out}

	w.file("project.conf", projectConf(o))
	for i := range numBaseTrees {
		d := fmt.Sprintf("files/base/%02d", i)
		w.file(d+"/etc/bench/base-"+fmt.Sprint(i)+".conf", fmt.Sprintf("# base tree %d\nenabled = true\n", i))
		w.file(d+"/usr/share/bench/base-"+fmt.Sprint(i)+".txt", fmt.Sprintf("Payload of base tree %d.\n", i))
	}
	for i := range numSrcTrees {
		d := fmt.Sprintf("files/src/%02d", i)
		w.file(d+"/README", fmt.Sprintf("Synthetic source tree %d.\n", i))
		w.file(d+"/Makefile", "all:\n\t@echo building $(NAME)\n\ninstall:\n\tinstall -d $(DESTDIR)/usr/share/$(NAME)\n")
		w.exec(d+"/configure", "#!/bin/sh\necho configuring \"$@\"\n")
	}

	edges := 0
	for _, l := range layers {
		for _, e := range l {
			edges += len(e.deps)
			w.file("elements/"+e.path, elementFile(o, e, byIndex))
		}
	}
	last := layers[len(layers)-1]
	var b strings.Builder
	b.WriteString("kind: stack\ndescription: Everything in the synthetic project.\n\ndepends:\n")
	for _, e := range last {
		fmt.Fprintf(&b, "- %s\n", e.path)
	}
	edges += len(last)
	w.file("elements/all.bst", b.String())
	return stats{layers: len(layers), edges: edges}, w.err
}

func projectConf(o options) string {
	var b strings.Builder
	b.WriteString("# Synthetic benchmark project written by bench/genproject.\n")
	fmt.Fprintf(&b, "name: %s\n", o.name)
	if o.format == 2 {
		b.WriteString("min-version: 2.0\n")
	} else {
		b.WriteString("format-version: 18\n")
	}
	b.WriteString(`element-path: elements

variables:
  vendor: bstgo
  conf-flags: --prefix=%{prefix} --sysconfdir=%{sysconfdir} --disable-static

environment:
  LC_ALL: C.UTF-8
`)
	return b.String()
}

func elementFile(o options, e *element, byIndex []*element) string {
	var b strings.Builder
	name := strings.TrimSuffix(filepath.Base(e.path), ".bst")
	dep := func(i int) string { return byIndex[i].path }

	switch {
	case e.layer == 0:
		fmt.Fprintf(&b, "kind: import\ndescription: Base content %s.\n\n", name)
		fmt.Fprintf(&b, "sources:\n- kind: local\n  path: files/base/%02d\n", e.index%numBaseTrees)
		if e.index%3 == 0 {
			fmt.Fprintf(&b, "\nconfig:\n  source: /\n  target: /\n")
		}
		return b.String()

	case isStack(e):
		// Stacks take all their dependencies through `depends`, untyped.
		fmt.Fprintf(&b, "kind: stack\ndescription: Group %s of layer %d.\n\ndepends:\n", name, e.layer)
		for _, d := range e.deps {
			fmt.Fprintf(&b, "- %s\n", dep(d))
		}
		return b.String()
	}

	fmt.Fprintf(&b, "kind: manual\ndescription: |\n  Synthetic component %s (layer %d).\n", name, e.layer)
	// One dependency, the first that is not a stack, is build+run, as a
	// library a component links against would be; the others are
	// build-only, as tools are. That keeps runtime closures to chains of a
	// few dozen elements, the scale real projects have: a BuildStream key
	// lists every element of its build scope, so closures spanning half
	// the project would make every key's preimage as large as the project.
	// The spellings vary: plain build-depends, typed maps in depends, and a
	// filename list.
	runtime := -1
	for k, d := range e.deps {
		if !isStack(byIndex[d]) {
			runtime = k
			break
		}
	}
	var build, deps, buildList []string
	for k, d := range e.deps {
		switch {
		case k == runtime && e.index%4 == 1:
			deps = append(deps, "- filename: "+dep(d))
		case k == runtime:
			deps = append(deps, "- "+dep(d))
		case k%3 == 1:
			deps = append(deps, fmt.Sprintf("- filename: %s\n  type: build", dep(d)))
		case k%3 == 2 && e.index%2 == 0:
			buildList = append(buildList, dep(d))
		default:
			build = append(build, "- "+dep(d))
		}
	}
	switch {
	case len(buildList) > 0 && o.format == 2:
		build = append(build, "- filename:\n  - "+strings.Join(buildList, "\n  - "))
	case len(buildList) > 0:
		// BuildStream 1.x has no filename lists: one map per name gives
		// the same graph.
		for _, d := range buildList {
			build = append(build, "- filename: "+d)
		}
	}
	if len(build) > 0 {
		fmt.Fprintf(&b, "\nbuild-depends:\n%s\n", strings.Join(build, "\n"))
	}
	if len(deps) > 0 {
		fmt.Fprintf(&b, "\ndepends:\n%s\n", strings.Join(deps, "\n"))
	}
	if e.index%4 == 0 {
		fmt.Fprintf(&b, "\nsources:\n- kind: local\n  path: files/src/%02d\n", (e.index/4)%numSrcTrees)
	}
	fmt.Fprintf(&b, `
variables:
  component: %s
  docdir-component: "%%{datadir}/doc/%%{component}"
`, name)
	if e.index%5 == 0 {
		b.WriteString("\nenvironment:\n  NAME: \"%{component}\"\n")
	}
	b.WriteString(`
config:
  configure-commands:
  - ./configure %{conf-flags}
  build-commands:
  - make -j%{max-jobs} NAME=%{component}
  install-commands:
  - make -j1 DESTDIR="%{install-root}" NAME=%{component} install
  - |
    install -d "%{install-root}%{docdir-component}"
    echo "%{component} by %{vendor}" > "%{install-root}%{docdir-component}/ABOUT"
`)
	return b.String()
}

// isStack reports whether e is one of the stacks of the layers above 0.
func isStack(e *element) bool { return e.layer > 0 && e.index%10 == 0 }

// writer creates files under root, remembering the first error.
type writer struct {
	root string
	dirs map[string]bool
	err  error
}

func (w *writer) write(rel, content string, mode os.FileMode) {
	if w.err != nil {
		return
	}
	p := filepath.Join(w.root, filepath.FromSlash(rel))
	dir := filepath.Dir(p)
	if w.dirs == nil {
		w.dirs = map[string]bool{}
	}
	if !w.dirs[dir] {
		if w.err = os.MkdirAll(dir, 0o755); w.err != nil {
			return
		}
		w.dirs[dir] = true
	}
	w.err = os.WriteFile(p, []byte(content), mode)
}

func (w *writer) file(rel, content string) { w.write(rel, content, 0o644) }
func (w *writer) exec(rel, content string) { w.write(rel, content, 0o755) }
