package ui

import (
	"errors"
	"strings"
	"testing"
)

type renderCase struct {
	template, want string
}

// buildStreamSymbols are the values behind buildStreamCases.
var buildStreamSymbols = map[string]string{
	"name":        "base/hello.bst",
	"kind":        "autotools",
	"state":       "buildable",
	"full-key":    "0123abcd",
	"description": "It's a ~test~",
	"vars":        "a: 1\nb: 2\n",
}

func lookupIn(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// TestRenderBuildStream checks templates against the output of
// BuildStream's own substitution (Profile.fmt_subst, without colours),
// run with Python 3.11 over buildStreamSymbols.
func TestRenderBuildStream(t *testing.T) {
	for _, c := range buildStreamCases {
		tmpl, err := ParseTemplate(c.template)
		if err != nil {
			t.Errorf("ParseTemplate(%q): %v", c.template, err)
			continue
		}
		got, err := tmpl.Render(lookupIn(buildStreamSymbols), nil)
		if err != nil || got != c.want {
			t.Errorf("Render(%q) = %q, %v; want %q", c.template, got, err, c.want)
		}
	}
}

func TestParseTemplateFields(t *testing.T) {
	tmpl, err := ParseTemplate("%{state: >12} %{full-key} %{name!r:^20} 100% %{x %{workspace-dirs}")
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{
		{Name: "state", Spec: " >12", Text: "%{state: >12}"},
		{Name: "full-key", Text: "%{full-key}"},
		{Name: "name", Conversion: 'r', Spec: "^20", Text: "%{name!r:^20}"},
		{Name: "workspace-dirs", Text: "%{workspace-dirs}"},
	}
	got := tmpl.Fields()
	if len(got) != len(want) {
		t.Fatalf("Fields() = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for name, want := range map[string]bool{"state": true, "name": true, "workspace-dirs": true, "x": false, "workspace": false, "key": false} {
		if tmpl.Uses(name) != want {
			t.Errorf("Uses(%q) = %v, want %v", name, !want, want)
		}
	}
}

func TestParseTemplateLiteral(t *testing.T) {
	// A "%{" not closed before the next '%' or the end is text.
	for _, s := range []string{"", "plain", "100%", "%%", "%{", "%{name", "%{name:%>5}", "%{%}", "{name}", "%{a %{b", "}%{"} {
		tmpl, err := ParseTemplate(s)
		if err != nil {
			t.Errorf("ParseTemplate(%q): %v", s, err)
			continue
		}
		if fs := tmpl.Fields(); len(fs) != 0 {
			t.Errorf("ParseTemplate(%q) has fields %+v", s, fs)
		}
		got, err := tmpl.Render(func(string) (string, bool) { return "", false }, nil)
		if err != nil || got != s {
			t.Errorf("Render(%q) = %q, %v", s, got, err)
		}
	}
}

func TestParseTemplateErrors(t *testing.T) {
	for _, c := range []struct{ template, want string }{
		{"%{}", "bad field %{}: a field must start with a symbol name"},
		{"x %{ name}", "bad field %{ name}: a field must start with a symbol name"},
		{"%{:>5}", "bad field %{:>5}: a field must start with a symbol name"},
		{"%{name }", `bad field %{name }: unexpected ' ' after the symbol name`},
		{"%{name[0]}", `bad field %{name[0]}: unexpected '[' after the symbol name`},
		{"%{name.upper}", `bad field %{name.upper}: unexpected '.' after the symbol name`},
		{"%{name!}", "bad field %{name!}: a conversion is !s, !r or !a"},
		{"%{name!x}", "bad field %{name!x}: a conversion is !s, !r or !a"},
		{"%{name!rx}", "bad field %{name!rx}: expected ':' or '}' after !r"},
		{"%{name:{<5}", "bad field %{name:{<5}: nested fields are not supported in a format spec"},
		{"%{name:{w}}", "bad field %{name:{w}: nested fields are not supported in a format spec"},
		{"ok %{kind} %{name:=5}", "bad field %{name:=5}: '=' alignment applies only to numbers"},
		{"%{name:+}", "bad field %{name:+}: a sign ('+') applies only to numbers"},
		{"%{name:,}", "bad field %{name:,}: digit grouping (',') applies only to numbers"},
		{"%{name:d}", `bad field %{name:d}: format type "d" does not apply to strings (only 's' does)`},
		{"%{name:100000}", "bad field %{name:100000}: width 100000 is over the limit of 65536"},
	} {
		_, err := ParseTemplate(c.template)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("ParseTemplate(%q): error %v, want %q", c.template, err, c.want)
		}
	}
}

func TestRenderUnknownSymbol(t *testing.T) {
	tmpl, err := ParseTemplate("%{name} %{names}")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tmpl.Render(lookupIn(buildStreamSymbols), nil)
	if !errors.Is(err, ErrUnknownSymbol) || err.Error() != "unknown format symbol %{names}" {
		t.Errorf("Render: error %v, want unknown format symbol %%{names}", err)
	}
	if err := tmpl.CheckSymbols([]string{"name", "kind"}); !errors.Is(err, ErrUnknownSymbol) || err.Error() != "unknown format symbol %{names}" {
		t.Errorf("CheckSymbols: error %v", err)
	}
	if err := tmpl.CheckSymbols([]string{"name", "names"}); err != nil {
		t.Errorf("CheckSymbols: %v", err)
	}
}

func TestRenderStyle(t *testing.T) {
	// Styling wraps the padded field, and the lookup runs once per field.
	tmpl, err := ParseTemplate("%{name:>6}|%{kind:^7}|%{name}")
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	lookup := func(name string) (string, bool) {
		calls++
		return map[string]string{"name": "ab", "kind": "cd"}[name], true
	}
	style := func(name, s string) string { return "<" + name + ">" + s + "</>" }
	got, err := tmpl.Render(lookup, style)
	if want := "<name>    ab</>|<kind>  cd   </>|<name>ab</>"; err != nil || got != want {
		t.Errorf("Render = %q, %v; want %q", got, err, want)
	}
	if calls != 3 {
		t.Errorf("lookup called %d times, want 3", calls)
	}
}

func TestRenderMultiLine(t *testing.T) {
	// The spec applies to the whole value, newlines included.
	tmpl, err := ParseTemplate("%{config:-^12}")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Render(lookupIn(map[string]string{"config": "a: 1\nb: 2\n"}), nil)
	if want := "-a: 1\nb: 2\n-"; err != nil || got != want {
		t.Errorf("Render = %q, %v; want %q", got, err, want)
	}
}

// reassemble writes the template back from its parts.
func reassemble(t *Template) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.field != nil {
			b.WriteString(p.field.Text)
		} else {
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

func FuzzParseTemplate(f *testing.F) {
	for _, c := range buildStreamCases {
		f.Add(c.template)
	}
	f.Add("%{name!a:\xff^9.2s}%{}%{%{name:%}")
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := ParseTemplate(s)
		if err != nil {
			return
		}
		if got := reassemble(tmpl); got != s {
			t.Fatalf("ParseTemplate(%q) reassembles as %q", s, got)
		}
		out, err := tmpl.Render(func(name string) (string, bool) { return name + "\n\xff'\"", true }, nil)
		if err != nil {
			t.Fatalf("Render(%q): %v", s, err)
		}
		if len(tmpl.Fields()) == 0 && out != s {
			t.Fatalf("Render(%q) without fields = %q", s, out)
		}
	})
}

var buildStreamCases = []renderCase{
	{"%{name}", "base/hello.bst"},
	{"%{state: >12} %{full-key} %{name}", "   buildable 0123abcd base/hello.bst"},
	{"%{name: ^20}|", "   base/hello.bst   |"},
	{"%{name:<30}|%{kind}", "base/hello.bst                |autotools"},
	{"[%{name:.4}] %{kind:>10.3}", "[base]        aut"},
	{"%{name!r} %{description!a:>20}", "'base/hello.bst'      \"It's a ~test~\""},
	{"100%% %%{name} %{name", "100%% %base/hello.bst %{name"},
	{"%{name %{kind}", "%{name autotools"},
	{"%{name:%>5}", "%{name:%>5}"},
	{"%{kind:*^13}", "**autotools**"},
	{"---------- %{name} ----------\n%{vars}", "---------- base/hello.bst ----------\na: 1\nb: 2\n"},
	{"%{vars:>12}", "  a: 1\nb: 2\n"},
	{"%{vars!r}", "'a: 1\\nb: 2\\n'"},
	{"%{name:05}", "base/hello.bst"},
	{"%{kind:x<05}", "autotools"},
	{"%{name:}", "base/hello.bst"},
	{"}{ %{kind!s:} %", "}{ autotools %"},
	{"%{full-key:.3}", "012"},
}
