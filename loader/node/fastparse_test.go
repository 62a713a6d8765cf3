package node

import (
	"fmt"
	"strings"
	"testing"
)

// sameTree describes the first difference between two trees, provenance
// included, or returns "".
func sameTree(a, b *Node, path string) string {
	if a.kind != b.kind {
		return fmt.Sprintf("%s: kind %s vs %s", path, a.kind, b.kind)
	}
	if a.prov.Line != b.prov.Line || a.prov.Col != b.prov.Col {
		return fmt.Sprintf("%s: position %d:%d vs %d:%d", path, a.prov.Line, a.prov.Col, b.prov.Line, b.prov.Col)
	}
	if a.value != b.value {
		return fmt.Sprintf("%s: value %q vs %q", path, a.value, b.value)
	}
	if len(a.items) != len(b.items) {
		return fmt.Sprintf("%s: %d items vs %d", path, len(a.items), len(b.items))
	}
	for i := range a.items {
		sub := fmt.Sprintf("%s[%d]", path, i)
		if a.kind == MappingKind {
			if a.keys[i] != b.keys[i] {
				return fmt.Sprintf("%s: key %q vs %q", path, a.keys[i], b.keys[i])
			}
			sub = path + "." + a.keys[i]
		}
		if d := sameTree(a.items[i], b.items[i], sub); d != "" {
			return d
		}
	}
	return ""
}

var fastSeeds = []string{
	"kind: manual\n",
	"kind: manual\ndescription: |\n  A long\n  description.\n\n  Second paragraph.\ndepends:\n- a.bst\n- filename: b.bst\n  type: build\n  config:\n    location: /x\nvariables:\n  x: '%{prefix}/x'\n  y: \"a\\tb\"\n",
	"a:\n- x\n-\n- y\nb:\n",
	"a: [x, 'y', {b: c}, []]\nc: {}\n",
	"a: >-\n  x\n  y\n",
	"k: a b  # comment\n# full comment\nl: 'it''s'\n",
	"config:\n  build-commands:\n    (>):\n    - make\n    - |\n      echo a\n        indented\n      echo b\n(?):\n- arch == \"x86_64\":\n    variables:\n      a: b\n",
	"a:\n  b:\n    c: d\n  e: f\ng: h\n",
	"list:\n  - one\n  - two: 2\n    three: 3\n",
	"a: |+\n  x\n\nb: c\n",
	"a: b: c\n",
	"a: 'unterminated\n",
	"a: [x,\n  y]\n",
	"a: multi\n  line\n",
	"- top\n",
	"a: &x 1\n",
	"a: 1\na: 2\n",
	"a:\tb\n",
	"a: \"\\u00e9\\x41\"\n",
	"a: - b\n",
	"? complex\n: key\n",
	"a:     spaced   \n",
	"a: |\n\n  x\n",
	"a: |2\n   x\n",
	"0: \u0085",
	"a: x\u2028y\n",
	"a: b\u2029\nc: d\n",
	"0: \u2009",
	"a: \u3000b\u00a0 # c\nd: '\u2009e'\n",
}

func TestFastParseAgreesWithGeneralParser(t *testing.T) {
	fast := 0
	for _, s := range fastSeeds {
		if compareParsers(t, s) {
			fast++
		}
	}
	if fast < len(fastSeeds)/3 {
		t.Errorf("the fast path took only %d of %d seeds", fast, len(fastSeeds))
	}
}

// compareParsers fails t when the fast path accepts data and disagrees
// with the general parser; it reports whether the fast path accepted it.
func compareParsers(t *testing.T, s string) bool {
	t.Helper()
	f := &File{Name: "t.bst"}
	n, ok := fastParse([]byte(s), f)
	if !ok {
		return false
	}
	g, err := parseGeneral([]byte(s), f)
	if err != nil {
		t.Errorf("%q: the fast path accepted what the general parser refuses: %v", s, err)
		return true
	}
	if d := sameTree(n, g, "$"); d != "" {
		t.Errorf("%q: fast and general parsers differ at %s", s, d)
	}
	return true
}

func FuzzFastParse(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Count(s, "\n") > 200 {
			return
		}
		compareParsers(t, s)
	})
}

// Large mappings find duplicate keys through a map, and one Parser parses
// document after document with the same scratch space.
func TestParserLargeMappingsAndReuse(t *testing.T) {
	var big, dup strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&big, "k%02d: [v%d]\n", i, i)
		fmt.Fprintf(&dup, "k%02d: v\n", i%35)
	}
	nested := "a:\n  b:\n    c: [1, 2]\n    d:\n    - x\n    - y: z\n  e: f\n" + big.String()
	var p Parser
	for round := 0; round < 2; round++ {
		for _, s := range []string{big.String(), nested, "kind: manual\n"} {
			if !compareParsers(t, s) {
				t.Errorf("the fast path refused %q", s)
			}
			n, err := p.Parse([]byte(s), &File{Name: "t.bst"})
			if err != nil {
				t.Fatal(err)
			}
			g, _ := parseGeneral([]byte(s), &File{Name: "t.bst"})
			if d := sameTree(n, g, "$"); d != "" {
				t.Errorf("Parser.Parse differs at %s", d)
			}
		}
		if _, ok := fastParse([]byte(dup.String()), &File{Name: "t.bst"}); ok {
			t.Errorf("the fast path accepted a duplicate key in a large mapping")
		}
		if _, err := p.Parse([]byte(dup.String()), &File{Name: "t.bst"}); ReasonOf(err) != InvalidYAML {
			t.Errorf("duplicate key: %v, want an invalid-yaml error", err)
		}
	}
	if m := mustParse(t, big.String()); m.Get("k39") == nil || m.Get("k00").Items()[0].Value() != "v0" {
		t.Errorf("lookups in a large mapping fail")
	}
}
