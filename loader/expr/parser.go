package expr

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Expr is a parsed expression. It is immutable and safe for concurrent use.
type Expr struct {
	src  string
	root node
}

type opKind uint8

const (
	opOr opKind = iota
	opAnd
	opNot
	opEq
	opNe
	opIn
	opNotIn
	opName
	opLit
	opList
)

type node struct {
	op    opKind
	args  []*node
	name  string
	value Value
}

// Parse parses src.
func Parse(src string) (*Expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.pos)
	}
	return &Expr{src: src, root: *n}, nil
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) isName(s string) bool {
	t := p.peek()
	return t.kind == tName && t.text == s
}

func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tOp && t.text == s
}

func (p *parser) or() (*node, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isName("or") {
		p.next()
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		left = &node{op: opOr, args: []*node{left, right}}
	}
	return left, nil
}

func (p *parser) and() (*node, error) {
	left, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.isName("and") {
		p.next()
		right, err := p.not()
		if err != nil {
			return nil, err
		}
		left = &node{op: opAnd, args: []*node{left, right}}
	}
	return left, nil
}

func (p *parser) not() (*node, error) {
	if p.isName("not") {
		p.next()
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return &node{op: opNot, args: []*node{x}}, nil
	}
	return p.compare()
}

// compare parses a chain of comparisons: as in Jinja, a == b == c means
// a == b and b == c.
func (p *parser) compare() (*node, error) {
	left, err := p.primary()
	if err != nil {
		return nil, err
	}
	var result *node
	for {
		var op opKind
		switch {
		case p.isOp("=="):
			op = opEq
		case p.isOp("!="):
			op = opNe
		case p.isName("in"):
			op = opIn
		case p.isName("not") && p.i+1 < len(p.toks) && p.toks[p.i+1].kind == tName && p.toks[p.i+1].text == "in":
			p.next()
			op = opNotIn
		default:
			if result == nil {
				return left, nil
			}
			return result, nil
		}
		p.next()
		right, err := p.primary()
		if err != nil {
			return nil, err
		}
		cmp := &node{op: op, args: []*node{left, right}}
		if result == nil {
			result = cmp
		} else {
			result = &node{op: opAnd, args: []*node{result, cmp}}
		}
		left = right
	}
}

var reserved = map[string]bool{"and": true, "or": true, "not": true, "in": true, "is": true, "if": true, "else": true}

func (p *parser) primary() (*node, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return &node{op: opLit, value: String(t.text)}, nil
	case tInt:
		i, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("integer %s out of range at offset %d", t.text, t.pos)
		}
		return &node{op: opLit, value: Int(i)}, nil
	case tName:
		switch t.text {
		case "true", "True":
			return &node{op: opLit, value: Bool(true)}, nil
		case "false", "False":
			return &node{op: opLit, value: Bool(false)}, nil
		case "none", "None":
			return &node{op: opLit, value: None()}, nil
		}
		if reserved[t.text] {
			return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.pos)
		}
		if nt := p.peek(); nt.kind == tOp && (nt.text == "(" || nt.text == "[") {
			return nil, fmt.Errorf("unexpected %q after %q at offset %d: calls and subscripts are not supported", nt.text, t.text, nt.pos)
		}
		return &node{op: opName, name: t.text}, nil
	case tOp:
		switch t.text {
		case "(":
			if p.isOp(")") {
				p.next()
				return &node{op: opList}, nil
			}
			first, err := p.or()
			if err != nil {
				return nil, err
			}
			if p.isOp(")") {
				p.next()
				return first, nil
			}
			if !p.isOp(",") {
				nt := p.peek()
				return nil, fmt.Errorf("expected ')' at offset %d, found %q", nt.pos, nt.text)
			}
			return p.listRest(first, ")")
		case "[":
			if p.isOp("]") {
				p.next()
				return &node{op: opList}, nil
			}
			first, err := p.or()
			if err != nil {
				return nil, err
			}
			if p.isOp("]") {
				p.next()
				return &node{op: opList, args: []*node{first}}, nil
			}
			if !p.isOp(",") {
				nt := p.peek()
				return nil, fmt.Errorf("expected ']' at offset %d, found %q", nt.pos, nt.text)
			}
			return p.listRest(first, "]")
		}
	case tEOF:
		return nil, fmt.Errorf("unexpected end of expression")
	}
	return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.pos)
}

// listRest parses ", item, item ... close" after a list's first item.
func (p *parser) listRest(first *node, closer string) (*node, error) {
	items := []*node{first}
	for p.isOp(",") {
		p.next()
		if p.isOp(closer) {
			break
		}
		it, err := p.or()
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	if !p.isOp(closer) {
		nt := p.peek()
		return nil, fmt.Errorf("expected '%s' at offset %d, found %q", closer, nt.pos, nt.text)
	}
	p.next()
	return &node{op: opList, args: items}, nil
}

// Names lists the names the expression refers to, sorted.
func (e *Expr) Names() []string {
	seen := map[string]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		if n.op == opName {
			seen[n.name] = true
		}
		for _, a := range n.args {
			walk(a)
		}
	}
	walk(&e.root)
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// String returns the expression's source.
func (e *Expr) String() string { return e.src }

// Eval evaluates the expression over vars and returns its truth value.
func (e *Expr) Eval(vars map[string]Value) (bool, error) {
	v, err := eval(&e.root, vars)
	if err != nil {
		return false, err
	}
	return v.Truthy(), nil
}

func eval(n *node, vars map[string]Value) (Value, error) {
	switch n.op {
	case opLit:
		return n.value, nil
	case opName:
		v, ok := vars[n.name]
		if !ok {
			return Value{}, fmt.Errorf("undefined option %q", n.name)
		}
		return v, nil
	case opList:
		vs := make([]Value, len(n.args))
		for i, a := range n.args {
			v, err := eval(a, vars)
			if err != nil {
				return Value{}, err
			}
			vs[i] = v
		}
		return listOf(vs), nil
	case opNot:
		v, err := eval(n.args[0], vars)
		if err != nil {
			return Value{}, err
		}
		return Bool(!v.Truthy()), nil
	case opAnd, opOr:
		// Python returns the deciding operand, not a bool.
		l, err := eval(n.args[0], vars)
		if err != nil {
			return Value{}, err
		}
		if l.Truthy() == (n.op == opOr) {
			return l, nil
		}
		return eval(n.args[1], vars)
	}
	l, err := eval(n.args[0], vars)
	if err != nil {
		return Value{}, err
	}
	r, err := eval(n.args[1], vars)
	if err != nil {
		return Value{}, err
	}
	switch n.op {
	case opEq:
		return Bool(Equal(l, r)), nil
	case opNe:
		return Bool(!Equal(l, r)), nil
	}
	in, err := contains(r, l)
	if err != nil {
		return Value{}, err
	}
	if n.op == opNotIn {
		in = !in
	}
	return Bool(in), nil
}

// contains is Python's `item in container`.
func contains(container, item Value) (bool, error) {
	switch container.kind {
	case ListKind:
		for _, v := range container.list {
			if Equal(v, item) {
				return true, nil
			}
		}
		return false, nil
	case StringKind:
		if item.kind != StringKind {
			return false, fmt.Errorf("'in <string>' requires a string as left operand, not %s", item)
		}
		return strings.Contains(container.s, item.s), nil
	}
	return false, fmt.Errorf("argument of type %s is not a container", container)
}
