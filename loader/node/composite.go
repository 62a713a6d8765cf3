package node

import "strings"

// The list directives of BuildStream's composition.
const (
	DirectivePrepend   = "(<)"
	DirectiveAppend    = "(>)"
	DirectiveOverwrite = "(=)"
)

func isListDirective(k string) bool {
	return k == DirectivePrepend || k == DirectiveAppend || k == DirectiveOverwrite
}

// IsCompositeList reports whether a mapping is a list-directive map
// ({(<): [...], (>): [...], (=): [...]}). A mapping mixing directives and
// ordinary keys is an error.
func (n *Node) IsCompositeList() (bool, error) {
	if n.kind != MappingKind {
		return false, nil
	}
	dirs, other := false, false
	for _, k := range n.keys {
		if isListDirective(k) {
			dirs = true
		} else {
			other = true
		}
	}
	if dirs && other {
		return false, Errorf(n.prov, InvalidData, "dictionary contains list composition directives and arbitrary keys")
	}
	return dirs, nil
}

// compositeError is raised below Composite and rendered there with the path
// at which composition failed.
type compositeError struct {
	path []string
	msg  string
}

// Composite composes src over dst, modifying dst: scalars and lists of src
// replace those of dst, mappings merge recursively, and list-directive maps
// of src prepend to, append to or overwrite lists of dst. dst keeps no
// reference to src's nodes.
func Composite(src, dst *Node) error {
	return composer{}.composite(src, dst)
}

// CompositeMove is Composite for a src that is not used afterwards: dst
// takes src's nodes rather than copies of them, so dst and src share them
// and src must not be used, nor modified, once CompositeMove returns.
func CompositeMove(src, dst *Node) error {
	return composer{move: true}.composite(src, dst)
}

// composer holds how one composition copies src's nodes into dst.
type composer struct {
	move bool // give dst src's nodes themselves
}

func (c composer) composite(src, dst *Node) error {
	ce, err := c.mapping(src, dst)
	if err != nil {
		return err
	}
	if ce != nil {
		return &Error{Prov: src.prov, Reason: IllegalComposite,
			Msg: "failure composing " + strings.Join(ce.path, ".") + ": " + ce.msg}
	}
	return nil
}

// copy returns a node of src for dst to keep.
func (c composer) copy(n *Node) *Node {
	if c.move {
		return n
	}
	return n.Clone()
}

// copyItems returns src items for dst to keep.
func (c composer) copyItems(items []*Node) []*Node {
	if c.move {
		return items[:len(items):len(items)]
	}
	return cloneItems(items)
}

// CompositeUnder composes under beneath target: target's values win, and the
// result is left in target.
func CompositeUnder(under, target *Node) error {
	base := under.Clone()
	if err := Composite(target, base); err != nil {
		return err
	}
	for i, k := range base.keys {
		target.Set(k, base.items[i])
	}
	return nil
}

// mapping composes src over dst. A compositeError's path is made on the
// way back up, from the key where composition failed.
func (c composer) mapping(src, dst *Node) (*compositeError, error) {
	for i, key := range src.keys {
		ce, err := c.composeOn(src.items[i], key, dst)
		if ce != nil {
			ce.path = append([]string{key}, ce.path...)
		}
		if ce != nil || err != nil {
			return ce, err
		}
	}
	if src.prov.Valid() {
		dst.prov = src.prov
	}
	return nil, nil
}

func (c composer) composeOn(v *Node, key string, dst *Node) (*compositeError, error) {
	target := dst.Get(key)
	switch v.kind {
	case ScalarKind:
		if target != nil && target.kind != ScalarKind {
			return &compositeError{nil, v.prov.String() + ": cannot compose a scalar on a non-scalar at " + target.prov.String()}, nil
		}
		dst.Set(key, c.copy(v))
	case SequenceKind:
		if target != nil && target.kind != SequenceKind {
			isList, err := target.IsCompositeList()
			if err != nil {
				return nil, err
			}
			if !isList {
				return &compositeError{nil, v.prov.String() + ": a list cannot overwrite " + key + " at " + target.prov.String()}, nil
			}
		}
		if target != nil && target.kind == SequenceKind && key == "(?)" {
			// Conditionals accumulate so that each is still evaluated later.
			for _, it := range v.items {
				target.items = append(target.items, c.copy(it))
			}
		} else {
			dst.Set(key, c.copy(v))
		}
	case MappingKind:
		isList, err := v.IsCompositeList()
		if err != nil {
			return nil, err
		}
		if isList {
			switch {
			case target == nil:
				dst.Set(key, c.copy(v))
			case target.kind == SequenceKind:
				if ce := directivesAreLists(v); ce != nil {
					return ce, nil
				}
				c.composeOnList(v, target)
			default:
				tList, err := target.IsCompositeList()
				if err != nil {
					return nil, err
				}
				if !tList {
					return &compositeError{nil, v.prov.String() + ": cannot compose lists onto " + target.prov.String()}, nil
				}
				if ce := directivesAreLists(v); ce != nil {
					return ce, nil
				}
				if ce := directivesAreLists(target); ce != nil {
					return ce, nil
				}
				c.composeOnDirectives(v, target)
			}
			return nil, nil
		}
		if target == nil {
			target = NewMapping(v.prov)
			dst.Set(key, target)
		} else if target.kind != MappingKind {
			return &compositeError{nil, v.prov.String() + ": cannot compose a mapping on a non-mapping at " + target.prov.String()}, nil
		}
		return c.mapping(v, target)
	}
	return nil, nil
}

func cloneItems(items []*Node) []*Node {
	out := make([]*Node, len(items))
	for i, it := range items {
		out[i] = it.Clone()
	}
	return out
}

// directivesAreLists checks that every directive of a directive map holds
// a list, before the directives are applied to a list or merged into
// another directive map. A directive map that is never applied is left to
// AssertComposited, which reports it as trailing whatever it holds.
func directivesAreLists(dirs *Node) *compositeError {
	for i, k := range dirs.keys {
		if v := dirs.items[i]; v.kind != SequenceKind {
			return &compositeError{nil, v.prov.String() + ": the value of list directive " + k +
				" is not a list but a " + typeName(v.kind)}
		}
	}
	return nil
}

// composeOnList applies a directive map to a real list.
func (c composer) composeOnList(dirs, target *Node) {
	if ow := dirs.Get(DirectiveOverwrite); ow != nil && ow.kind == SequenceKind {
		target.items = c.copyItems(ow.items)
	}
	if pre := dirs.Get(DirectivePrepend); pre != nil && pre.kind == SequenceKind {
		target.items = append(c.copyItems(pre.items), target.items...)
	}
	if app := dirs.Get(DirectiveAppend); app != nil && app.kind == SequenceKind {
		target.items = append(target.items[:len(target.items):len(target.items)], c.copyItems(app.items)...)
	}
}

// composeOnDirectives merges a directive map into another directive map,
// which will itself later be applied to a list.
func (c composer) composeOnDirectives(dirs, target *Node) {
	ow := dirs.Get(DirectiveOverwrite)
	pre := dirs.Get(DirectivePrepend)
	app := dirs.Get(DirectiveAppend)
	if ow != nil {
		target.Set(DirectiveOverwrite, c.copy(ow))
		for _, d := range [...]struct {
			key string
			n   *Node
		}{{DirectivePrepend, pre}, {DirectiveAppend, app}} {
			if d.n != nil {
				target.Set(d.key, c.copy(d.n))
			} else if t := target.Get(d.key); t != nil {
				t.items = nil
			}
		}
		return
	}
	if pre != nil {
		if t := target.Get(DirectivePrepend); t != nil {
			t.items = append(c.copyItems(pre.items), t.items...)
		} else {
			target.Set(DirectivePrepend, c.copy(pre))
		}
	}
	if app != nil {
		if t := target.Get(DirectiveAppend); t != nil {
			t.items = append(t.items[:len(t.items):len(t.items)], c.copyItems(app.items)...)
		} else {
			target.Set(DirectiveAppend, c.copy(app))
		}
	}
}

// AssertComposited fails if a list directive is left anywhere in n: it means
// the user meant to extend a list that never existed.
func AssertComposited(n *Node) error {
	switch n.kind {
	case MappingKind:
		for i, k := range n.keys {
			if isListDirective(k) {
				return Errorf(n.items[i].prov, TrailingListDirective, "attempt to override non-existing list")
			}
			if err := AssertComposited(n.items[i]); err != nil {
				return err
			}
		}
	case SequenceKind:
		for _, it := range n.items {
			if err := AssertComposited(it); err != nil {
				return err
			}
		}
	}
	return nil
}
