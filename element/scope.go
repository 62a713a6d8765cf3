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
//
// Inside, elements are numbered as the cache meets them, and closures are
// lists of numbers merged with an array of stamps: a merge looks up no
// map, which matters when every element's scope is asked for. A
// ScopeCache is not safe for concurrent use.
type ScopeCache struct {
	ids   map[*Element]int32
	elems []*Element // by number
	run   [][]int32  // the run scope by number, once known
	stamp []uint32   // stamp[i] == gen: i is in the merge being made
	gen   uint32
	parts [][]int32 // scratch for merges
	// reuse: BuildScope's answers share buf (see NewScratchScopeCache).
	reuse bool
	buf   []*Element
	ibuf  []int32
	size  int // the number of elements expected, when ids is nil
}

// NewScopeCache returns an empty cache.
func NewScopeCache() *ScopeCache {
	return &ScopeCache{ids: map[*Element]int32{}}
}

// NewScratchScopeCache returns an empty cache whose BuildScope answers
// share one buffer: each is valid until the next call, and must not be
// modified. It is for callers that look through one scope at a time, such
// as those listing states of a whole graph, which it saves a list per
// element.
func NewScratchScopeCache() *ScopeCache {
	return NewScratchScopeCacheFor(0)
}

// NewScratchScopeCacheFor is NewScratchScopeCache for a caller that
// expects to meet about n elements: the cache is sized for them when it
// numbers its first element rather than grown by doubling, which for a
// graph of 100,000 elements saves tens of megabytes of copies. A cache
// never asked anything allocates nothing.
func NewScratchScopeCacheFor(n int) *ScopeCache {
	return &ScopeCache{reuse: true, size: n}
}

// id returns e's number, giving it one if it has none.
func (c *ScopeCache) id(e *Element) int32 {
	if i, ok := c.ids[e]; ok {
		return i
	}
	if c.ids == nil {
		c.ids = make(map[*Element]int32, c.size)
		c.elems = make([]*Element, 0, c.size)
		c.run = make([][]int32, 0, c.size)
		c.stamp = make([]uint32, 0, c.size)
	}
	i := int32(len(c.elems))
	c.ids[e] = i
	c.elems = append(c.elems, e)
	c.run = append(c.run, nil)
	c.stamp = append(c.stamp, 0)
	return i
}

// RunScope returns Dependencies([]*Element{e}, ScopeRun): e's runtime
// dependencies, recursively, in staging order, then e.
func (c *ScopeCache) RunScope(e *Element) []*Element {
	return c.elements(c.runIDs(c.id(e)))
}

// runIDs returns the run scope of element i, computing it once.
func (c *ScopeCache) runIDs(i int32) []int32 {
	if r := c.run[i]; r != nil {
		return r
	}
	e := c.elems[i]
	var parts [][]int32
	for _, d := range e.Deps {
		if d.Type&DepRuntime != 0 {
			parts = append(parts, c.runIDs(c.id(d.Element)))
		}
	}
	r := append(c.merge(parts, i), i)
	c.run[i] = r[:len(r):len(r)]
	return c.run[i]
}

// BuildScope returns Dependencies([]*Element{e}, ScopeBuild): what is
// staged to build e, in staging order.
func (c *ScopeCache) BuildScope(e *Element) []*Element {
	self := c.id(e)
	parts := c.parts[:0]
	for _, d := range e.Deps {
		if d.Type&DepBuild != 0 {
			parts = append(parts, c.runIDs(c.id(d.Element)))
		}
	}
	c.parts = parts[:0]
	if len(parts) == 0 {
		return nil
	}
	if !c.reuse {
		return c.elements(c.merge(parts, self))
	}
	c.ibuf = c.mergeInto(c.ibuf[:0], parts, self)
	c.buf = c.buf[:0]
	for _, i := range c.ibuf {
		c.buf = append(c.buf, c.elems[i])
	}
	return c.buf
}

// elements returns the elements numbered ids.
func (c *ScopeCache) elements(ids []int32) []*Element {
	out := make([]*Element, len(ids))
	for k, i := range ids {
		out[k] = c.elems[i]
	}
	return out
}

// merge concatenates post-order lists, keeping each element's first
// appearance. A depth-first post-order walk with a shared visited set
// gives the same list: an element it skips was visited by an earlier,
// complete walk, which also visited everything below it. except is left
// out (an element is never in its own scope; this also guards cycles).
func (c *ScopeCache) merge(parts [][]int32, except int32) []int32 {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	return c.mergeInto(make([]int32, 0, n+1), parts, except)
}

// mergeInto is merge appending to out.
func (c *ScopeCache) mergeInto(out []int32, parts [][]int32, except int32) []int32 {
	if len(parts) == 1 {
		for _, x := range parts[0] {
			if x != except {
				out = append(out, x)
			}
		}
		return out
	}
	c.gen++
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
