package element

import "sort"

// Scope selects which dependencies a walk follows.
type Scope uint8

// The scopes of BuildStream: All follows every dependency; Build gives
// what is staged to build an element (its build dependencies and their
// runtime dependencies, without the element); Run gives what is needed to
// run it (itself and its runtime dependencies, recursively).
const (
	ScopeAll Scope = iota + 1
	ScopeBuild
	ScopeRun
)

// BuildDeps returns e's direct build dependencies in sorted order.
func (e *Element) BuildDeps() []*Element { return e.direct(DepBuild) }

// RuntimeDeps returns e's direct runtime dependencies in sorted order.
func (e *Element) RuntimeDeps() []*Element { return e.direct(DepRuntime) }

func (e *Element) direct(t DepType) []*Element {
	var out []*Element
	for _, d := range e.Deps {
		if d.Type&t != 0 {
			out = append(out, d.Element)
		}
	}
	return out
}

// DirectDeps returns e's direct dependencies for scope, without
// duplicates: build dependencies first, then runtime ones (for ScopeAll).
func (e *Element) DirectDeps(scope Scope) []*Element {
	switch scope {
	case ScopeBuild:
		return e.BuildDeps()
	case ScopeRun:
		return e.RuntimeDeps()
	}
	out := e.BuildDeps()
	for _, d := range e.RuntimeDeps() {
		if !containsElement(out, d) {
			out = append(out, d)
		}
	}
	return out
}

func containsElement(list []*Element, e *Element) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

// Walker walks dependencies in staging order. One Walker shares its
// visited sets across several walks, as BuildStream does when it lists
// the dependencies of several targets.
type Walker struct {
	visited map[*Element]uint8 // visitedBuild and visitedRun bits
}

// The bits of Walker.visited.
const (
	visitedBuild uint8 = 1 << iota
	visitedRun
)

// NewWalker returns a Walker with nothing visited.
func NewWalker() *Walker {
	return &Walker{visited: map[*Element]uint8{}}
}

// Walk calls fn for e's dependencies in scope, recursively, depth-first
// post-order (dependencies before what depends on them), each once.
func (w *Walker) Walk(e *Element, scope Scope, fn func(*Element)) {
	v := w.visited[e]
	if (scope == ScopeBuild || scope == ScopeAll) && v&visitedBuild != 0 {
		return
	}
	if (scope == ScopeRun || scope == ScopeAll) && v&visitedRun != 0 {
		return
	}
	w.visit(e, scope, fn)
}

func (w *Walker) visit(e *Element, scope Scope, fn func(*Element)) {
	switch scope {
	case ScopeAll:
		w.visited[e] = visitedBuild | visitedRun
		for _, d := range e.Deps {
			if d.Type&DepBuild != 0 && w.visited[d.Element] == 0 {
				w.visit(d.Element, ScopeAll, fn)
			}
		}
		for _, d := range e.Deps {
			if d.Type&DepRuntime != 0 && w.visited[d.Element] == 0 {
				w.visit(d.Element, ScopeAll, fn)
			}
		}
		fn(e)
	case ScopeBuild:
		w.visited[e] |= visitedBuild
		for _, d := range e.Deps {
			if d.Type&DepBuild != 0 && w.visited[d.Element]&visitedRun == 0 {
				w.visit(d.Element, ScopeRun, fn)
			}
		}
	case ScopeRun:
		w.visited[e] |= visitedRun
		for _, d := range e.Deps {
			if d.Type&DepRuntime != 0 && w.visited[d.Element]&visitedRun == 0 {
				w.visit(d.Element, ScopeRun, fn)
			}
		}
		fn(e)
	}
}

// Dependencies lists, for all targets together, their dependencies in
// scope in staging order, each element once.
func Dependencies(targets []*Element, scope Scope) []*Element {
	var out []*Element
	w := NewWalker()
	for _, t := range targets {
		w.Walk(t, scope, func(e *Element) { out = append(out, e) })
	}
	return out
}

// Selection names which elements a command acts on, relative to its
// targets (the --deps option).
type Selection string

// The selections of --deps.
const (
	SelectNone  Selection = "none"
	SelectRun   Selection = "run"
	SelectBuild Selection = "build"
	SelectAll   Selection = "all"
)

// Select returns the elements selected by sel for targets, minus those
// reachable only through the excepted elements.
func Select(targets []*Element, sel Selection, except []*Element) []*Element {
	var elements []*Element
	switch sel {
	case SelectNone:
		elements = targets
	case SelectRun:
		elements = Dependencies(targets, ScopeRun)
	case SelectBuild:
		elements = Dependencies(targets, ScopeBuild)
	default:
		elements = Dependencies(targets, ScopeAll)
	}
	return exceptElements(targets, elements, except)
}

// exceptElements removes from elements what can only be reached from the
// targets through an excepted element. Where an excepted element's
// dependencies meet the targets' graph, the graph is cut.
func exceptElements(targets, elements, except []*Element) []*Element {
	if len(except) == 0 {
		return elements
	}
	targeted := map[*Element]bool{}
	for _, e := range Dependencies(targets, ScopeAll) {
		targeted[e] = true
	}
	// The first elements of the targets' graph met going down from each
	// excepted element.
	intersection := map[*Element]bool{}
	visited := map[*Element]bool{}
	var find func(e *Element)
	find = func(e *Element) {
		if visited[e] {
			return
		}
		visited[e] = true
		if targeted[e] {
			intersection[e] = true
			return
		}
		for _, d := range e.DirectDeps(ScopeAll) {
			find(d)
		}
	}
	for _, e := range except {
		find(e)
	}
	// What the targets still reach without passing through those.
	reach := map[*Element]bool{}
	queue := append([]*Element(nil), targets...)
	for len(queue) > 0 {
		e := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if reach[e] || intersection[e] {
			continue
		}
		reach[e] = true
		queue = append(queue, e.DirectDeps(ScopeAll)...)
	}
	var out []*Element
	for _, e := range elements {
		if reach[e] {
			out = append(out, e)
		}
	}
	return out
}

// SortByName sorts elements by name, as `--order alpha` does (BuildStream
// compares the project-local names).
func SortByName(elements []*Element) []*Element {
	out := append([]*Element(nil), elements...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ScopeCache answers BuildScope for many elements without walking the
// same runtime dependencies again for each: it remembers every element's
// runtime closure. Its answers equal those of Dependencies, which is the
// definition; the cache only makes asking for every element of a graph
// linear in the size of the answers rather than in the walks.
type ScopeCache struct {
	run   map[*Element][]*Element
	stamp map[*Element]uint32
	gen   uint32
}

// NewScopeCache returns an empty cache.
func NewScopeCache() *ScopeCache {
	return &ScopeCache{run: map[*Element][]*Element{}, stamp: map[*Element]uint32{}}
}

// RunScope returns Dependencies([]*Element{e}, ScopeRun): e's runtime
// dependencies, recursively, in staging order, then e.
func (c *ScopeCache) RunScope(e *Element) []*Element {
	if r, ok := c.run[e]; ok {
		return r
	}
	var parts [][]*Element
	for _, d := range e.Deps {
		if d.Type&DepRuntime != 0 {
			parts = append(parts, c.RunScope(d.Element))
		}
	}
	r := append(c.merge(parts, e), e)
	c.run[e] = r
	return r
}

// BuildScope returns Dependencies([]*Element{e}, ScopeBuild): what is
// staged to build e, in staging order.
func (c *ScopeCache) BuildScope(e *Element) []*Element {
	var parts [][]*Element
	for _, d := range e.Deps {
		if d.Type&DepBuild != 0 {
			parts = append(parts, c.RunScope(d.Element))
		}
	}
	return c.merge(parts, nil)
}

// merge concatenates post-order lists, keeping each element's first
// appearance. A depth-first post-order walk with a shared visited set
// gives the same list: an element it skips was visited by an earlier,
// complete walk, which also visited everything below it. except is left
// out (an element is never in its own scope; this also guards cycles).
func (c *ScopeCache) merge(parts [][]*Element, except *Element) []*Element {
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return append([]*Element(nil), parts[0]...)
	}
	c.gen++
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]*Element, 0, n)
	for _, p := range parts {
		for _, x := range p {
			if x != except && c.stamp[x] != c.gen {
				c.stamp[x] = c.gen
				out = append(out, x)
			}
		}
	}
	return out
}
