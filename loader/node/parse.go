package node

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse reads a YAML document that must be a mapping (or empty, or only
// comments, which is an empty mapping) and returns it as a tree of nodes
// attributed to f.
func Parse(data []byte, f *File) (*Node, error) {
	return new(Parser).Parse(data, f)
}

// Parser parses YAML documents as Parse does, keeping its scratch space
// from one document to the next: a loader parsing many files gives each of
// its goroutines one Parser. A Parser is not safe for concurrent use; the
// trees it returns share nothing with it.
type Parser struct {
	fast  fastParser
	arena arena
}

// Parse is the package's Parse, reusing p's scratch space.
func (p *Parser) Parse(data []byte, f *File) (*Node, error) {
	p.fast.arena = nil
	if n, ok := p.fast.parse(data, f); ok {
		return n, nil
	}
	return parseGeneral(data, f)
}

// CloneTemporary is Clone into p's arena: the copy is temporary, as a
// tree ParseTemporary returns, and lives until the next ParseTemporary.
func (p *Parser) CloneTemporary(n *Node) *Node {
	if n == nil {
		return nil
	}
	var c cloner
	n.countInto(&c)
	c.nodes = p.arena.nodes.take(c.nNodes)
	c.items = p.arena.items.take(c.nItems)
	c.keys = p.arena.keys.take(c.nKeys)
	return c.clone(n)
}

// ParseTemporary is Parse for a tree that is only needed until the next
// call of ParseTemporary on p: the tree may be made of memory that p
// reuses then, and the nodes the caller keeps must be copies (Clone), not
// nodes of the tree. It saves allocating, and collecting, a tree per
// document.
func (p *Parser) ParseTemporary(data []byte, f *File) (*Node, error) {
	p.arena.reset()
	p.fast.arena = &p.arena
	defer func() { p.fast.arena = nil }()
	if n, ok := p.fast.parse(data, f); ok {
		return n, nil
	}
	return parseGeneral(data, f)
}

// parseGeneral parses with gopkg.in/yaml.v3, for everything the fast path
// leaves aside.
func parseGeneral(data []byte, f *File) (*Node, error) {
	var doc yaml.Node
	if mayHaveSeveralDocuments(data) {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return NewMapping(Provenance{File: f, Line: 1}), nil
		}
		if err != nil {
			return nil, syntaxError(f, err)
		}
		var second yaml.Node
		if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
			if err != nil {
				return nil, syntaxError(f, err)
			}
			return nil, Errorf(Provenance{File: f, Line: int32(second.Line), Col: int32(second.Column - 1)},
				InvalidYAML, "more than one YAML document found in the file")
		}
	} else if err := yaml.Unmarshal(data, &doc); err != nil {
		// Unmarshal reads from memory, faster than a Decoder; it is used
		// when no document marker could start a second document.
		return nil, syntaxError(f, err)
	}
	top := &doc
	if top.Kind == 0 {
		return NewMapping(Provenance{File: f, Line: 1}), nil
	}
	if top.Kind == yaml.DocumentNode {
		if len(top.Content) == 0 {
			return NewMapping(Provenance{File: f, Line: 1}), nil
		}
		top = top.Content[0]
	}
	c := converter{file: f}
	n, err := c.convert(top)
	if err != nil {
		return nil, err
	}
	if n.kind != MappingKind {
		if n.kind == ScalarKind && n.value == "" && top.Tag == "!!null" {
			return NewMapping(n.prov), nil
		}
		return nil, Errorf(n.prov, InvalidYAML, "YAML file has content of type '%s' instead of expected type 'dict'", typeName(n.kind))
	}
	return n, nil
}

var lineRe = regexp.MustCompile(`line (\d+)`)

// mayHaveSeveralDocuments reports whether data has a line starting with a
// document marker ("---" or "...") after its first line. It answers yes
// for any line break other than "\n" (a lone "\r", NEL, LS or PS), which
// YAML also honours, and for a first line that ends a document.
func mayHaveSeveralDocuments(data []byte) bool {
	if bytes.HasPrefix(data, []byte("...")) || bytes.IndexByte(data, '\r') >= 0 ||
		bytes.Contains(data, []byte("\u0085")) || bytes.Contains(data, []byte("\u2028")) || bytes.Contains(data, []byte("\u2029")) {
		return true
	}
	for i := bytes.IndexByte(data, '\n'); i >= 0 && i+1 < len(data); {
		rest := data[i+1:]
		if bytes.HasPrefix(rest, []byte("---")) || bytes.HasPrefix(rest, []byte("...")) {
			return true
		}
		j := bytes.IndexByte(rest, '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return false
}

// syntaxError turns a YAML parser error into a located *Error.
func syntaxError(f *File, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := Provenance{File: f, Line: 1}
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		if l, e := strconv.Atoi(m[1]); e == nil {
			p.Line = int32(l)
		}
		msg = strings.TrimSpace(strings.TrimPrefix(strings.Replace(msg, m[0], "", 1), ":"))
	}
	return &Error{Prov: p, Reason: InvalidYAML, Msg: "malformed YAML: " + msg, Err: err}
}

type converter struct {
	file *File
}

func (c *converter) prov(y *yaml.Node) Provenance {
	return Provenance{File: c.file, Line: int32(y.Line), Col: int32(y.Column - 1)}
}

// check refuses what BuildStream refuses on any node, keys included:
// anchors, aliases and tags other than YAML's core ones.
func (c *converter) check(y *yaml.Node) error {
	if y.Anchor != "" || y.Kind == yaml.AliasNode {
		return Errorf(c.prov(y), InvalidYAML, "anchors and aliases are not allowed in BuildStream YAML")
	}
	if y.Tag != "" && (!strings.HasPrefix(y.Tag, "!!") || y.Tag == "!!binary") && y.Style&yaml.TaggedStyle != 0 {
		return Errorf(c.prov(y), InvalidYAML, "tag %q is not allowed: only YAML's core tags may be used", y.Tag)
	}
	return nil
}

func (c *converter) convert(y *yaml.Node) (*Node, error) {
	p := c.prov(y)
	if err := c.check(y); err != nil {
		return nil, err
	}
	switch y.Kind {
	case yaml.ScalarNode:
		return &Node{kind: ScalarKind, prov: p, value: strings.TrimSpace(y.Value)}, nil
	case yaml.SequenceNode:
		n := &Node{kind: SequenceKind, prov: p, items: make([]*Node, 0, len(y.Content))}
		for _, it := range y.Content {
			v, err := c.convert(it)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, v)
		}
		return n, nil
	case yaml.MappingNode:
		size := len(y.Content) / 2
		n := &Node{kind: MappingKind, prov: p, keys: make([]string, 0, size), items: make([]*Node, 0, size)}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, vy := y.Content[i], y.Content[i+1]
			if err := c.check(k); err != nil {
				return nil, err
			}
			if k.Kind != yaml.ScalarNode {
				return nil, Errorf(c.prov(k), InvalidYAML, "mapping keys must be plain strings")
			}
			if n.find(k.Value) >= 0 {
				return nil, Errorf(c.prov(k), InvalidYAML, "duplicate key '%s'", k.Value)
			}
			v, err := c.convert(vy)
			if err != nil {
				return nil, err
			}
			n.Set(k.Value, v)
		}
		return n, nil
	}
	return nil, Errorf(p, InvalidYAML, "unsupported YAML construct")
}
