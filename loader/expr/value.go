package expr

import "strconv"

// Kind is the type of a Value.
type Kind uint8

// Value kinds.
const (
	NoneKind Kind = iota
	BoolKind
	IntKind
	StringKind
	ListKind
)

// Value is an option value or a literal.
type Value struct {
	kind Kind
	b    bool
	i    int64
	s    string
	list []Value
}

// Bool, Int, String and List make values; None is Python's None.
func Bool(b bool) Value       { return Value{kind: BoolKind, b: b} }
func Int(i int64) Value       { return Value{kind: IntKind, i: i} }
func String(s string) Value   { return Value{kind: StringKind, s: s} }
func None() Value             { return Value{} }
func listOf(vs []Value) Value { return Value{kind: ListKind, list: vs} }

// List makes a list of strings, the value of a flags option.
func List(ss []string) Value {
	vs := make([]Value, len(ss))
	for i, s := range ss {
		vs[i] = String(s)
	}
	return listOf(vs)
}

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.kind }

// Truthy is Python's truth value.
func (v Value) Truthy() bool {
	switch v.kind {
	case BoolKind:
		return v.b
	case IntKind:
		return v.i != 0
	case StringKind:
		return v.s != ""
	case ListKind:
		return len(v.list) > 0
	}
	return false
}

// number returns the value as an integer for numeric comparison (Python
// treats True and False as 1 and 0).
func (v Value) number() (int64, bool) {
	switch v.kind {
	case BoolKind:
		if v.b {
			return 1, true
		}
		return 0, true
	case IntKind:
		return v.i, true
	}
	return 0, false
}

// Equal is Python's ==.
func Equal(a, b Value) bool {
	if x, ok := a.number(); ok {
		if y, ok := b.number(); ok {
			return x == y
		}
		return false
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case NoneKind:
		return true
	case StringKind:
		return a.s == b.s
	case ListKind:
		if len(a.list) != len(b.list) {
			return false
		}
		for i := range a.list {
			if !Equal(a.list[i], b.list[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// String renders the value as Python would repr it, for messages.
func (v Value) String() string {
	switch v.kind {
	case BoolKind:
		if v.b {
			return "True"
		}
		return "False"
	case IntKind:
		return strconv.FormatInt(v.i, 10)
	case StringKind:
		return strconv.Quote(v.s)
	case ListKind:
		s := "["
		for i, it := range v.list {
			if i > 0 {
				s += ", "
			}
			s += it.String()
		}
		return s + "]"
	}
	return "None"
}
