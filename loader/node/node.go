package node

import (
	"strconv"
	"strings"
)

// Kind is the kind of a node.
type Kind uint8

// The three kinds of YAML node BuildStream knows.
const (
	ScalarKind Kind = iota + 1
	SequenceKind
	MappingKind
)

func (k Kind) String() string {
	switch k {
	case ScalarKind:
		return "scalar"
	case SequenceKind:
		return "sequence"
	case MappingKind:
		return "mapping"
	}
	return "invalid"
}

// Node is a scalar (always a string), a sequence or an ordered mapping, with
// the provenance of where it was written.
//
// Mappings keep their keys in insertion order, as Python dictionaries do:
// setting an existing key keeps its position, a new key goes last. Lookups
// are linear, which is fastest for the small mappings BuildStream files are
// made of; large mappings get an index when they are built. Reading a node
// never modifies it, so trees may be read from several goroutines.
type Node struct {
	kind  Kind
	prov  Provenance
	value string   // scalars
	items []*Node  // sequence items, or mapping values
	keys  []string // mapping keys, parallel to items
	index map[string]int
}

// indexThreshold is the mapping size from which Get uses a hash index.
const indexThreshold = 24

// NewScalar returns a scalar node.
func NewScalar(p Provenance, v string) *Node { return &Node{kind: ScalarKind, prov: p, value: v} }

// NewSequence returns a sequence node holding items.
func NewSequence(p Provenance, items ...*Node) *Node {
	return &Node{kind: SequenceKind, prov: p, items: items}
}

// NewMapping returns an empty mapping node.
func NewMapping(p Provenance) *Node { return &Node{kind: MappingKind, prov: p} }

// NewMappingOf returns a mapping of keys to items, which must be as long
// and hold no key twice. The mapping keeps both slices; keys may be shared
// with another mapping (a key added to either goes to a copy).
func NewMappingOf(p Provenance, keys []string, items []*Node) *Node {
	n := &Node{kind: MappingKind, prov: p, keys: keys[:len(keys):len(keys)], items: items}
	if len(keys) >= indexThreshold {
		n.buildIndex()
	}
	return n
}

// NewStringList returns a sequence of scalars, all with provenance p.
func NewStringList(p Provenance, vs []string) *Node {
	items := make([]*Node, len(vs))
	for i, v := range vs {
		items[i] = NewScalar(p, v)
	}
	return NewSequence(p, items...)
}

// Kind returns the node's kind.
func (n *Node) Kind() Kind { return n.kind }

// Prov returns where the node was written.
func (n *Node) Prov() Provenance { return n.prov }

// SetProv changes the node's provenance.
func (n *Node) SetProv(p Provenance) { n.prov = p }

// IsScalar, IsSequence and IsMapping test the node's kind.
func (n *Node) IsScalar() bool   { return n != nil && n.kind == ScalarKind }
func (n *Node) IsSequence() bool { return n != nil && n.kind == SequenceKind }
func (n *Node) IsMapping() bool  { return n != nil && n.kind == MappingKind }

// Value returns a scalar's string.
func (n *Node) Value() string { return n.value }

// SetValue replaces a scalar's string.
func (n *Node) SetValue(v string) { n.value = v }

// Items returns a sequence's items (or, for a mapping, its values in key
// order). The slice must not be modified.
func (n *Node) Items() []*Node { return n.items }

// Keys returns a mapping's keys in order. The slice must not be modified.
func (n *Node) Keys() []string { return n.keys }

// Len returns the number of items of a sequence or keys of a mapping.
func (n *Node) Len() int { return len(n.items) }

// Append adds an item at the end of a sequence.
func (n *Node) Append(v *Node) { n.items = append(n.items, v) }

// SetItems replaces a sequence's items.
func (n *Node) SetItems(items []*Node) { n.items = items }

func (n *Node) find(key string) int {
	if n.index != nil {
		if i, ok := n.index[key]; ok {
			return i
		}
		return -1
	}
	for i, k := range n.keys {
		if k == key {
			return i
		}
	}
	return -1
}

func (n *Node) buildIndex() {
	n.index = make(map[string]int, len(n.keys))
	for i, k := range n.keys {
		n.index[k] = i
	}
}

// Get returns the value of key in a mapping, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.kind != MappingKind {
		return nil
	}
	if i := n.find(key); i >= 0 {
		return n.items[i]
	}
	return nil
}

// Has reports whether a mapping has key.
func (n *Node) Has(key string) bool { return n.Get(key) != nil }

// Set sets key in a mapping. An existing key keeps its position.
func (n *Node) Set(key string, v *Node) {
	if i := n.find(key); i >= 0 {
		n.items[i] = v
		return
	}
	n.keys = append(n.keys, key)
	n.items = append(n.items, v)
	if n.index != nil {
		n.index[key] = len(n.keys) - 1
	} else if len(n.keys) >= indexThreshold {
		n.buildIndex()
	}
}

// Delete removes key from a mapping, keeping the order of the others.
func (n *Node) Delete(key string) {
	i := n.find(key)
	if i < 0 {
		return
	}
	n.keys = append(n.keys[:i:i], n.keys[i+1:]...)
	n.items = append(n.items[:i:i], n.items[i+1:]...)
	if n.index != nil {
		n.buildIndex()
	}
}

// Clone returns a deep copy of n.
//
// The copy's nodes, items and keys are allocated in three blocks, one of
// each: copying a tree costs three allocations whatever its size. Each
// node's slices are capped at their length, so that growing one copies it
// out of the block.
func (n *Node) Clone() *Node {
	if n == nil {
		return nil
	}
	var c cloner
	n.countInto(&c)
	c.nodes = make([]Node, c.nNodes)
	c.items = make([]*Node, c.nItems)
	c.keys = make([]string, c.nKeys)
	return c.clone(n)
}

// CloneDetached is Clone for keeping a copy of a temporary tree (see
// Parser.ParseTemporary): the copy shares nothing with n, not even the
// memory of its strings, which are copied into one block. A tree's
// strings are parts of the text it was parsed from, so a kept string
// would otherwise keep the whole text.
func (n *Node) CloneDetached() *Node {
	if n == nil {
		return nil
	}
	var c cloner
	n.countInto(&c)
	c.nodes = make([]Node, c.nNodes)
	c.items = make([]*Node, c.nItems)
	c.keys = make([]string, c.nKeys)
	size := n.stringBytes()
	var b strings.Builder
	b.Grow(size)
	c.text = &b
	m := c.clone(n)
	text := b.String()
	m.reslice(text, new(int))
	return m
}

// stringBytes is the size of n's strings, keys included.
func (n *Node) stringBytes() int {
	size := len(n.value)
	for _, k := range n.keys {
		size += len(k)
	}
	for _, it := range n.items {
		size += it.stringBytes()
	}
	return size
}

// reslice points n's strings, written in order into text by a detaching
// clone, at text itself.
func (n *Node) reslice(text string, at *int) {
	take := func(s string) string {
		if s == "" {
			return ""
		}
		t := text[*at : *at+len(s)]
		*at += len(s)
		return t
	}
	n.value = take(n.value)
	for i, k := range n.keys {
		n.keys[i] = take(k)
	}
	if len(n.keys) >= indexThreshold {
		n.buildIndex()
	}
	for _, it := range n.items {
		it.reslice(text, at)
	}
}

// cloner hands out the blocks of one Clone.
type cloner struct {
	nNodes, nItems, nKeys int
	nodes                 []Node
	items                 []*Node
	keys                  []string
	// text, when set, receives the strings of the tree, in the order
	// reslice visits them.
	text *strings.Builder
}

func (n *Node) countInto(c *cloner) {
	c.nNodes++
	c.nItems += len(n.items)
	c.nKeys += len(n.keys)
	for _, it := range n.items {
		it.countInto(c)
	}
}

func (c *cloner) clone(n *Node) *Node {
	m := &c.nodes[0]
	c.nodes = c.nodes[1:]
	*m = Node{kind: n.kind, prov: n.prov, value: n.value}
	if c.text != nil {
		c.text.WriteString(n.value)
		for _, k := range n.keys {
			c.text.WriteString(k)
		}
	}
	if n.items != nil {
		k := len(n.items)
		m.items, c.items = c.items[:k:k], c.items[k:]
		for i, it := range n.items {
			m.items[i] = c.clone(it)
		}
	}
	if n.keys != nil {
		k := len(n.keys)
		m.keys, c.keys = c.keys[:k:k], c.keys[k:]
		copy(m.keys, n.keys)
		if k >= indexThreshold && c.text == nil {
			m.buildIndex() // a detaching clone builds it with its keys
		}
	}
	return m
}

// typeName names a kind the way error messages do.
func typeName(k Kind) string {
	switch k {
	case ScalarKind:
		return "str"
	case SequenceKind:
		return "list"
	case MappingKind:
		return "dict"
	}
	return "none"
}

func wrongType(v *Node, key, want string) *Error {
	return Errorf(v.prov, InvalidData, "value of '%s' is not of the expected type '%s'", key, want)
}

// GetNode returns the value of key, which must exist unless allowMissing.
func (n *Node) GetNode(key string, allowMissing bool) (*Node, error) {
	v := n.Get(key)
	if v == nil && !allowMissing {
		return nil, Errorf(n.prov, InvalidData, "dictionary did not contain expected key '%s'", key)
	}
	return v, nil
}

func (n *Node) getKind(key string, k Kind, allowMissing bool) (*Node, error) {
	v, err := n.GetNode(key, allowMissing)
	if err != nil || v == nil {
		return nil, err
	}
	if v.kind != k {
		return nil, wrongType(v, key, typeName(k))
	}
	return v, nil
}

// GetScalar returns the scalar at key (nil if missing and allowMissing).
func (n *Node) GetScalar(key string, allowMissing bool) (*Node, error) {
	return n.getKind(key, ScalarKind, allowMissing)
}

// GetMapping returns the mapping at key (nil if missing and allowMissing).
func (n *Node) GetMapping(key string, allowMissing bool) (*Node, error) {
	return n.getKind(key, MappingKind, allowMissing)
}

// GetSequence returns the sequence at key (nil if missing and allowMissing).
func (n *Node) GetSequence(key string, allowMissing bool) (*Node, error) {
	return n.getKind(key, SequenceKind, allowMissing)
}

// GetString returns the string at key, or def when key is absent.
func (n *Node) GetString(key, def string) (string, error) {
	v, err := n.GetScalar(key, true)
	if err != nil || v == nil {
		return def, err
	}
	return v.value, nil
}

// RequireString returns the string at key, which must be present.
func (n *Node) RequireString(key string) (string, error) {
	v, err := n.GetScalar(key, false)
	if err != nil {
		return "", err
	}
	return v.value, nil
}

// ParseBool interprets a scalar as BuildStream does: only True, true, 1,
// False, false and 0 are booleans.
func ParseBool(s string) (bool, bool) {
	switch s {
	case "True", "true", "1":
		return true, true
	case "False", "false", "0":
		return false, true
	}
	return false, false
}

// AsBool returns a scalar's boolean value.
func (n *Node) AsBool(what string) (bool, error) {
	if n.kind != ScalarKind {
		return false, wrongType(n, what, "boolean")
	}
	b, ok := ParseBool(n.value)
	if !ok {
		return false, wrongType(n, what, "boolean")
	}
	return b, nil
}

// GetBool returns the boolean at key, or def when key is absent.
func (n *Node) GetBool(key string, def bool) (bool, error) {
	v := n.Get(key)
	if v == nil {
		return def, nil
	}
	return v.AsBool(key)
}

// AsInt returns a scalar's integer value.
func (n *Node) AsInt(what string) (int, error) {
	if n.kind != ScalarKind {
		return 0, wrongType(n, what, "int")
	}
	i, ok := parseInt(n.value)
	if !ok {
		return 0, wrongType(n, what, "int")
	}
	return i, nil
}

// parseInt reads a decimal integer as Python's int() does: white space
// around it, one optional sign, and single underscores between digits.
func parseInt(s string) (int, bool) {
	s = strings.TrimSpace(s)
	sign := ""
	if s != "" && (s[0] == '+' || s[0] == '-') {
		sign, s = s[:1], s[1:]
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false // no digits, or a second sign
	}
	if strings.IndexByte(s, '_') >= 0 {
		if strings.HasSuffix(s, "_") || strings.Contains(s, "__") {
			return 0, false
		}
		s = strings.ReplaceAll(s, "_", "")
	}
	i, err := strconv.Atoi(sign + s)
	return i, err == nil
}

// GetInt returns the integer at key, or def when key is absent.
func (n *Node) GetInt(key string, def int) (int, error) {
	v := n.Get(key)
	if v == nil {
		return def, nil
	}
	return v.AsInt(key)
}

// AsStringList returns a sequence of scalars as strings.
func (n *Node) AsStringList(what string) ([]string, error) {
	if n.kind != SequenceKind {
		return nil, wrongType(n, what, "list")
	}
	out := make([]string, len(n.items))
	for i, it := range n.items {
		if it.kind != ScalarKind {
			return nil, Errorf(it.prov, InvalidData, "%s: list item %d is not of the expected type 'str'", what, i)
		}
		out[i] = it.value
	}
	return out, nil
}

// GetStringList returns the list of strings at key, or nil when absent.
func (n *Node) GetStringList(key string) ([]string, error) {
	v := n.Get(key)
	if v == nil {
		return nil, nil
	}
	return v.AsStringList(key)
}

// ValidateKeys checks that a mapping has only the given keys.
func (n *Node) ValidateKeys(allowed ...string) error {
	for i, k := range n.keys {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			return Errorf(n.items[i].prov, InvalidData, "unexpected key: %s", k)
		}
	}
	return nil
}

// KeyProv returns the provenance of the value of key, or of the mapping
// itself when the key is absent.
func (n *Node) KeyProv(key string) Provenance {
	if v := n.Get(key); v != nil {
		return v.prov
	}
	return n.prov
}
