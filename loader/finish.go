package loader

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/loader/variables"
)

// finish turns the loaded files into the element graph: it reports the
// first error in a deterministic order, resolves links, detects cycles,
// sorts every dependency list and checks each kind's constraints.
func (l *loader) finish(targets []string) (*Graph, error) {
	// Report the first error met walking from the targets in declaration
	// order, whatever order the parallel loading finished in.
	var walk func(le *loadElement, ref *loadDep) error
	walk = func(le *loadElement, ref *loadDep) error {
		if le.visit == visitChecked {
			return nil
		}
		le.visit = visitChecked
		if le.err != nil {
			return l.locate(le, ref)
		}
		for _, d := range le.deps {
			if err := walk(d.target, d); err != nil {
				return err
			}
		}
		if le.link != "" {
			return walk(l.byNam[le.link], &loadDep{Dependency: element.Dependency{Prov: le.linkProv}, name: le.link})
		}
		return nil
	}
	roots := make([]*loadElement, len(targets))
	for i, t := range targets {
		roots[i] = l.byNam[t]
		if !l.failed {
			continue
		}
		if err := walk(roots[i], nil); err != nil {
			return nil, err
		}
	}

	// Links stand for their targets, for dependencies and targets alike.
	for i, r := range roots {
		t, err := l.resolveLink(r)
		if err != nil {
			return nil, err
		}
		roots[i] = t
	}
	if l.hasLinksOrJunctions() {
		names := make([]string, 0, len(l.byNam))
		for name := range l.byNam {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			for _, d := range l.byNam[name].deps {
				t, err := l.resolveLink(d.target)
				if err != nil {
					return nil, err
				}
				if t.kind.Name() == "junction" {
					return nil, node.Errorf(d.Prov, node.InvalidData, "cannot depend on junction '%s'", d.name)
				}
				d.target = t
			}
			mergeSameTargets(l.byNam[name])
		}
	}
	order, err := orderAcyclic(roots)
	if err != nil {
		return nil, err
	}
	g := &Graph{Project: l.p, Elements: make(map[string]*element.Element, len(l.byNam)),
		targets: make(map[string]*element.Element, len(targets))}
	offs := make([]int, len(order)+1)
	for i, le := range order {
		le.index = i
		offs[i+1] = offs[i] + len(le.deps)
	}
	sortDependencies(order)
	// The name index is built while the dependencies are linked, in
	// one block, and checked.
	named := make(chan struct{})
	go func() {
		defer close(named)
		for _, le := range order {
			g.Elements[le.el.FullName] = le.el
		}
	}()
	linkDependencies(order, offs)
	err = checkElements(order)
	<-named
	if err != nil {
		return nil, err
	}
	seenTarget := map[*element.Element]bool{}
	for i, r := range roots {
		g.targets[targets[i]] = r.el
		if !seenTarget[r.el] {
			seenTarget[r.el] = true
			g.Targets = append(g.Targets, r.el)
		}
	}
	return g, nil
}

// The values of loadElement.visit: each walk of finish moves the
// elements it is done with to the next value, so none needs a set.
const (
	visitChecked uint8 = iota + 1 // the walk for errors
	visitOnStack                  // orderAcyclic, then visitListed
	visitListed
)

// hasLinksOrJunctions reports whether a link or a junction was loaded,
// which dependencies must be checked for.
func (l *loader) hasLinksOrJunctions() bool {
	for _, le := range l.byNam {
		if le.link != "" || le.kind != nil && le.kind.Name() == "junction" {
			return true
		}
	}
	return false
}

// linkDependencies gives every element of order its dependencies, sorted,
// the pointers to them in one block in which those of order[i] start at
// offs[i], on all processors.
func linkDependencies(order []*loadElement, offs []int) {
	ptrs := make([]*element.Dependency, offs[len(order)])
	inChunks(len(order), 512, func() func(i int) {
		return func(i int) {
			le, lo, hi := order[i], offs[i], offs[i+1]
			le.el.Deps = ptrs[lo:hi:hi]
			for j, d := range le.deps {
				d.Element = d.target.el
				le.el.Deps[j] = &d.Dependency
			}
		}
	})
}

// inChunks calls a function for each of 0 to n-1, on all processors, in
// chunks of chunk indexes taken in turn. Each goroutine gets its function
// from newWorker, which can give it state of its own.
func inChunks(n, chunk int, newWorker func() func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work := newWorker()
			for {
				start := int(next.Add(int64(chunk))) - chunk
				if start >= n {
					return
				}
				for i := start; i < min(start+chunk, n); i++ {
					work(i)
				}
			}
		}()
	}
	wg.Wait()
}

// checkElements applies checkElement to every element, on all
// processors, and returns the error of the first element in order that
// has one.
func checkElements(order []*loadElement) error {
	errs := make([]error, len(order))
	inChunks(len(order), 64, func() func(i int) {
		var scratch []element.DependencyConfig
		return func(i int) { errs[i] = checkElement(order[i], &scratch) }
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// locate gives an error of le the provenance of the reference to it.
func (l *loader) locate(le *loadElement, ref *loadDep) error {
	if node.ReasonOf(le.err) != node.MissingFile {
		return le.err
	}
	if e, ok := le.err.(*node.Error); ok && e.Prov.Valid() {
		return le.err
	}
	p := le.proj
	if p == nil {
		p = l.p
	}
	if p.JunctionName() != "" {
		var prov node.Provenance
		if ref != nil {
			prov = ref.Prov
		}
		return p.missingElement(le.local, prov, le.err)
	}
	rel, _ := filepath.Rel(p.Dir, p.ElementPath)
	e := &node.Error{Reason: node.MissingFile, Err: le.err,
		Msg: fmt.Sprintf("could not find element '%s' in elements directory '%s'", le.name, rel)}
	if ref != nil {
		e.Prov = ref.Prov
	}
	// A common mistake is to name elements with the element path.
	if rel != "." && strings.HasPrefix(le.name, rel+"/") {
		trimmed := strings.TrimPrefix(le.name, rel+"/")
		if _, err := os.Stat(filepath.Join(p.ElementPath, trimmed)); err == nil {
			e.Detail = fmt.Sprintf("Did you mean '%s'?", trimmed)
		}
	}
	return e
}

func (l *loader) resolveLink(le *loadElement) (*loadElement, error) {
	start := le
	for hops := 0; le.link != ""; hops++ {
		if hops > len(l.byNam) {
			return nil, node.Errorf(start.linkProv, node.CircularReference, "%s: links form a cycle", start.name)
		}
		le = l.byNam[le.link]
	}
	return le, nil
}

// orderAcyclic lists every element reachable from roots, dependencies
// first, each with its level (one more than its highest dependency's),
// or reports the first circular dependency met, with its whole chain.
func orderAcyclic(roots []*loadElement) ([]*loadElement, error) {
	var out []*loadElement
	var stack []dfsFrame
	for _, top := range roots {
		if top.visit == visitListed {
			continue
		}
		stack = append(stack[:0], dfsFrame{le: top})
		top.visit = visitOnStack
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.i < len(f.le.deps) {
				next := f.le.deps[f.i].target
				f.i++
				switch next.visit {
				case visitOnStack:
					return nil, cycleError(stack, next)
				case visitListed:
				default:
					stack = append(stack, dfsFrame{le: next})
					next.visit = visitOnStack
				}
				continue
			}
			// Every dependency is listed, with its level.
			le := f.le
			le.visit = visitListed
			le.level = 1
			for _, d := range le.deps {
				le.level = max(le.level, d.target.level+1)
			}
			out = append(out, le)
			stack = stack[:len(stack)-1]
		}
	}
	return out, nil
}

// dfsFrame is an element on the stack of a depth-first walk, with the
// index of its next dependency.
type dfsFrame struct {
	le *loadElement
	i  int
}

// cycleError reports the cycle closed by a dependency of the stack's top
// on next, which is on the stack.
func cycleError(stack []dfsFrame, next *loadElement) error {
	var chain []string
	in := false
	for _, fr := range stack {
		if fr.le == next {
			in = true
		}
		if in {
			chain = append(chain, fr.le.name)
		}
	}
	chain = append(chain, next.name)
	return &node.Error{Reason: node.CircularDependency,
		Msg:    "circular dependency detected at element: " + next.name,
		Detail: "Dependency chain: " + strings.Join(chain, " -> ")}
}

// sortDependencies sorts the dependency lists of order, whose elements
// have their levels and indexes, on all processors. Each sorted list is a
// copy, put in place once all are sorted: the comparator searches the
// graph through the lists as they were.
func sortDependencies(order []*loadElement) {
	sorted := make([][]*loadDep, len(order))
	inChunks(len(order), 256, func() func(i int) {
		s := sorter{marks: make([]uint32, len(order))}
		return func(i int) { sorted[i] = s.sort(order[i]) }
	})
	for i, le := range order {
		le.deps = sorted[i]
	}
}

// sorter sorts dependency lists as BuildStream does. Each goroutine has
// its own.
type sorter struct {
	marks []uint32 // by element index: marks[i] == gen once visited
	gen   uint32
	stack []*loadElement
}

// depends reports whether a depends on b, directly or not. Only elements of
// a higher level than b can lead to b, which prunes most of the search.
func (s *sorter) depends(a, b *loadElement) bool {
	if a.level <= b.level {
		return false
	}
	s.gen++
	s.stack = append(s.stack[:0], a)
	s.marks[a.index] = s.gen
	for len(s.stack) > 0 {
		x := s.stack[len(s.stack)-1]
		s.stack = s.stack[:len(s.stack)-1]
		for _, d := range x.deps {
			t := d.target
			if t == b {
				return true
			}
			if s.marks[t.index] != s.gen && t.level > b.level {
				s.marks[t.index] = s.gen
				s.stack = append(s.stack, t)
			}
		}
	}
	return false
}

// sort returns le's dependencies ordered with BuildStream's comparator and
// CPython's list sort, which together decide the staging order and the
// cache keys.
func (s *sorter) sort(le *loadElement) []*loadDep {
	if len(le.deps) < 2 {
		return le.deps
	}
	deps := append([]*loadDep(nil), le.deps...)
	element.ListSort(deps, func(a, b *loadDep) int {
		ea, eb := a.target, b.target
		if s.depends(ea, eb) {
			return 1
		}
		if s.depends(eb, ea) {
			return -1
		}
		if a.Type != b.Type {
			if a.Type == element.DepRuntime {
				return 1
			}
			if b.Type == element.DepRuntime {
				return -1
			}
		}
		// Then names in their projects; for equal names, junctioned
		// elements before local ones, and by the name of their junction.
		if c := strings.Compare(ea.local, eb.local); c != 0 {
			return c
		}
		ja, jb := ea.junctionName(), eb.junctionName()
		switch {
		case ja != "" && jb != "":
			return strings.Compare(ja, jb)
		case ja != "":
			return -1
		case jb != "":
			return 1
		}
		return 0
	})
	return deps
}

// checkElement applies the kind's constraints on the element's
// dependencies and their configuration; scratch is a list to reuse.
func checkElement(le *loadElement, scratch *[]element.DependencyConfig) error {
	e := le.el
	flags := le.kind.Flags()
	for _, d := range e.Deps {
		if flags.ForbidBuildDeps && d.Type&element.DepBuild != 0 {
			return node.Errorf(d.Prov, node.ElementConfigurationInvalid, "%s: build dependencies are forbidden for '%s' elements", e.Name, e.Kind)
		}
		if flags.ForbidRuntimeDeps && d.Type&element.DepRuntime != 0 {
			return node.Errorf(d.Prov, node.ElementConfigurationInvalid, "%s: runtime dependencies are forbidden for '%s' elements", e.Name, e.Kind)
		}
	}
	// Kinds that take dependency configuration see every build
	// dependency; for the others, configuration is an error.
	dc, configurable := e.KindConfig.(element.DependencyConfigurer)
	// The list given to the kind is only valid during the call, so each
	// worker reuses one.
	cfgs := (*scratch)[:0]
	defer func() { clear(cfgs); *scratch = cfgs[:0] }()
	for _, d := range e.Deps {
		if d.Type&element.DepBuild == 0 {
			continue
		}
		if !configurable {
			if len(d.Config) > 0 {
				return node.Errorf(d.Config[0].Prov(), node.InvalidDependencyConfig,
					"%s: elements of kind '%s' do not accept configuration on their dependencies", e.Name, e.Kind)
			}
			continue
		}
		if len(d.Config) == 0 {
			cfgs = append(cfgs, element.DependencyConfig{Element: d.Element, Path: d.Element.FullName})
		}
		for _, c := range d.Config {
			expanded, err := e.Variables.(*variables.Resolved).ExpandNode(c)
			if err != nil {
				return err
			}
			cfgs = append(cfgs, element.DependencyConfig{Element: d.Element, Path: d.Element.FullName, Config: expanded})
		}
	}
	if configurable {
		if err := dc.ConfigureDependencies(cfgs); err != nil {
			return err
		}
	}
	if v, ok := e.Plugin.(element.Validator); ok {
		return v.Validate(e)
	}
	return nil
}
