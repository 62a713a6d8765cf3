package variables

import (
	"strings"

	"github.com/bstgo/bst/loader/node"
)

// Resolved holds resolved variable values. It is immutable.
type Resolved struct {
	order  []string // declaration order, or the base's when extra is set
	extra  []string // names added after the base's
	values smallMap[string]
	base   *Resolved // values not in values come from base
}

// detach copies r's own names and values into one block: an overlay's
// definitions are parts of the text of the file that made them, which a
// kept string would keep whole.
func (r *Resolved) detach() {
	if r.values.m != nil {
		return // large overlays are not an element's few variables
	}
	size := 0
	for _, n := range r.extra {
		size += len(n)
	}
	for _, e := range r.values.list {
		size += len(e.name) + len(e.val)
	}
	var b strings.Builder
	b.Grow(size)
	for _, n := range r.extra {
		b.WriteString(n)
	}
	for _, e := range r.values.list {
		b.WriteString(e.name)
		b.WriteString(e.val)
	}
	text := b.String()
	take := func(s string) string {
		t := text[:len(s)]
		text = text[len(s):]
		return t
	}
	if len(r.extra) > 0 {
		extra := make([]string, len(r.extra))
		for i, n := range r.extra {
			extra[i] = take(n)
		}
		r.extra = extra
	}
	for i := range r.values.list {
		e := &r.values.list[i]
		e.name, e.val = take(e.name), take(e.val)
	}
}

// Get returns a variable's value.
func (r *Resolved) Get(name string) (string, bool) {
	if v, ok := r.values.get(name); ok {
		return v, true
	}
	if r.base != nil {
		return r.base.values.get(name)
	}
	return "", false
}

// SameAsBase reports whether none of names has a value of r's own: their
// values are those of the table r overlays, so a text referring to those
// variables alone expands to the same string with either. It is false
// when r overlays nothing.
func (r *Resolved) SameAsBase(names []string) bool {
	if r.base == nil {
		return false
	}
	for _, n := range names {
		if _, own := r.values.get(n); own {
			return false
		}
	}
	return true
}

// Base returns the resolution of the table r overlays, or nil.
func (r *Resolved) Base() *Resolved { return r.base }

// Names lists the variables in declaration order.
func (r *Resolved) Names() []string {
	if len(r.extra) == 0 {
		return r.order
	}
	return append(append(make([]string, 0, len(r.order)+len(r.extra)), r.order...), r.extra...)
}

// Expand substitutes the variables referred to in s; p is where s was
// written, for errors.
func (r *Resolved) Expand(s string, p node.Provenance) (string, error) {
	i := strings.Index(s, "%{")
	if i < 0 {
		return s, nil
	}
	var b strings.Builder
	written := 0 // s[:written] is in b or replaced
	for i >= 0 {
		name, end := reference(s, i)
		if end < 0 {
			// Not a reference: "%{" stays as text.
			i = indexFrom(s, i+2)
			continue
		}
		v, ok := r.Get(name)
		if !ok {
			return "", node.Errorf(p, node.UnresolvedVariable, "reference to undefined variable '%s'", name)
		}
		if written == 0 {
			b.Grow(len(s) + len(v))
		}
		b.WriteString(s[written:i])
		b.WriteString(v)
		written = end
		i = indexFrom(s, end)
	}
	if written == 0 {
		return s, nil
	}
	b.WriteString(s[written:])
	return b.String(), nil
}

// indexFrom returns the index of the next "%{" in s from i, or -1.
func indexFrom(s string, i int) int {
	if j := strings.Index(s[i:], "%{"); j >= 0 {
		return i + j
	}
	return -1
}

// ExpandNode returns n with variables expanded in every scalar (not in
// keys). n is never modified; when nothing in it refers to a variable, n
// itself is returned.
func (r *Resolved) ExpandNode(n *node.Node) (*node.Node, error) {
	if !needsExpansion(n) {
		return n, nil
	}
	return r.expandTree(n)
}

// ExpandOwned expands variables in every scalar of n (not in keys), in
// place: n must belong to the caller alone, sharing no node with another
// tree.
func (r *Resolved) ExpandOwned(n *node.Node) error {
	switch n.Kind() {
	case node.ScalarKind:
		v, err := r.Expand(n.Value(), n.Prov())
		if err != nil {
			return err
		}
		n.SetValue(v)
		return nil
	}
	for _, it := range n.Items() {
		if err := r.ExpandOwned(it); err != nil {
			return err
		}
	}
	return nil
}

func needsExpansion(n *node.Node) bool {
	if n.IsScalar() {
		return strings.Contains(n.Value(), "%{")
	}
	for _, it := range n.Items() {
		if needsExpansion(it) {
			return true
		}
	}
	return false
}

func (r *Resolved) expandTree(n *node.Node) (*node.Node, error) {
	switch n.Kind() {
	case node.ScalarKind:
		v, err := r.Expand(n.Value(), n.Prov())
		if err != nil {
			return nil, err
		}
		if v == n.Value() {
			return n, nil
		}
		return node.NewScalar(n.Prov(), v), nil
	case node.SequenceKind:
		items := make([]*node.Node, n.Len())
		for i, it := range n.Items() {
			x, err := r.expandTree(it)
			if err != nil {
				return nil, err
			}
			items[i] = x
		}
		return node.NewSequence(n.Prov(), items...), nil
	}
	items := make([]*node.Node, n.Len())
	for i, it := range n.Items() {
		x, err := r.expandTree(it)
		if err != nil {
			return nil, err
		}
		items[i] = x
	}
	return node.NewMappingOf(n.Prov(), n.Keys(), items), nil
}
