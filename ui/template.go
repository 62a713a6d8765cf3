package ui

import (
	"fmt"
	"strings"
)

// Template is a parsed output template: literal text and %{symbol:spec}
// fields. Fields naming symbols a command does not know are kept as
// literal text, as BuildStream does.
type Template struct {
	parts []tmplPart
}

type tmplPart struct {
	lit        string
	name, spec string
	field      bool
}

// ParseTemplate parses s. A field is %{name} or %{name:spec}, where name
// is letters, digits, '-' and '_'; anything else starting with %{ is text.
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
		j := 0
		for j < len(rest) && isSymbolChar(rest[j]) {
			j++
		}
		name := rest[:j]
		var spec string
		end := -1
		switch {
		case name == "":
		case j < len(rest) && rest[j] == '}':
			end = j + 1
		case j < len(rest) && rest[j] == ':':
			k := strings.IndexAny(rest[j+1:], "}%")
			if k >= 0 && rest[j+1+k] == '}' {
				spec = rest[j+1 : j+1+k]
				end = j + 1 + k + 1
			}
		}
		if end < 0 {
			lit.WriteString("%{")
			s = rest
			continue
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, tmplPart{lit: lit.String()})
			lit.Reset()
		}
		if _, err := FormatString("", spec); err != nil {
			return nil, fmt.Errorf("%%{%s:%s}: %v", name, spec, err)
		}
		t.parts = append(t.parts, tmplPart{field: true, name: name, spec: spec})
		s = rest[end:]
	}
	lit.WriteString(s)
	if lit.Len() > 0 {
		t.parts = append(t.parts, tmplPart{lit: lit.String()})
	}
	return t, nil
}

func isSymbolChar(c byte) bool {
	return c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Uses reports whether the template has a field for name, so that costly
// symbols are computed only when shown.
func (t *Template) Uses(name string) bool {
	for _, p := range t.parts {
		if p.field && p.name == name {
			return true
		}
	}
	return false
}

// Render fills in the fields. lookup returns a symbol's value, or false
// for symbols it does not know, whose fields are kept as written. style,
// when not nil, decorates each formatted field (with colours, say).
func (t *Template) Render(lookup func(name string) (string, bool), style func(name, formatted string) string) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if !p.field {
			b.WriteString(p.lit)
			continue
		}
		v, ok := lookup(p.name)
		if !ok {
			b.WriteString("%{" + p.name)
			if p.spec != "" {
				b.WriteString(":" + p.spec)
			}
			b.WriteString("}")
			continue
		}
		s, err := FormatString(v, p.spec)
		if err != nil {
			return "", fmt.Errorf("%%{%s:%s}: %v", p.name, p.spec, err)
		}
		if style != nil {
			s = style(p.name, s)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}
