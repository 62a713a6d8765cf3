package node

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// parseSeeds are documents for the fuzz targets: ordinary BuildStream
// files, every construct the parser refuses, and the corners of YAML.
var parseSeeds = []string{
	"",
	"# only a comment\n",
	"kind: manual\n",
	"kind: autotools\nvariables:\n  conf-local: --enable-x\nconfig:\n  install-commands:\n    (>):\n    - |\n      make install\n      rm -rf %{install-root}/doc\n",
	"depends:\n- a.bst\n- filename: b.bst\n  type: build\n- junction: j.bst\n  filename: [c.bst, d.bst]\n",
	"sources:\n- kind: git\n  url: upstream:repo.git\n  ref: 0123456789abcdef\n",
	"(@): [include.yml]\n(?):\n- arch == \"x86_64\":\n    variables: {a: b}\n(!): stop here\n",
	"environment:\n  PATH: /usr/bin:/bin\n  LC_ALL: C\nenvironment-nocache: [MAXJOBS]\n",
	"a: {b: [c, {d: e}], f: []}\ng: {}\n",
	"a: \"  spaced  \"\nb: 'it''s'\nc: \"\\t\\u00e9\"\n",
	"a: >-\n  folded\n  text\n\n  more\nb: |+\n  kept\n\n",
	"a: |2\n    indented\n",
	"a: plain\n  continued\n",
	"? explicit\n: key\n",
	"'': empty key\n",
	"a: 1\nb: true\nc: ~\nd:\ne: 0x1F\n",
	"a: &x 1\nb: *x\n",
	"a: !foo x\n",
	"!foo a: b\n",
	"a: !!str 1\nb: !!binary aGk=\n",
	"a: 1\na: 2\n",
	"a: {b: 1, b: 2}\n",
	"- a\n- b\n",
	"scalar\n",
	"a: 1\n---\nb: 2\n",
	"a: 1\r---\rb: 2\r",
	"a: b\r\nc: d\r\n",
	"\ufeffa: b\n",
	"a:\n\tb: c\n",
	"a: [b\n",
	"? [a]\n: b\n",
	"a: b: c\n",
	"%YAML 1.1\n---\na: b\n",
	"<<: {a: b}\n",
	"a: \"x\\u2028y\"\n",
	"clé: [é, ü]\n",
}

func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(readTestdata(f, "provenance.bst")))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Parse(data, testFile)
		if err != nil {
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("error %T is not an *Error: %v", err, err)
			}
			if le.Reason != InvalidYAML || le.Prov.File != testFile || le.Prov.Line < 1 || le.Prov.Col < 0 {
				t.Fatalf("error with reason %q at %v: %v", le.Reason, le.Prov, err)
			}
			return
		}
		if !n.IsMapping() {
			t.Fatalf("Parse returned a %s", n.Kind())
		}
		if d := wellFormed(n, "$"); d != "" {
			t.Fatal(d)
		}
		if d := checkParsed(n, "$"); d != "" {
			t.Fatal(d)
		}
		out := Dump(n)
		back, err := Parse([]byte(out), testFile)
		if err != nil {
			t.Fatalf("Dump output does not parse: %v\n%s", err, out)
		}
		if d := sameValues(n, back, "$"); d != "" {
			t.Fatalf("the tree changed through Dump at %s:\n%s", d, out)
		}
		// Composition directives never make AssertComposited panic.
		_ = AssertComposited(n)
	})
}

// checkParsed checks what Parse promises of every node: scalars stripped
// and every node located in the file.
func checkParsed(n *Node, path string) string {
	if p := n.Prov(); p.File != testFile || p.Line < 1 || p.Col < 0 {
		return path + ": bad provenance " + p.String()
	}
	if n.IsScalar() && strings.TrimSpace(n.Value()) != n.Value() {
		return path + ": scalar not stripped: " + n.Value()
	}
	for i, it := range n.Items() {
		sub := path + "[]"
		if n.IsMapping() {
			sub = path + "." + n.Keys()[i]
		}
		if d := checkParsed(it, sub); d != "" {
			return d
		}
	}
	return ""
}

// compositeSeeds are pairs of documents: a destination, then a source.
var compositeSeeds = [][2]string{
	{"a: 1\nb: [x]\nc: {d: e}\n", "a: 2\nb: [y]\nc: {f: g}\nh: i\n"},
	{"l: [a, b]\n", "l: {(<): [p], (>): [z], (=): [x]}\n"},
	{"l: {(>): [a]}\n", "l: {(<): [b]}\n"},
	{"l: {(<): [a], (>): [b]}\n", "l: {(=): [c]}\n"},
	{"l: {(=): [a]}\n", "l: {(>): [b], (=): [c]}\n"},
	{"a: 1\n", "l: {(>): [x]}\n"},
	{"l: [a]\n", "l: {(>): b}\n"},
	{"l: {(<): {x: y}}\n", "l: {(<): [b]}\n"},
	{"l: {(>): [a], c: d}\n", "l: [b]\n"},
	{"l: [a]\n", "l: {(>): [b], c: d}\n"},
	{"(?):\n- a:\n    x: 1\n", "(?):\n- b:\n    x: 2\n"},
	{"a: [x]\n", "a: y\n"},
	{"a: {b: c}\n", "a: [y]\n"},
	{"a: b\n", "a: {c: d}\n"},
	{"a: b\n", "a: {(>): [c]}\n"},
	{"m:\n  n:\n    o: [a]\n", "m:\n  n:\n    o:\n      (>): [b]\n    p: q\n"},
	{"", "a: {b: [c]}\n"},
	{"a: 1\n", ""},
}

func FuzzComposite(f *testing.F) {
	for _, s := range compositeSeeds {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, dstData, srcData []byte) {
		dst, err := Parse(dstData, &File{Name: "dst.bst"})
		if err != nil {
			return
		}
		src, err := Parse(srcData, &File{Name: "src.bst"})
		if err != nil {
			return
		}
		srcDump := Dump(src)
		composed := dst.Clone()
		if err := Composite(src, composed); err != nil {
			if r := ReasonOf(err); r != IllegalComposite && r != InvalidData {
				t.Fatalf("Composite failed with reason %q: %v", r, err)
			}
		} else {
			if d := wellFormed(composed, "$"); d != "" {
				t.Fatalf("Composite made a malformed tree: %s\n%s", d, Dump(composed))
			}
			if err := AssertComposited(composed); err != nil && ReasonOf(err) != TrailingListDirective {
				t.Fatalf("AssertComposited: %v", err)
			}
			_ = Dump(composed)
		}
		if Dump(src) != srcDump {
			t.Fatalf("Composite changed its source")
		}

		// CompositeMove gives what Composite gives, error included.
		moved := dst.Clone()
		moveErr := CompositeMove(src.Clone(), moved)
		copied := dst.Clone()
		copyErr := Composite(src, copied)
		if fmt.Sprint(moveErr) != fmt.Sprint(copyErr) {
			t.Fatalf("CompositeMove: %v, Composite: %v", moveErr, copyErr)
		}
		if copyErr == nil {
			if d := sameTree(moved, copied, "$"); d != "" {
				t.Fatalf("CompositeMove and Composite differ: %s\n%s\n%s", d, Dump(moved), Dump(copied))
			}
		}

		under := dst.Clone()
		if err := CompositeUnder(src, under); err == nil {
			if d := wellFormed(under, "$"); d != "" {
				t.Fatalf("CompositeUnder made a malformed tree: %s\n%s", d, Dump(under))
			}
		}
		if Dump(src) != srcDump {
			t.Fatalf("CompositeUnder changed the tree under")
		}

		// A tree composed onto a copy of itself.
		self := src.Clone()
		if err := Composite(src, self); err == nil {
			if d := wellFormed(self, "$"); d != "" {
				t.Fatalf("composing a tree onto itself: %s\n%s", d, Dump(self))
			}
		}
	})
}
