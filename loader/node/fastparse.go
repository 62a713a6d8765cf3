package node

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// fastParse parses the plain block YAML that nearly every BuildStream file
// is written in — block mappings and sequences, plain and quoted scalars on
// one line, literal block scalars and one-line flow collections — several
// times faster than the general parser. It gives up (ok false) on anything
// else, including every error, and Parse then uses gopkg.in/yaml.v3, so the
// result is always the general parser's: FuzzFastParse checks that both
// agree, provenance included.
func fastParse(data []byte, f *File) (n *Node, ok bool) {
	return new(fastParser).parse(data, f)
}

// parse is fastParse reusing p's scratch space.
func (p *fastParser) parse(data []byte, f *File) (n *Node, ok bool) {
	if !printable(data) {
		return nil, false
	}
	p.file, p.i = f, 0
	clear(p.items)
	p.items, p.keys = p.items[:0], p.keys[:0]
	if !p.split(string(data)) {
		return nil, false
	}
	p.skipBlank()
	if p.i >= len(p.lines) {
		return nil, false // empty documents go the general way
	}
	l := p.lines[p.i]
	if l.indent != 0 {
		return nil, false
	}
	defer func() {
		if r := recover(); r != nil {
			if r != errFallback {
				panic(r)
			}
			n, ok = nil, false
		}
	}()
	n = p.block(l.indent)
	p.skipBlank()
	if p.i != len(p.lines) || n.kind != MappingKind {
		return nil, false
	}
	return n, true
}

// printable reports whether data holds only characters YAML allows, no
// byte order mark, and no line break but '\n': YAML also breaks lines at
// NEL, LS and PS, which the fast path does not count.
func printable(data []byte) bool {
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError || r == 0xFEFF || r < 0xA0 || r == 0x2028 || r == 0x2029 || r >= 0xD800 && r < 0xE000 || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += size
	}
	return true
}

type fallback struct{}

var errFallback = &fallback{}

// bail abandons the fast path.
func bail() { panic(errFallback) }

type line struct {
	text   string // without the newline
	indent int    // leading spaces
	start  int    // where the content starts (indent, or further in "- " items)
	blank  bool   // empty or comment only
	tab    bool   // has a tab: only allowed in block scalar content
}

type fastParser struct {
	file  *File
	lines []line
	i     int
	// Stacks where the keys and items of the collections being parsed
	// gather, so that each collection gets slices of its exact size.
	keys  []string
	items []*Node
	// arena, when set, holds the nodes parsed.
	arena *arena
	// blockScratch is blockLines' scratch space.
	blockScratch []string
}

// node returns a new node holding v, in the arena when there is one.
func (p *fastParser) node(v Node) *Node {
	var n *Node
	if p.arena == nil {
		n = new(Node)
	} else {
		n = &p.arena.nodes.take(1)[0]
	}
	*n = v
	return n
}

// collect moves the items (and, for a mapping, keys) gathered since
// stack heights items and keys into n.
func (p *fastParser) collect(n *Node, items, keys int) {
	if k := len(p.items) - items; k > 0 {
		if p.arena != nil {
			n.items = p.arena.items.take(k)
		} else {
			n.items = make([]*Node, k)
		}
		copy(n.items, p.items[items:])
	}
	clear(p.items[items:])
	p.items = p.items[:items]
	if n.kind == MappingKind {
		if k := len(p.keys) - keys; k > 0 {
			if p.arena != nil {
				n.keys = p.arena.keys.take(k)
			} else {
				n.keys = make([]string, k)
			}
			copy(n.keys, p.keys[keys:])
		}
		p.keys = p.keys[:keys]
		if len(n.keys) >= indexThreshold {
			n.buildIndex()
		}
	}
}

// split cuts the text into lines, refusing what the fast path does not
// handle at line level: tabs in indentation, document markers, directives
// and carriage returns.
func (p *fastParser) split(s string) bool {
	p.lines = p.lines[:0]
	for len(s) > 0 {
		var t string
		if j := strings.IndexByte(s, '\n'); j >= 0 {
			t, s = s[:j], s[j+1:]
		} else {
			t, s = s, ""
		}
		if strings.IndexByte(t, '\r') >= 0 {
			return false
		}
		ind := 0
		for ind < len(t) && t[ind] == ' ' {
			ind++
		}
		rest := t[ind:]
		if strings.HasPrefix(rest, "\t") {
			return false
		}
		if ind == 0 && (strings.HasPrefix(t, "---") || strings.HasPrefix(t, "...") || strings.HasPrefix(t, "%")) {
			return false
		}
		blank := strings.TrimLeft(rest, " \t") == "" || strings.HasPrefix(rest, "#")
		tab := strings.IndexByte(t, '\t') >= 0
		p.lines = append(p.lines, line{text: t, indent: ind, start: ind, blank: blank && !tab, tab: tab})
	}
	return true
}

func (p *fastParser) skipBlank() {
	for p.i < len(p.lines) && p.lines[p.i].blank {
		p.i++
	}
}

// prov locates a byte offset of a line; columns count characters.
func (p *fastParser) prov(lineIdx, col int) Provenance {
	if lineIdx < len(p.lines) {
		col = utf8.RuneCountInString(p.lines[lineIdx].text[:min(col, len(p.lines[lineIdx].text))]) + max(0, col-len(p.lines[lineIdx].text))
	}
	return Provenance{File: p.file, Line: int32(lineIdx + 1), Col: int32(col)}
}

// block parses the node starting on the current line at column col.
func (p *fastParser) block(col int) *Node {
	l := p.lines[p.i]
	if l.tab {
		bail()
	}
	rest := l.text[l.start:]
	if rest == "-" || strings.HasPrefix(rest, "- ") {
		return p.sequence(col)
	}
	return p.mapping(col)
}

// isSeqItem reports whether the content of line l at col is a "- " item.
func isSeqItem(l line, col int) bool {
	if l.start != col {
		return false
	}
	rest := l.text[col:]
	return rest == "-" || strings.HasPrefix(rest, "- ")
}

func (p *fastParser) sequence(col int) *Node {
	seq := p.node(Node{kind: SequenceKind, prov: p.prov(p.i, col)})
	base := len(p.items)
	for {
		p.skipBlank()
		if p.i >= len(p.lines) {
			break
		}
		l := p.lines[p.i]
		if l.start < col {
			break
		}
		if l.start == col && !isSeqItem(l, col) {
			break // the next key of a mapping holding this sequence
		}
		if l.start > col || l.tab {
			bail()
		}
		itemLine := p.i
		// Content after "-" and its spaces.
		c := col + 1
		for c < len(l.text) && l.text[c] == ' ' {
			c++
		}
		if c >= len(l.text) || l.text[c] == '#' {
			if c < len(l.text) && l.text[c-1] != ' ' {
				bail()
			}
			// The item is on the following lines, or empty.
			p.i++
			p.skipBlank()
			if p.i < len(p.lines) && p.lines[p.i].start > col {
				p.items = append(p.items, p.block(p.lines[p.i].start))
			} else {
				p.items = append(p.items, p.node(Node{kind: ScalarKind, prov: p.prov(itemLine, col+1)}))
			}
			continue
		}
		if strings.HasPrefix(l.text[c:], "- ") || l.text[c:] == "-" {
			bail() // nested compact sequences
		}
		if keyEnd(l.text, c) >= 0 {
			// A mapping starting on the item's line.
			p.lines[p.i].start = c
			p.items = append(p.items, p.mapping(c))
			continue
		}
		p.items = append(p.items, p.inlineValue(col, c))
	}
	p.collect(seq, base, 0)
	return seq
}

// keyEnd returns the index of the ':' ending a plain mapping key that
// starts at c, or -1 if the text at c is not "key:" or "key: ...".
func keyEnd(t string, c int) int {
	if c >= len(t) || !canStartPlain(t, c) {
		return -1
	}
	for i := c; i < len(t); i++ {
		switch t[i] {
		case ':':
			if i+1 == len(t) || t[i+1] == ' ' {
				return i
			}
		case '#':
			if t[i-1] == ' ' {
				return -1
			}
		}
	}
	return -1
}

// plainStartIndicators cannot start a plain scalar or key on the fast path
// ('-', '?' and ':' can, when a non-space follows: see canStartPlain).
const plainStartIndicators = "-?:,[]{}#&*!|>'\"%@`"

// canStartPlain reports whether a plain scalar may start at t[c].
func canStartPlain(t string, c int) bool {
	switch t[c] {
	case '-', '?', ':':
		return c+1 < len(t) && t[c+1] != ' ' && t[c+1] != '\t'
	}
	return strings.IndexByte(plainStartIndicators, t[c]) < 0
}

func (p *fastParser) mapping(col int) *Node {
	m := p.node(Node{kind: MappingKind, prov: p.prov(p.i, col)})
	itemBase, keyBase := len(p.items), len(p.keys)
	var seen map[string]bool // for large mappings
	for {
		p.skipBlank()
		if p.i >= len(p.lines) {
			break
		}
		l := p.lines[p.i]
		if l.start < col {
			break
		}
		if l.start > col || l.tab {
			bail()
		}
		ke := keyEnd(l.text, col)
		if ke < 0 {
			bail()
		}
		key := strings.TrimRight(l.text[col:ke], " ")
		// YAML limits implicit keys to 1024 characters.
		if len(key) > 1000 || strings.ContainsAny(key, "\t") {
			bail()
		}
		if seen == nil && len(p.keys)-keyBase < indexThreshold {
			if slices.Contains(p.keys[keyBase:], key) {
				bail()
			}
		} else {
			if seen == nil {
				seen = make(map[string]bool, 2*indexThreshold)
				for _, k := range p.keys[keyBase:] {
					seen[k] = true
				}
			}
			if seen[key] {
				bail()
			}
			seen[key] = true
		}
		keyLine := p.i
		c := ke + 1
		for c < len(l.text) && l.text[c] == ' ' {
			c++
		}
		var v *Node
		if c >= len(l.text) || l.text[c] == '#' {
			if c < len(l.text) && c == ke+1 {
				bail()
			}
			p.i++
			p.skipBlank()
			switch {
			case p.i < len(p.lines) && p.lines[p.i].start > col:
				v = p.block(p.lines[p.i].start)
			case p.i < len(p.lines) && isSeqItem(p.lines[p.i], col):
				// A sequence may sit at its key's indentation.
				v = p.sequence(col)
			default:
				v = p.node(Node{kind: ScalarKind, prov: p.prov(keyLine, ke+1)})
			}
		} else {
			v = p.inlineValue(col, c)
		}
		p.keys = append(p.keys, key)
		p.items = append(p.items, v)
	}
	p.collect(m, itemBase, keyBase)
	return m
}

// inlineValue parses a value that starts at column c of the current line,
// whose parent sits at column parent.
func (p *fastParser) inlineValue(parent, c int) *Node {
	l := p.lines[p.i]
	t := l.text
	switch t[c] {
	case '|':
		return p.literal(parent, c)
	case '>':
		return p.folded(parent, c)
	case '"', '\'':
		v, end := quoted(t, c)
		p.endOfLine(t, end)
		p.i++
		p.noContinuation(parent)
		return p.node(Node{kind: ScalarKind, prov: p.prov(p.i-1, c), value: strings.TrimSpace(v)})
	case '[', '{':
		fp := flowParser{t: t, pos: c, p: p, line: p.i}
		v := fp.value()
		p.endOfLine(t, fp.pos)
		p.i++
		p.noContinuation(parent)
		return v
	}
	if !canStartPlain(t, c) {
		bail()
	}
	end := len(t)
	for i := c; i < len(t); i++ {
		if t[i] == '#' && t[i-1] == ' ' {
			end = i
			break
		}
		if t[i] == ':' && (i+1 == len(t) || t[i+1] == ' ') {
			bail()
		}
	}
	// Scalars are stripped as Python strips strings, Unicode spaces too.
	v := strings.TrimSpace(t[c:end])
	p.i++
	p.noContinuation(parent)
	return p.node(Node{kind: ScalarKind, prov: p.prov(p.i-1, c), value: v})
}

// noContinuation bails if the next content line is indented under the
// value's parent: a multi-line plain scalar or a syntax error.
func (p *fastParser) noContinuation(parent int) {
	j := p.i
	for j < len(p.lines) && p.lines[j].blank {
		j++
	}
	if j < len(p.lines) && p.lines[j].start > parent {
		bail()
	}
}

// endOfLine checks that only a comment follows position i.
func (p *fastParser) endOfLine(t string, i int) {
	rest := strings.TrimLeft(t[i:], " ")
	if rest != "" && !(strings.HasPrefix(rest, "#") && (len(rest) < len(t[i:]))) {
		bail()
	}
}

// literal parses a `|` block scalar (with optional chomping indicator).
func (p *fastParser) literal(parent, c int) *Node {
	t := p.lines[p.i].text
	checkBlockHeader(t[c+1:])
	startLine := p.i
	p.i++
	lines, ind := p.blockLines(parent)
	var value string
	if len(lines) == 1 {
		if len(lines[0]) > ind {
			value = lines[0][ind:] // the text itself: nothing to join
		}
	} else {
		size := len(lines)
		for _, s := range lines {
			size += max(0, len(s)-ind)
		}
		var b strings.Builder
		b.Grow(size)
		for k, s := range lines {
			if k > 0 {
				b.WriteByte('\n')
			}
			if len(s) > ind {
				b.WriteString(s[ind:])
			}
		}
		value = b.String()
	}
	return p.node(Node{kind: ScalarKind, prov: p.prov(startLine, c), value: strings.TrimSpace(value)})
}

// folded parses a `>` block scalar whose lines are all at the same
// indentation and not empty: they are joined with spaces.
func (p *fastParser) folded(parent, c int) *Node {
	t := p.lines[p.i].text
	checkBlockHeader(t[c+1:])
	startLine := p.i
	p.i++
	lines, ind := p.blockLines(parent)
	parts := make([]string, len(lines))
	for k, s := range lines {
		if len(s) <= ind || s[ind] == ' ' || s[ind] == '\t' || strings.TrimSpace(s) == "" {
			bail()
		}
		parts[k] = s[ind:]
	}
	return p.node(Node{kind: ScalarKind, prov: p.prov(startLine, c), value: strings.TrimSpace(strings.Join(parts, " "))})
}

// checkBlockHeader accepts what may follow | or >: a chomping indicator,
// then nothing or a comment. Indentation indicators go the general way.
func checkBlockHeader(h string) {
	if strings.HasPrefix(h, "-") || strings.HasPrefix(h, "+") {
		h = h[1:]
	}
	if h == "" {
		return
	}
	if h[0] != ' ' {
		bail()
	}
	if rest := strings.TrimLeft(h, " "); rest != "" && rest[0] != '#' {
		bail()
	}
}

// blockLines collects the lines of a block scalar under parent and returns
// them with their indentation (that of the first non-empty line).
func (p *fastParser) blockLines(parent int) ([]string, int) {
	ind := -1
	leading := 0
	out := p.blockScratch[:0]
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if strings.TrimLeft(l.text, " ") == "" {
			if ind >= 0 && len(l.text) > ind {
				bail() // spaces beyond the indentation on an empty line
			}
			leading = max(leading, len(l.text))
			out = append(out, "")
			p.i++
			continue
		}
		if ind < 0 {
			if l.indent <= parent {
				break
			}
			ind = l.indent
		}
		if l.indent < ind {
			break
		}
		out = append(out, l.text)
		p.i++
	}
	if ind < 0 || leading > ind {
		bail() // an empty block scalar, or leading spaces beyond its indentation
	}
	// Trailing empty lines belong to no one; give them back.
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
		p.i--
	}
	for k, s := range out {
		if s == "" {
			continue
		}
		if strings.Contains(s[:ind], "\t") {
			bail()
		}
		out[k] = s
	}
	p.blockScratch = out // the caller is done with it by the next call
	return out, ind
}

// quoted reads a quoted scalar starting at t[c] and ending on the same line;
// it returns the value and the index after the closing quote.
func quoted(t string, c int) (string, int) {
	q := t[c]
	// Without escapes the value is the text between the quotes.
	if end := strings.IndexByte(t[c+1:], q); end >= 0 {
		v := t[c+1 : c+1+end]
		after := c + 2 + end
		if q == '"' && strings.IndexByte(v, '\\') < 0 || q == '\'' && (after >= len(t) || t[after] != '\'') {
			return v, after
		}
	}
	var b strings.Builder
	for i := c + 1; i < len(t); i++ {
		ch := t[i]
		if q == '\'' {
			if ch == '\'' {
				if i+1 < len(t) && t[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				return b.String(), i + 1
			}
			b.WriteByte(ch)
			continue
		}
		switch ch {
		case '"':
			return b.String(), i + 1
		case '\\':
			i++
			if i >= len(t) {
				bail()
			}
			// Only the common escapes; the rest go the general way.
			switch t[i] {
			case '\\', '"':
				b.WriteByte(t[i])
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				bail()
			}
		default:
			b.WriteByte(ch)
		}
	}
	bail()
	return "", 0
}

// flowParser parses a flow collection that ends on its line.
type flowParser struct {
	t    string
	pos  int
	p    *fastParser
	line int
}

func (f *flowParser) skipSpaces() {
	for f.pos < len(f.t) && f.t[f.pos] == ' ' {
		f.pos++
	}
}

func (f *flowParser) value() *Node {
	f.skipSpaces()
	if f.pos >= len(f.t) {
		bail()
	}
	start := f.pos
	switch f.t[f.pos] {
	case '[':
		n := f.p.node(Node{kind: SequenceKind, prov: f.p.prov(f.line, start)})
		f.pos++
		f.skipSpaces()
		if f.pos < len(f.t) && f.t[f.pos] == ']' {
			f.pos++
			n.items = []*Node{}
			return n
		}
		for {
			n.items = append(n.items, f.value())
			f.skipSpaces()
			if f.pos >= len(f.t) {
				bail()
			}
			if f.t[f.pos] == ']' {
				f.pos++
				return n
			}
			if f.t[f.pos] != ',' {
				bail()
			}
			f.pos++
			f.skipSpaces()
			if f.pos < len(f.t) && f.t[f.pos] == ']' {
				bail() // trailing comma
			}
		}
	case '{':
		n := f.p.node(Node{kind: MappingKind, prov: f.p.prov(f.line, start)})
		f.pos++
		f.skipSpaces()
		if f.pos < len(f.t) && f.t[f.pos] == '}' {
			f.pos++
			return n
		}
		for {
			k := f.scalar()
			if len(k.value) > 1000 || k.kind != ScalarKind || f.pos >= len(f.t) || f.t[f.pos] != ':' || n.find(k.value) >= 0 {
				bail()
			}
			f.pos++
			if f.pos >= len(f.t) || f.t[f.pos] != ' ' {
				bail()
			}
			v := f.value()
			n.keys = append(n.keys, k.value)
			n.items = append(n.items, v)
			f.skipSpaces()
			if f.pos >= len(f.t) {
				bail()
			}
			if f.t[f.pos] == '}' {
				f.pos++
				if len(n.keys) >= indexThreshold {
					n.buildIndex()
				}
				return n
			}
			if f.t[f.pos] != ',' {
				bail()
			}
			f.pos++
			f.skipSpaces()
			if f.pos < len(f.t) && f.t[f.pos] == '}' {
				bail()
			}
		}
	}
	return f.scalar()
}

// scalar reads a quoted or plain scalar in flow context.
func (f *flowParser) scalar() *Node {
	f.skipSpaces()
	if f.pos >= len(f.t) {
		bail()
	}
	start := f.pos
	c := f.t[f.pos]
	if c == '"' || c == '\'' {
		v, end := quoted(f.t, f.pos)
		f.pos = end
		return f.p.node(Node{kind: ScalarKind, prov: f.p.prov(f.line, start), value: strings.TrimSpace(v)})
	}
	if strings.IndexByte(plainStartIndicators, c) >= 0 {
		bail()
	}
	for f.pos < len(f.t) {
		ch := f.t[f.pos]
		if ch == ',' || ch == '[' || ch == ']' || ch == '{' || ch == '}' || ch == '#' {
			break
		}
		// Flow scalars are kept to the characters version lists and names
		// use; anything else goes the general way.
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("._-/+ =~", ch) >= 0 || ch == ':') {
			bail()
		}
		if ch == ':' {
			if f.pos+1 < len(f.t) && f.t[f.pos+1] != ' ' && f.t[f.pos+1] != ',' && f.t[f.pos+1] != ']' && f.t[f.pos+1] != '}' {
				bail()
			}
			break
		}
		f.pos++
	}
	if f.pos < len(f.t) && f.t[f.pos] == '#' {
		bail()
	}
	v := strings.TrimRight(f.t[start:f.pos], " ")
	if v == "" {
		bail()
	}
	return f.p.node(Node{kind: ScalarKind, prov: f.p.prov(f.line, start), value: v})
}
