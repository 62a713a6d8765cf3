package ui

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownSymbol is wrapped by the errors of Render and CheckSymbols for
// a field whose symbol the caller does not know.
var ErrUnknownSymbol = errors.New("unknown format symbol")

// A Template is a parsed output template, such as the --format of
// `bst show`: literal text with %{symbol} fields.
//
// A field is written %{name}, %{name:spec} or %{name!conv:spec}, where
// name is made of ASCII letters, digits, '-' and '_', spec is a Python
// format spec for a string (see FormatString) and conv, one of s, r and
// a, converts the value first, as str(), repr() and ascii() do in Python.
// BuildStream hands the text of each %{...} to Python's str.format, and
// these are the parts of that syntax which make sense for a string.
//
// A "%{" is literal text when no '}' closes it before the next '%' (or
// the end), which is how BuildStream's matching treats it too, since a
// spec cannot hold '%'. There is no escape: "%%" is two literal percent
// signs, so "%%{name}" is a '%' followed by the name.
type Template struct {
	parts []part
}

// part is literal text (field == nil) or a field.
type part struct {
	lit   string
	field *Field
	spec  strSpec
}

// A Field is one %{...} of a template.
type Field struct {
	Name       string
	Conversion byte   // 's', 'r', 'a', or 0 for none
	Spec       string // the format spec, without its ':'
	Text       string // the field as written, "%{" and "}" included
}

// ParseTemplate parses s and checks the syntax of its fields and their
// format specs, so that rendering can only fail on an unknown symbol.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{}
	var lit strings.Builder
	for {
		i := strings.Index(s, "%{")
		if i < 0 {
			break
		}
		lit.WriteString(s[:i])
		rest := s[i+2:]
		j := strings.IndexAny(rest, "%}")
		if j < 0 || rest[j] == '%' {
			// Not closed before the next '%': literal text.
			lit.WriteString("%{")
			s = rest
			continue
		}
		text := s[i : i+2+j+1]
		f, sp, err := parseField(text, rest[:j])
		if err != nil {
			return nil, err
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{lit: lit.String()})
			lit.Reset()
		}
		t.parts = append(t.parts, part{field: f, spec: sp})
		s = rest[j+1:]
	}
	lit.WriteString(s)
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{lit: lit.String()})
	}
	return t, nil
}

// parseField parses the body of a field: what lies between "%{" and "}".
func parseField(text, body string) (*Field, strSpec, error) {
	fail := func(format string, args ...any) (*Field, strSpec, error) {
		return nil, strSpec{}, fmt.Errorf("bad field %s: %s", text, fmt.Sprintf(format, args...))
	}
	n := 0
	for n < len(body) && isSymbolChar(body[n]) {
		n++
	}
	if n == 0 {
		return fail("a field must start with a symbol name (letters, digits, '-' and '_')")
	}
	f := &Field{Name: body[:n], Text: text}
	rest := body[n:]
	if strings.HasPrefix(rest, "!") {
		if len(rest) < 2 || !strings.ContainsRune("sra", rune(rest[1])) {
			return fail("a conversion is !s, !r or !a")
		}
		f.Conversion = rest[1]
		rest = rest[2:]
		if rest != "" && rest[0] != ':' {
			return fail("expected ':' or '}' after !%c", f.Conversion)
		}
	}
	if rest != "" && rest[0] != ':' {
		return fail("unexpected %q after the symbol name", rest[0])
	}
	if rest != "" {
		f.Spec = rest[1:]
	}
	if strings.Contains(f.Spec, "{") {
		return fail("nested fields are not supported in a format spec")
	}
	sp, err := parseSpec(f.Spec)
	if err != nil {
		var se *SpecError
		if errors.As(err, &se) {
			return fail("%s", se.Reason)
		}
		return fail("%v", err)
	}
	return f, sp, nil
}

func isSymbolChar(c byte) bool {
	return c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Fields returns the template's fields in order.
func (t *Template) Fields() []Field {
	var fs []Field
	for _, p := range t.parts {
		if p.field != nil {
			fs = append(fs, *p.field)
		}
	}
	return fs
}

// Uses reports whether the template has a field for the symbol name, so
// that costly symbols are computed only when shown.
func (t *Template) Uses(name string) bool {
	for _, p := range t.parts {
		if p.field != nil && p.field.Name == name {
			return true
		}
	}
	return false
}

// CheckSymbols returns an error wrapping ErrUnknownSymbol for the first
// field whose symbol is not among known, so that a bad template can be
// refused before any work is done.
func (t *Template) CheckSymbols(known []string) error {
	for _, p := range t.parts {
		if p.field != nil && !contains(known, p.field.Name) {
			return unknownSymbol(p.field.Name)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func unknownSymbol(name string) error {
	return fmt.Errorf("%w %%{%s}", ErrUnknownSymbol, name)
}

// Render fills in the fields. lookup returns a symbol's value, or false
// for a symbol it does not know, which makes Render fail with an error
// wrapping ErrUnknownSymbol. (BuildStream leaves such a field in the
// output as written, unless the symbol starts with a known one, as
// %{names} does, when it crashes.) lookup is called once per field.
//
// style, when not nil, decorates each field after it is converted and
// formatted, as BuildStream applies colours after padding, so that escape
// sequences do not count towards the width.
func (t *Template) Render(lookup func(name string) (string, bool), style func(name, formatted string) string) (string, error) {
	b, err := t.AppendRender(nil, lookup, style)
	return string(b), err
}

// AppendRender is Render appending to b, for rendering many lines into one
// buffer. On error, b is returned as it was given.
func (t *Template) AppendRender(b []byte, lookup func(name string) (string, bool), style func(name, formatted string) string) ([]byte, error) {
	start := len(b)
	for _, p := range t.parts {
		if p.field == nil {
			b = append(b, p.lit...)
			continue
		}
		f := p.field
		v, ok := lookup(f.Name)
		if !ok {
			return b[:start], unknownSymbol(f.Name)
		}
		switch f.Conversion {
		case 'r':
			v = pyRepr(v, false)
		case 'a':
			v = pyRepr(v, true)
		}
		v = p.spec.format(v)
		if style != nil {
			v = style(f.Name, v)
		}
		b = append(b, v...)
	}
	return b, nil
}
