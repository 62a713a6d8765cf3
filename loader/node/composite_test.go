package node

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// parseAs parses s as the file name, checking both parsers agree.
func parseAs(t testing.TB, name, s string) *Node {
	t.Helper()
	f := &File{Name: name}
	n, err := Parse([]byte(s), f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	g, err := parseGeneral([]byte(s), f)
	if err != nil {
		t.Fatalf("%s: general parser: %v", name, err)
	}
	if d := sameTree(n, g, "$"); d != "" {
		t.Fatalf("%s: fast and general parsers differ at %s", name, d)
	}
	return n
}

// wantTree fails t unless n holds what the YAML want does.
func wantTree(t testing.TB, n *Node, want string) {
	t.Helper()
	w := parseAs(t, "want", want)
	if d := sameValues(n, w, "$"); d != "" {
		t.Errorf("differs at %s; got:\n%swant:\n%s", d, Dump(n), Dump(w))
	}
	if d := wellFormed(n, "$"); d != "" {
		t.Errorf("malformed result: %s", d)
	}
}

func TestComposite(t *testing.T) {
	tests := []struct {
		name     string
		dst, src string
		want     string // the composed dst, when composing succeeds
		reason   Reason // the error's reason, when it fails
		errPos   string // where the error points, "" to not check
		msg      string // part of the error message
	}{
		// Plain values.
		{name: "scalar over scalar", dst: "a: 1\nb: 2\n", src: "a: x\n", want: "a: x\nb: 2\n"},
		{name: "empty scalar over scalar", dst: "a: 1\n", src: "a:\n", want: "a: ''\n"},
		{name: "scalar onto a missing key", dst: "a: 1\n", src: "b: 2\n", want: "a: 1\nb: 2\n"},
		{name: "list replaces list", dst: "l: [a, b, c]\n", src: "l: [x]\n", want: "l: [x]\n"},
		{name: "empty list replaces list", dst: "l: [a, b]\n", src: "l: []\n", want: "l: []\n"},
		{name: "list onto a missing key", dst: "a: 1\n", src: "l: [x]\n", want: "a: 1\nl: [x]\n"},
		{name: "list of mappings replaces list", dst: "l: [{a: 1}]\n", src: "l: [{b: 2}]\n", want: "l: [{b: 2}]\n"},
		{name: "mappings merge", dst: "m: {a: 1, b: 2}\n", src: "m: {b: 3, c: 4}\n", want: "m: {a: 1, b: 3, c: 4}\n"},
		{
			name: "mappings merge deeply",
			dst:  "m:\n  n:\n    o: {a: 1, b: 2}\n    p: keep\n",
			src:  "m:\n  n:\n    o: {b: 3}\n    q: new\n",
			want: "m:\n  n:\n    o: {a: 1, b: 3}\n    p: keep\n    q: new\n",
		},
		{name: "mapping onto a missing key", dst: "a: 1\n", src: "m: {b: {c: d}}\n", want: "a: 1\nm: {b: {c: d}}\n"},
		{name: "empty mapping changes nothing", dst: "m: {a: 1}\n", src: "m: {}\n", want: "m: {a: 1}\n"},
		{name: "empty mapping onto a missing key", dst: "a: 1\n", src: "m: {}\n", want: "a: 1\nm: {}\n"},
		{name: "empty source", dst: "a: 1\n", src: "", want: "a: 1\n"},
		{name: "empty destination", dst: "", src: "a: {b: [c]}\n", want: "a: {b: [c]}\n"},

		// Values of different kinds do not compose.
		{name: "scalar over list", dst: "a: [x]\n", src: "\na: y\n", reason: IllegalComposite, errPos: "2:0", msg: "failure composing a: src.bst [line 2 column 3]: cannot compose a scalar on a non-scalar at dst.bst [line 1 column 3]"},
		{name: "scalar over mapping", dst: "a: {b: c}\n", src: "a: y\n", reason: IllegalComposite, errPos: "1:0", msg: "cannot compose a scalar on a non-scalar"},
		{name: "list over mapping", dst: "a: {b: c}\n", src: "a: [y]\n", reason: IllegalComposite, errPos: "1:0", msg: "src.bst [line 1 column 3]: a list cannot overwrite a at dst.bst [line 1 column 3]"},
		{name: "list over scalar", dst: "a: b\n", src: "a: [y]\n", reason: IllegalComposite, msg: "a list cannot overwrite a"},
		{name: "mapping over scalar", dst: "a: b\n", src: "a: {c: d}\n", reason: IllegalComposite, msg: "cannot compose a mapping on a non-mapping"},
		{name: "mapping over empty scalar", dst: "a:\n", src: "a: {c: d}\n", reason: IllegalComposite, msg: "cannot compose a mapping on a non-mapping"},
		{name: "mapping over list", dst: "a: [b]\n", src: "a: {c: d}\n", reason: IllegalComposite, msg: "cannot compose a mapping on a non-mapping"},
		{name: "directives over scalar", dst: "a: b\n", src: "a: {(>): [c]}\n", reason: IllegalComposite, msg: "cannot compose lists onto dst.bst [line 1 column 3]"},
		{name: "directives over mapping", dst: "a: {b: c}\n", src: "a: {(<): [c]}\n", reason: IllegalComposite, msg: "cannot compose lists onto"},
		{name: "error path", dst: "a:\n  b:\n    c: [x]\n", src: "a:\n  b:\n    c: y\n", reason: IllegalComposite, errPos: "1:0", msg: "failure composing a.b.c: "},

		// List directives on a list: (=), then (<), then (>), whatever
		// order they are written in.
		{name: "prepend", dst: "l: [a, b]\n", src: "l: {(<): [x, y]}\n", want: "l: [x, y, a, b]\n"},
		{name: "append", dst: "l: [a, b]\n", src: "l: {(>): [x, y]}\n", want: "l: [a, b, x, y]\n"},
		{name: "overwrite", dst: "l: [a, b]\n", src: "l: {(=): [x]}\n", want: "l: [x]\n"},
		{name: "overwrite with nothing", dst: "l: [a, b]\n", src: "l: {(=): []}\n", want: "l: []\n"},
		{name: "prepend and append", dst: "l: [a]\n", src: "l: {(>): [z], (<): [p]}\n", want: "l: [p, a, z]\n"},
		{name: "all three", dst: "l: [a, b]\n", src: "l: {(>): [z], (<): [p], (=): [x, y]}\n", want: "l: [p, x, y, z]\n"},
		{name: "empty directives", dst: "l: [a]\n", src: "l: {(>): [], (<): []}\n", want: "l: [a]\n"},
		{name: "directives onto an empty list", dst: "l: []\n", src: "l: {(>): [z], (<): [p]}\n", want: "l: [p, z]\n"},
		{name: "directives deep down", dst: "m:\n  n:\n    l: [a]\n", src: "m:\n  n:\n    l:\n      (>):\n      - b\n", want: "m: {n: {l: [a, b]}}\n"},
		{name: "directives bring mappings", dst: "l: [{a: 1}]\n", src: "l: {(>): [{b: 2}]}\n", want: "l: [{a: 1}, {b: 2}]\n"},

		// A directive map with no list beneath stays a directive map.
		{name: "directives onto a missing key", dst: "a: 1\n", src: "l: {(>): [x]}\n", want: "a: 1\nl: {(>): [x]}\n"},
		{name: "directives onto a missing mapping", dst: "a: 1\n", src: "m: {l: {(<): [x]}}\n", want: "a: 1\nm: {l: {(<): [x]}}\n"},

		// A directive map over another: (=) clobbers, prepends are
		// prepended and appends appended.
		{name: "append to appends", dst: "l: {(>): [a]}\n", src: "l: {(>): [b]}\n", want: "l: {(>): [a, b]}\n"},
		{name: "prepend to prepends", dst: "l: {(<): [a]}\n", src: "l: {(<): [b]}\n", want: "l: {(<): [b, a]}\n"},
		{name: "prepend to appends", dst: "l: {(>): [a]}\n", src: "l: {(<): [b]}\n", want: "l: {(>): [a], (<): [b]}\n"},
		{name: "append to prepends", dst: "l: {(<): [a]}\n", src: "l: {(>): [b]}\n", want: "l: {(<): [a], (>): [b]}\n"},
		{name: "both onto both", dst: "l: {(<): [p1], (>): [a1]}\n", src: "l: {(<): [p2], (>): [a2]}\n", want: "l: {(<): [p2, p1], (>): [a1, a2]}\n"},
		{name: "append to an overwrite", dst: "l: {(=): [x]}\n", src: "l: {(>): [b]}\n", want: "l: {(=): [x], (>): [b]}\n"},
		{name: "overwrite clears the rest", dst: "l: {(<): [p], (>): [a]}\n", src: "l: {(=): [x]}\n", want: "l: {(<): [], (>): [], (=): [x]}\n"},
		{name: "overwrite replaces an overwrite", dst: "l: {(=): [x], (>): [a]}\n", src: "l: {(=): [y]}\n", want: "l: {(=): [y], (>): []}\n"},
		{name: "overwrite brings its own", dst: "l: {(<): [p], (>): [a]}\n", src: "l: {(=): [x], (>): [b]}\n", want: "l: {(<): [], (>): [b], (=): [x]}\n"},
		{name: "overwrite with prepend", dst: "l: {(>): [a]}\n", src: "l: {(<): [p], (=): [x]}\n", want: "l: {(>): [], (=): [x], (<): [p]}\n"},
		{name: "list replaces directives", dst: "l: {(>): [a]}\n", src: "l: [x]\n", want: "l: [x]\n"},
		{name: "list replaces empty directives", dst: "l: {(=): []}\n", src: "l: [x]\n", want: "l: [x]\n"},

		// Directives mixed with keys are refused.
		{name: "mixed source", dst: "l: [a]\n", src: "l:\n  (>): [b]\n  c: d\n", reason: InvalidData, errPos: "2:2", msg: "dictionary contains list composition directives and arbitrary keys"},
		{name: "mixed source onto nothing", dst: "a: 1\n", src: "l: {(=): [b], c: d}\n", reason: InvalidData, errPos: "1:3", msg: "list composition directives and arbitrary keys"},
		{name: "mixed destination under a list", dst: "l: {(>): [a], c: d}\n", src: "l: [b]\n", reason: InvalidData, errPos: "1:3", msg: "list composition directives and arbitrary keys"},
		{name: "mixed destination under directives", dst: "l: {(>): [a], c: d}\n", src: "l: {(>): [b]}\n", reason: InvalidData, errPos: "1:3", msg: "list composition directives and arbitrary keys"},

		// Directives must hold lists when they are applied.
		{name: "scalar directive onto a list", dst: "l: [a]\n", src: "l:\n  (>): b\n", reason: IllegalComposite, errPos: "1:0", msg: "failure composing l: src.bst [line 2 column 7]: the value of list directive (>) is not a list but a str"},
		{name: "mapping directive onto a list", dst: "l: [a]\n", src: "l: {(<): {b: c}}\n", reason: IllegalComposite, msg: "list directive (<) is not a list but a dict"},
		{name: "empty directive onto a list", dst: "l: [a]\n", src: "l:\n  (=):\n", reason: IllegalComposite, msg: "list directive (=) is not a list"},
		{name: "scalar directive onto directives", dst: "l: {(>): [a]}\n", src: "l: {(>): b}\n", reason: IllegalComposite, msg: "list directive (>) is not a list"},
		{name: "directives onto a mapping directive", dst: "l: {(<): {x: y}}\n", src: "l: {(<): [b]}\n", reason: IllegalComposite, msg: "dst.bst [line 1 column 9]: the value of list directive (<) is not a list but a dict"},
		{name: "directives onto a scalar overwrite", dst: "l: {(=): x, (>): [a]}\n", src: "l: {(=): [b]}\n", reason: IllegalComposite, msg: "list directive (=) is not a list"},
		{name: "scalar directive onto nothing", dst: "a: 1\n", src: "l: {(>): b}\n", want: "a: 1\nl: {(>): b}\n"},

		// Conditionals accumulate so that each is evaluated later.
		{
			name: "conditionals accumulate",
			dst:  "(?):\n- debug:\n    a: 1\n",
			src:  "(?):\n- arch == \"x86_64\":\n    a: 2\n",
			want: "(?):\n- debug:\n    a: 1\n- arch == \"x86_64\":\n    a: 2\n",
		},
		{
			name: "nested conditionals accumulate",
			dst:  "variables:\n  x: 1\n  (?): [{a: {x: 2}}]\n",
			src:  "variables:\n  (?): [{b: {x: 3}}]\n",
			want: "variables:\n  x: 1\n  (?): [{a: {x: 2}}, {b: {x: 3}}]\n",
		},
		{name: "conditionals onto nothing", dst: "a: 1\n", src: "(?): [{c: {a: 2}}]\n", want: "a: 1\n(?): [{c: {a: 2}}]\n"},
		{name: "conditionals over a scalar", dst: "(?): x\n", src: "(?): [{c: {a: 2}}]\n", reason: IllegalComposite, msg: "a list cannot overwrite (?)"},
		{name: "conditionals replace directives", dst: "(?): {(>): [x]}\n", src: "(?): [y]\n", want: "(?): [y]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := parseAs(t, "dst.bst", tt.dst)
			src := parseAs(t, "src.bst", tt.src)
			srcDump := Dump(src)
			err := Composite(src, dst)
			if Dump(src) != srcDump {
				t.Errorf("Composite changed its source:\n%s", Dump(src))
			}
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				wantTree(t, dst, tt.want)
				return
			}
			if err == nil {
				t.Fatalf("composed without error:\n%s", Dump(dst))
			}
			checkError(t, err, tt.reason, tt.errPos, tt.msg)
		})
	}
}

func TestCompositeKeyOrder(t *testing.T) {
	dst := parseAs(t, "dst.bst", "b: 1\na: 2\nc:\n  y: 1\n  x: 2\ne: [1]\n")
	src := parseAs(t, "src.bst", "d: 0\nc:\n  z: 0\n  x: 9\na: 5\ne: [2]\n")
	if err := Composite(src, dst); err != nil {
		t.Fatal(err)
	}
	// Existing keys keep their position, new ones follow in source order.
	wantTree(t, dst, "b: 1\na: 5\nc:\n  y: 1\n  x: 9\n  z: 0\ne: [2]\nd: 0\n")
}

func TestCompositeProvenance(t *testing.T) {
	dst := parseAs(t, "dst.bst", "top: 1\nm:\n  a: 1\n  b: 2\nl: [x]\n")
	src := parseAs(t, "src.bst", "\n\nm:\n    b: 3\n    n:\n      c: 4\nl:\n  (>): [y]\n")
	if err := Composite(src, dst); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path []any
		want string
	}{
		// Mappings take the provenance of the mapping composited onto them.
		{nil, "src.bst [line 3 column 0]"},
		{[]any{"m"}, "src.bst [line 4 column 4]"},
		// New mappings are attributed to the source.
		{[]any{"m", "n"}, "src.bst [line 6 column 6]"},
		// Values keep the provenance of where they were written.
		{[]any{"top"}, "dst.bst [line 1 column 5]"},
		{[]any{"m", "a"}, "dst.bst [line 3 column 5]"},
		{[]any{"m", "b"}, "src.bst [line 4 column 7]"},
		{[]any{"m", "n", "c"}, "src.bst [line 6 column 9]"},
		// A list extended by directives stays where it was, and so do its
		// items; the new items come from the source.
		{[]any{"l"}, "dst.bst [line 5 column 3]"},
		{[]any{"l", 0}, "dst.bst [line 5 column 4]"},
		{[]any{"l", 1}, "src.bst [line 8 column 8]"},
	}
	for _, tt := range tests {
		if got := at(t, dst, tt.path...).Prov().String(); got != tt.want {
			t.Errorf("%v: %s, want %s", tt.path, got, tt.want)
		}
	}

	// A replaced list is the source's list.
	dst = parseAs(t, "dst.bst", "l: [x]\n")
	src = parseAs(t, "src.bst", "\nl: [y]\n")
	if err := Composite(src, dst); err != nil {
		t.Fatal(err)
	}
	if got := at(t, dst, "l").Prov().String(); got != "src.bst [line 2 column 3]" {
		t.Errorf("replaced list at %s", got)
	}

	// A synthetic source leaves the destination's provenance alone.
	dst = parseAs(t, "dst.bst", "m:\n  a: 1\n")
	syn := NewMapping(Synthetic)
	m := NewMapping(Synthetic)
	m.Set("b", NewScalar(Synthetic, "2"))
	syn.Set("m", m)
	syn.Set("n", NewMapping(Synthetic))
	if err := Composite(syn, dst); err != nil {
		t.Fatal(err)
	}
	if got := pos(dst.Prov()); got != "1:0" || dst.Prov().File.Name != "dst.bst" {
		t.Errorf("top at %v", dst.Prov())
	}
	if got := at(t, dst, "m").Prov().String(); got != "dst.bst [line 2 column 2]" {
		t.Errorf("m at %s", got)
	}
	if at(t, dst, "n").Prov().Valid() || at(t, dst, "m", "b").Prov().Valid() {
		t.Error("synthetic values should stay synthetic")
	}

	// Errors from a synthetic source have no provenance prefix.
	bad := NewMapping(Synthetic)
	bad.Set("m", NewScalar(Synthetic, "x"))
	err := Composite(bad, dst)
	checkError(t, err, IllegalComposite, "")
	if !strings.HasPrefix(err.Error(), "failure composing m: [synthetic node]: ") {
		t.Errorf("error %q", err)
	}
}

func TestCompositeDoesNotShareNodes(t *testing.T) {
	dst := parseAs(t, "dst.bst", "l: [a]\nc:\n  (?): [{x: {y: 1}}]\n")
	src := parseAs(t, "src.bst", "l: {(>): [b]}\nm: {k: v}\nn: [1]\nd: {(<): [z]}\nc:\n  (?): [{w: {y: 2}}]\n")
	if err := Composite(src, dst); err != nil {
		t.Fatal(err)
	}
	before := Dump(dst)
	// Change everything reachable from the source.
	var scramble func(n *Node)
	scramble = func(n *Node) {
		switch n.Kind() {
		case ScalarKind:
			n.SetValue("scrambled")
		case SequenceKind:
			for _, it := range n.Items() {
				scramble(it)
			}
			n.Append(NewScalar(Synthetic, "extra"))
		case MappingKind:
			for _, it := range n.Items() {
				scramble(it)
			}
			n.Set("extra", NewScalar(Synthetic, "x"))
		}
	}
	scramble(src)
	if after := Dump(dst); after != before {
		t.Errorf("the destination shares nodes with the source:\nbefore:\n%safter:\n%s", before, after)
	}
}

// TestCompositeListDirectivesCompose checks, for every pair of overlays
// on a base list, that composing the overlays onto the base one after the
// other gives what composing the second onto the first, then the result
// onto the base, gives. Every item must keep the provenance of its file.
func TestCompositeListDirectivesCompose(t *testing.T) {
	base := "l:\n- base1\n- base2\n- base3\n"
	overlays := map[string]string{
		"prepend":   "l:\n  (<):\n  - prepend1\n  - prepend2\n",
		"append":    "l:\n  (>):\n  - append1\n",
		"both":      "l:\n  (<): [both1]\n  (>): [both2, both3]\n",
		"overwrite": "l:\n  (=):\n  - overwrite1\n  - overwrite2\n",
		"clear":     "l:\n  (=): []\n",
		"all":       "l:\n  (>): [all3]\n  (=): [all2]\n  (<): [all1]\n",
		"list":      "l:\n- list1\n",
		"empty":     "l: []\n",
		"absent":    "other: value\n",
	}
	// What composing each overlay onto the base list gives.
	single := map[string]string{
		"prepend":   "prepend1 prepend2 base1 base2 base3",
		"append":    "base1 base2 base3 append1",
		"both":      "both1 base1 base2 base3 both2 both3",
		"overwrite": "overwrite1 overwrite2",
		"clear":     "",
		"all":       "all1 all2 all3",
		"list":      "list1",
		"empty":     "",
		"absent":    "base1 base2 base3",
	}
	load := func(name string) *Node {
		src := base
		if name != "base" {
			src = overlays[name]
		}
		return parseAs(t, name, src)
	}
	items := func(t *testing.T, n *Node) string {
		t.Helper()
		var out []string
		for i, it := range at(t, n, "l").Items() {
			v := it.Value()
			// Items are named after their file, which must be their
			// provenance.
			if f := it.Prov().File; f == nil || !strings.HasPrefix(v, f.Name) {
				t.Errorf("item %d %q comes from %v", i, v, it.Prov())
			}
			out = append(out, v)
		}
		return strings.Join(out, " ")
	}
	for name, want := range single {
		b := load("base")
		if err := Composite(load(name), b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := items(t, b); got != want {
			t.Errorf("%s over base: %q, want %q", name, got, want)
		}
	}
	for n1 := range overlays {
		for n2 := range overlays {
			t.Run(n1+"+"+n2, func(t *testing.T) {
				// One after the other onto the base.
				seq := load("base")
				if err := Composite(load(n1), seq); err != nil {
					t.Fatal(err)
				}
				if err := Composite(load(n2), seq); err != nil {
					t.Fatal(err)
				}
				// The second onto the first, then onto the base.
				o1 := load(n1)
				if err := Composite(load(n2), o1); err != nil {
					t.Fatal(err)
				}
				nested := load("base")
				if err := Composite(o1, nested); err != nil {
					t.Fatal(err)
				}
				if a, b := items(t, seq), items(t, nested); a != b {
					t.Errorf("one after the other: %q; nested: %q", a, b)
				}
				if err := AssertComposited(seq); err != nil {
					t.Error(err)
				}
				if err := AssertComposited(nested); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

func TestAssertComposited(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		pos  string // "" when nothing is left
	}{
		{"clean", "a: [x]\nb: {c: d}\n", ""},
		{"parentheses in values are fine", "a: (>)\nb: ['(=)']\n", ""},
		{"conditionals are not list directives", "(?): [{a: {b: c}}]\n", ""},
		{"append", "a:\n  (>): [x]\n", "2:7"},
		{"prepend", "a:\n  (<):\n  - x\n", "3:2"},
		{"overwrite", "a: {(=): []}\n", "1:9"},
		{"at the top", "(>): [x]\n", "1:5"},
		{"deep down", "a:\n  b:\n    c: {(>): [x]}\n", "3:13"},
		{"in a list", "l:\n- m:\n    (<): [x]\n", "3:9"},
		{"in a list of lists", "l:\n- - {(=): [x]}\n", "2:10"},
		{"scalar directive", "a: {(>): x}\n", "1:9"},
		{"empty directive", "a:\n  (>):\n", "2:6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := AssertComposited(mustParse(t, tt.yaml))
			if tt.pos == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			checkError(t, err, TrailingListDirective, tt.pos, "attempt to override non-existing list")
		})
	}

	// A directive map composed where no list exists is reported later.
	dst := parseAs(t, "dst.bst", "variables:\n  a: b\n")
	src := parseAs(t, "src.bst", "variables:\n  foo:\n    (<):\n    - prefix\n")
	if err := Composite(src, dst); err != nil {
		t.Fatal(err)
	}
	err := AssertComposited(dst)
	checkError(t, err, TrailingListDirective, "4:4")
	if !strings.HasPrefix(err.Error(), "src.bst [line 4 column 4]: ") {
		t.Errorf("error %q", err)
	}
}

func TestIsCompositeList(t *testing.T) {
	tests := []struct {
		yaml   string
		want   bool
		reason Reason
	}{
		{"v: {(>): [a]}\n", true, ""},
		{"v: {(<): [a], (=): [], (>): [b]}\n", true, ""},
		{"v: {(>): x}\n", true, ""},
		{"v: {a: b}\n", false, ""},
		{"v: {}\n", false, ""},
		{"v: [a]\n", false, ""},
		{"v: a\n", false, ""},
		// libyaml ends plain scalars at "?" in flow context.
		{"v:\n  (?): [a]\n", false, ""},
		{"v: {(@): a}\n", false, ""},
		{"v: {(>): [a], b: c}\n", false, InvalidData},
		{"v: {b: c, (=): [a]}\n", false, InvalidData},
	}
	for _, tt := range tests {
		got, err := at(t, mustParse(t, tt.yaml), "v").IsCompositeList()
		if tt.reason != "" {
			if err == nil {
				t.Errorf("%q: no error", tt.yaml)
				continue
			}
			checkError(t, err, tt.reason, "1:3")
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: %v, %v; want %v", tt.yaml, got, err, tt.want)
		}
	}
}

// TestCompositeUnder checks the include semantics CompositeUnder serves:
// the including file wins over what it includes, and of several includes
// the later wins (they are composed in reverse order).
func TestCompositeUnder(t *testing.T) {
	tests := []struct {
		name     string
		main     string
		includes []string // in the order they are listed
		want     string
	}{
		{"the includer wins", "test: [main]\n", []string{"test: [inc]\n"}, "test: [main]\n"},
		{"an include cannot append to the includer", "test: [main]\n", []string{"test: {(>): [inc]}\n"}, "test: [main]\n"},
		{"the includer can append", "test: {(>): [main]}\n", []string{"test: [inc]\n"}, "test: [inc, main]\n"},
		{"the includer can prepend", "test: {(<): [main]}\n", []string{"test: [inc]\n"}, "test: [main, inc]\n"},
		{"the includer keeps its keys", "mine: yes\n", []string{"test: [inc]\n"}, "mine: yes\ntest: [inc]\n"},
		{"mappings merge", "m: {a: main}\n", []string{"m: {a: inc, b: inc}\n"}, "m: {a: main, b: inc}\n"},
		{"a later include wins", "x: 1\n", []string{"test: [first]\n", "test: [second]\n"}, "x: 1\ntest: [second]\n"},
		{"a later include can append", "x: 1\n", []string{"test: [first]\n", "test: {(>): [second]}\n"}, "x: 1\ntest: [first, second]\n"},
		{"an earlier include cannot append", "x: 1\n", []string{"test: {(>): [first]}\n", "test: [second]\n"}, "x: 1\ntest: [second]\n"},
		{
			"the includer overwrites what a later include did not have",
			"test: {(=): [main]}\n",
			[]string{"test: [one, two]\nfoo: first\n", "foo: second\n"},
			"test: [main]\nfoo: second\n",
		},
		{
			"directives of all three",
			"test: {(>): [main]}\n",
			[]string{"test: [first]\n", "test: {(<): [second]}\n"},
			"test: [second, first, main]\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			main := parseAs(t, "main.bst", tt.main)
			for i := len(tt.includes) - 1; i >= 0; i-- {
				inc := parseAs(t, fmt.Sprintf("inc%d.yml", i), tt.includes[i])
				incDump := Dump(inc)
				if err := CompositeUnder(inc, main); err != nil {
					t.Fatal(err)
				}
				if Dump(inc) != incDump {
					t.Errorf("CompositeUnder changed the included tree:\n%s", Dump(inc))
				}
			}
			if err := AssertComposited(main); err != nil {
				t.Fatal(err)
			}
			wantTree(t, main, tt.want)
		})
	}
}

func TestCompositeUnderOrderAndProvenance(t *testing.T) {
	main := parseAs(t, "main.bst", "\nb: main\nm:\n  y: main\nl: [main]\n")
	inc := parseAs(t, "inc.yml", "z: inc\nm:\n  x: inc\n  y: inc\nb: inc\na: inc\n")
	if err := CompositeUnder(inc, main); err != nil {
		t.Fatal(err)
	}
	// The includer's keys keep their order and the included ones follow.
	// Below the top, the includer's mapping is composed onto the included
	// one, whose order therefore wins, as it does in BuildStream.
	wantTree(t, main, "b: main\nm: {x: inc, y: main}\nl: [main]\nz: inc\na: inc\n")
	tests := []struct {
		path []any
		want string
	}{
		{nil, "main.bst [line 2 column 0]"},
		{[]any{"b"}, "main.bst [line 2 column 3]"},
		{[]any{"m"}, "main.bst [line 4 column 2]"},
		{[]any{"m", "y"}, "main.bst [line 4 column 5]"},
		{[]any{"m", "x"}, "inc.yml [line 3 column 5]"},
		{[]any{"z"}, "inc.yml [line 1 column 3]"},
	}
	for _, tt := range tests {
		if got := at(t, main, tt.path...).Prov().String(); got != tt.want {
			t.Errorf("%v: %s, want %s", tt.path, got, tt.want)
		}
	}
}

func TestCompositeUnderError(t *testing.T) {
	main := parseAs(t, "main.bst", "m: {a: b}\nk: v\n")
	inc := parseAs(t, "inc.yml", "m: [x]\nn: new\n")
	before := Dump(main)
	err := CompositeUnder(inc, main)
	// The includer is composed onto the included tree, so the error is
	// the includer's.
	checkError(t, err, IllegalComposite, "1:0", "main.bst [line 1 column 0]: failure composing m: main.bst [line 1 column 3]: cannot compose a mapping on a non-mapping at inc.yml [line 1 column 3]")
	if Dump(main) != before {
		t.Errorf("a failed CompositeUnder changed the target:\n%s", Dump(main))
	}
	var le *Error
	if !errors.As(err, &le) || le.Prov.File.Name != "main.bst" {
		t.Errorf("error attributed to %v", le)
	}
}
