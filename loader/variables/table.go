package variables

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/bstgo/bst/loader/node"
)

// definition is one variable's unresolved value.
type definition struct {
	parts []part
	prov  node.Provenance
	// simple is set when the value has no reference.
	simple bool
	raw    string
}

// Table is an immutable set of variable definitions.
type Table struct {
	parent *Table
	own    smallMap[*definition] // the definitions this table adds or replaces
	order  []string              // declaration order, the parent's included
	extra  []string              // for overlays: the names added to the parent's

	once     sync.Once
	defs     map[string]*definition // every definition, once prepared
	resolved *Resolved              // the table's own resolution, partial
	failed   map[string]bool
	rdeps    map[string][]string // name -> variables referring to it
	// closure lists, for each name referred to, every variable referring
	// to it directly or not: what to resolve again when an overlay
	// redefines it.
	closure map[string][]string
}

// Protected are the variables bst sets and nobody may redefine.
var Protected = []string{"project-name", "element-name", "max-jobs"}

// CheckProtected fails if defs redefines a protected variable.
func CheckProtected(defs *node.Node) error {
	if defs == nil {
		return nil
	}
	for _, name := range Protected {
		if v := defs.Get(name); v != nil && v.Prov().Valid() {
			return node.Errorf(v.Prov(), node.ProtectedVariableRedefined, "invalid redefinition of protected variable '%s'", name)
		}
	}
	return nil
}

// newDefinition parses a variable's value.
func newDefinition(p node.Provenance, raw string) definition {
	d := definition{prov: p, raw: raw}
	if strings.Contains(raw, "%{") {
		d.parts = parse(raw)
	}
	d.simple = len(d.parts) == 0 || len(d.parts) == 1 && d.parts[0].ref == ""
	return d
}

// define adds the definitions of defs to into, appending the names new
// to it to *order unless order is nil.
func define(defs *node.Node, into *smallMap[*definition], order *[]string) error {
	if defs == nil {
		return nil
	}
	if !defs.IsMapping() {
		return node.Errorf(defs.Prov(), node.InvalidData, "variables must be a dictionary")
	}
	block := make([]definition, defs.Len())
	for i, name := range defs.Keys() {
		v := defs.Items()[i]
		if !v.IsScalar() {
			return node.Errorf(v.Prov(), node.InvalidData, "value of variable '%s' is not of the expected type 'str'", name)
		}
		d := &block[i]
		*d = newDefinition(v.Prov(), v.Value())
		if _, ok := into.get(name); !ok && order != nil {
			*order = append(*order, name)
		}
		into.set(name, d)
	}
	return nil
}

// Compile builds a table from a mapping of name to string.
func Compile(defs *node.Node) (*Table, error) {
	t := &Table{own: newSmallMap[*definition](defs.Len())}
	if err := define(defs, &t.own, &t.order); err != nil {
		return nil, err
	}
	return t, nil
}

// Synthetic is a variable that bst defines, such as element-name, with no
// text behind it.
type Synthetic struct {
	Name, Value string
}

// Overlay returns a table with defs (which may be nil) and then synthetic
// added to or replacing t's. It copies nothing of t: elements overlay a few
// variables on a shared table.
func (t *Table) Overlay(defs *node.Node, synthetic ...Synthetic) (*Table, error) {
	if t.parent != nil {
		// Flatten (and resolve) an overlay once before building on it.
		t.prepare()
	}
	size := len(synthetic)
	if defs != nil {
		size += defs.Len()
	}
	o := &Table{parent: t, own: newSmallMap[*definition](size), order: t.order}
	if err := define(defs, &o.own, nil); err != nil {
		return nil, err
	}
	newName := func(name string) {
		if t.lookup(name) == nil && !slices.Contains(o.extra, name) {
			if o.extra == nil {
				o.extra = make([]string, 0, size)
			}
			o.extra = append(o.extra, name)
		}
	}
	// The names new to t, in declaration order.
	if defs != nil {
		for _, name := range defs.Keys() {
			newName(name)
		}
	}
	if len(synthetic) > 0 {
		block := make([]definition, len(synthetic))
		for i, sv := range synthetic {
			block[i] = newDefinition(node.Synthetic, sv.Value)
			o.own.set(sv.Name, &block[i])
			newName(sv.Name)
		}
	}
	return o, nil
}

// lookup finds a definition, in this table or its ancestors.
func (t *Table) lookup(name string) *definition {
	for ; t != nil; t = t.parent {
		if t.defs != nil {
			return t.defs[name]
		}
		if d, _ := t.own.get(name); d != nil {
			return d
		}
	}
	return nil
}

// allDefs returns every definition of the table in one map.
func (t *Table) allDefs() map[string]*definition {
	if t.parent == nil {
		all := make(map[string]*definition, t.own.len())
		t.own.each(func(name string, d *definition) { all[name] = d })
		return all
	}
	all := make(map[string]*definition, len(t.order)+len(t.extra))
	for _, name := range t.names() {
		all[name] = t.lookup(name)
	}
	return all
}

// names lists every variable of the table in declaration order.
func (t *Table) names() []string {
	if len(t.extra) == 0 {
		return t.order
	}
	return append(append(make([]string, 0, len(t.order)+len(t.extra)), t.order...), t.extra...)
}

// prepare resolves what the table can on its own, once: the result is
// shared by every overlay of it.
func (t *Table) prepare() {
	t.once.Do(func() {
		t.defs = t.allDefs()
		t.order, t.extra = t.names(), nil
		t.rdeps = map[string][]string{}
		for _, name := range t.order {
			for _, p := range t.defs[name].parts {
				if p.ref != "" {
					t.rdeps[p.ref] = append(t.rdeps[p.ref], name)
				}
			}
		}
		t.closure = make(map[string][]string, len(t.rdeps))
		for name := range t.rdeps {
			t.closure[name] = t.dependents([]string{name})
		}
		r := &resolver{defs: t.defs, values: newSmallMap[string](len(t.defs)), quiet: true}
		t.failed = map[string]bool{}
		for _, name := range t.order {
			if _, err := r.resolve(name); err != nil {
				t.failed[name] = true
				r.stack = r.stack[:0]
			}
		}
		// A variable whose resolution failed may have left dependents
		// resolved through it: drop everything that refers to a failed one.
		for name := range t.failed {
			for _, d := range t.closure[name] {
				t.failed[d] = true
			}
		}
		for name := range t.failed {
			r.values.delete(name)
		}
		t.resolved = &Resolved{order: t.order, values: r.values}
	})
}

// dependents lists the variables that refer, directly or not, to names.
func (t *Table) dependents(names []string) []string {
	seen := map[string]bool{}
	queue := append([]string(nil), names...)
	var out []string
	for len(queue) > 0 {
		n := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, d := range t.rdeps[n] {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
				queue = append(queue, d)
			}
		}
	}
	return out
}

// Resolve resolves every variable of the table, failing on the first
// undefined reference or cycle, in declaration order.
func (t *Table) Resolve() (*Resolved, error) { return t.resolve(false) }

// ResolvePartial resolves what can be: variables that cannot be resolved
// are left out, so expanding them fails. It is for expanding a few values
// (URL aliases) where BuildStream does not check every variable.
func (t *Table) ResolvePartial() *Resolved {
	r, _ := t.resolve(true)
	return r
}

func (t *Table) resolve(lenient bool) (*Resolved, error) {
	if t.parent == nil {
		t.prepare()
		if len(t.failed) == 0 {
			return t.resolved, nil
		}
		if lenient {
			return t.resolved, nil
		}
		r := &resolver{defs: t.defs, values: newSmallMap[string](len(t.defs))}
		for _, name := range t.order {
			if _, err := r.resolve(name); err != nil {
				return nil, err
			}
		}
		return &Resolved{order: t.order, values: r.values}, nil
	}
	p := t.parent
	p.prepare()
	// What must be recomputed: the overlay's own definitions, what the
	// parent could not resolve, and everything depending on either.
	size := t.own.len() + len(p.failed)
	t.own.each(func(name string, _ *definition) { size += len(p.closure[name]) })
	dirty := newSmallMap[bool](size)
	mark := func(name string) {
		dirty.set(name, true)
		for _, d := range p.closure[name] {
			dirty.set(d, true)
		}
	}
	t.own.each(func(name string, _ *definition) { mark(name) })
	for name := range p.failed {
		mark(name)
	}
	r := &resolver{defs: p.defs, own: t.own, values: newSmallMap[string](size), base: p.resolved, dirty: dirty, quiet: lenient}
	// Resolve in declaration order so that the first error reported is
	// the first one written.
	for _, names := range [][]string{t.order, t.extra} {
		for _, name := range names {
			if r.isDirty(name) {
				if _, err := r.resolve(name); err != nil {
					if !lenient {
						return nil, err
					}
					r.stack = r.stack[:0]
				}
			}
		}
	}
	res := &Resolved{order: t.order, extra: t.extra, values: r.values, base: p.resolved}
	res.detach()
	return res, nil
}

// resolver resolves variables with memoisation and cycle detection.
type resolver struct {
	defs   map[string]*definition
	own    smallMap[*definition] // definitions that win over defs
	values smallMap[string]
	base   *Resolved      // values to reuse for clean variables
	dirty  smallMap[bool] // the variables not to take from base
	// stack holds the references being followed: a variable on it is
	// being resolved, and meeting it again is a cycle.
	stack []refStep
	// quiet: the errors are dropped, so an undefined reference fails
	// without the suggestion, which compares the name with every other.
	quiet bool
}

type refStep struct {
	from, to string
}

func (r *resolver) isDirty(name string) bool {
	_, dirty := r.dirty.get(name)
	return dirty
}

func (r *resolver) resolve(name string) (string, error) {
	if v, ok := r.values.get(name); ok {
		return v, nil
	}
	if r.base != nil && !r.isDirty(name) {
		if v, ok := r.base.values.get(name); ok {
			return v, nil
		}
	}
	d, _ := r.own.get(name)
	if d == nil {
		d = r.defs[name]
	}
	if d == nil {
		return "", errUndefined
	}
	if d.simple {
		r.values.set(name, d.raw)
		return d.raw, nil
	}
	for _, st := range r.stack {
		if st.from == name {
			return "", r.cycleError(name, r.stack)
		}
	}
	var b strings.Builder
	b.Grow(len(d.raw) + 32)
	for _, p := range d.parts {
		if p.ref == "" {
			b.WriteString(p.lit)
			continue
		}
		r.stack = append(r.stack, refStep{name, p.ref})
		v, err := r.resolve(p.ref)
		if err == errUndefined {
			if r.quiet {
				return "", errUndefinedRef
			}
			return "", undefinedError(d.prov, p.ref, r.defs, &r.own)
		}
		if err != nil {
			return "", err
		}
		r.stack = r.stack[:len(r.stack)-1]
		b.WriteString(v)
	}
	v := b.String()
	r.values.set(name, v)
	return v, nil
}

var (
	errUndefined    = fmt.Errorf("undefined variable")
	errUndefinedRef = fmt.Errorf("reference to an undefined variable")
)

func (r *resolver) def(name string) *definition {
	if d, _ := r.own.get(name); d != nil {
		return d
	}
	return r.defs[name]
}

func undefinedError(p node.Provenance, name string, defs map[string]*definition, own *smallMap[*definition]) error {
	e := node.Errorf(p, node.UnresolvedVariable, "reference to undefined variable '%s'", name)
	if s := similar(name, defs, own); s != "" {
		e.Detail = fmt.Sprintf("Did you mean '%s'?", s)
	}
	return e
}

func (r *resolver) cycleError(name string, chain []refStep) error {
	start := 0
	for i, st := range chain {
		if st.from == name {
			start = i
			break
		}
	}
	var lines []string
	for _, st := range chain[start:] {
		lines = append(lines, fmt.Sprintf("%s: variable '%s' refers to variable '%s'", r.def(st.from).prov, st.from, st.to))
	}
	return &node.Error{Prov: r.def(name).prov, Reason: node.CircularReferenceVariable,
		Msg: fmt.Sprintf("circular dependency detected on variable '%s'", name), Detail: strings.Join(lines, "\n")}
}

// similar suggests a defined name close to a misspelt one.
func similar(name string, defs map[string]*definition, own *smallMap[*definition]) string {
	best, bestD := "", 3
	names := make([]string, 0, len(defs)+own.len())
	for n := range defs {
		names = append(names, n)
	}
	own.each(func(n string, _ *definition) { names = append(names, n) })
	sort.Strings(names)
	for _, n := range names {
		if d := distance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance, capped for long strings.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
