package node

import (
	"strings"
	"testing"
)

func TestParseProvenanceOfTestdataElement(t *testing.T) {
	n := mustParse(t, readTestdata(t, "provenance.bst"))
	tests := []struct {
		path  []any
		kind  Kind
		pos   string // line:col, line 1-based, column 0-based
		value string // for scalars
	}{
		// The top-level mapping starts at its first key, after the comment.
		{nil, MappingKind, "2:0", ""},
		{[]any{"kind"}, ScalarKind, "2:6", "autotools"},
		{[]any{"description"}, ScalarKind, "3:13", "Builds the frobnicator"},
		// A block sequence at its key's indentation.
		{[]any{"depends"}, SequenceKind, "6:0", ""},
		{[]any{"depends", 0}, ScalarKind, "6:2", "base/alpine.bst"},
		// A mapping starting on the line of its "-".
		{[]any{"depends", 1}, MappingKind, "7:2", ""},
		{[]any{"depends", 1, "filename"}, ScalarKind, "7:12", "tools/gcc.bst"},
		{[]any{"depends", 1, "type"}, ScalarKind, "8:8", "build"},
		{[]any{"depends", 2, "junction"}, ScalarKind, "9:12", "sdk.bst"},
		{[]any{"depends", 2, "filename"}, ScalarKind, "10:12", "sdk/platform.bst"},
		// A nested mapping starts at its first key.
		{[]any{"variables"}, MappingKind, "13:2", ""},
		// Block scalars are located at their indicator.
		{[]any{"variables", "conf-local"}, ScalarKind, "13:14", "--enable-frob --disable-bar"},
		{[]any{"variables", "build-dir"}, ScalarKind, "16:13", "_build"},
		{[]any{"variables", "jobs"}, ScalarKind, "17:8", "4"},
		{[]any{"config"}, MappingKind, "20:2", ""},
		{[]any{"config", "configure-commands"}, MappingKind, "21:4", ""},
		{[]any{"config", "configure-commands", "(<)"}, SequenceKind, "22:4", ""},
		{[]any{"config", "configure-commands", "(<)", 0}, ScalarKind, "22:6", "./autogen.sh\necho done"},
		// Flow sequences start at their bracket, items where they are.
		{[]any{"config", "install-commands"}, SequenceKind, "25:20", ""},
		{[]any{"config", "install-commands", 0}, ScalarKind, "25:21", "make install"},
		{[]any{"config", "install-commands", 1}, ScalarKind, "25:35", "echo ok"},
		// An indented block sequence.
		{[]any{"sources"}, SequenceKind, "28:2", ""},
		{[]any{"sources", 0}, MappingKind, "28:4", ""},
		{[]any{"sources", 0, "kind"}, ScalarKind, "28:10", "tar"},
		{[]any{"sources", 0, "url"}, ScalarKind, "29:9", "upstream:frob-1.0.tar.gz"},
		{[]any{"sources", 0, "ref"}, ScalarKind, "30:9", "0123abcd"},
		// An empty value sits just after its colon.
		{[]any{"empty"}, ScalarKind, "31:6", ""},
		{[]any{"flow"}, MappingKind, "32:6", ""},
		{[]any{"flow", "a"}, SequenceKind, "32:10", ""},
		{[]any{"flow", "a", 0}, ScalarKind, "32:11", "1"},
		{[]any{"flow", "a", 1}, ScalarKind, "32:14", "2"},
		{[]any{"flow", "b"}, MappingKind, "32:21", ""},
		{[]any{"flow", "b", "c"}, ScalarKind, "32:25", "d"},
	}
	for _, tt := range tests {
		v := at(t, n, tt.path...)
		if v.Kind() != tt.kind {
			t.Errorf("%v: kind %s, want %s", tt.path, v.Kind(), tt.kind)
		}
		if got := pos(v.Prov()); got != tt.pos {
			t.Errorf("%v: at %s, want %s", tt.path, got, tt.pos)
		}
		if v.Prov().File != testFile {
			t.Errorf("%v: file %v, want the parsed file", tt.path, v.Prov().File)
		}
		if tt.kind == ScalarKind && v.Value() != tt.value {
			t.Errorf("%v: value %q, want %q", tt.path, v.Value(), tt.value)
		}
	}
	if got, want := strings.Join(n.Keys(), " "), "kind description depends variables config sources empty flow"; got != want {
		t.Errorf("keys %q, want %q", got, want)
	}
}

func TestParseProvenance(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		path []any
		pos  string
	}{
		{"top mapping", "a: b\n", nil, "1:0"},
		{"top mapping after blank lines", "\n\n# c\na: b\n", nil, "4:0"},
		{"top mapping after a document marker", "---\na: b\n", nil, "2:0"},
		{"plain scalar", "key: value\n", []any{"key"}, "1:5"},
		{"scalar after extra spaces", "key:     value\n", []any{"key"}, "1:9"},
		{"single-quoted scalar", "k: 'v'\n", []any{"k"}, "1:3"},
		{"double-quoted scalar", "k: \"v\"\n", []any{"k"}, "1:3"},
		{"quoted key", "'k': v\n", []any{"k"}, "1:5"},
		{"explicit key", "? k\n: v\n", []any{"k"}, "2:2"},
		{"empty value", "k:\nl: x\n", []any{"k"}, "1:2"},
		{"empty value with spaces", "k:   \nl: x\n", []any{"k"}, "1:2"},
		{"literal block", "k: |\n  x\n", []any{"k"}, "1:3"},
		{"literal block with chomping", "k: |-\n  x\n", []any{"k"}, "1:3"},
		{"folded block", "a:\n  k: >\n    x\n", []any{"a", "k"}, "2:5"},
		{"block sequence", "k:\n  - a\n  - b\n", []any{"k"}, "2:2"},
		{"block sequence at key indent", "k:\n- a\n- b\n", []any{"k"}, "2:0"},
		{"block sequence item", "k:\n  - a\n  - b\n", []any{"k", 1}, "3:4"},
		{"empty sequence item", "k:\n  - a\n  -\n  - b\n", []any{"k", 1}, "3:3"},
		{"block scalar item", "k:\n- |\n  a\n", []any{"k", 0}, "2:2"},
		{"nested sequence", "k:\n- - a\n  - b\n", []any{"k", 0}, "2:2"},
		{"nested sequence item", "k:\n- - a\n  - b\n", []any{"k", 0, 1}, "3:4"},
		{"mapping in sequence", "k:\n- a: 1\n  b: 2\n", []any{"k", 0}, "2:2"},
		{"value in mapping in sequence", "k:\n- a: 1\n  b: 2\n", []any{"k", 0, "b"}, "3:5"},
		{"nested mapping", "a:\n  b:\n    c: d\n", []any{"a", "b"}, "3:4"},
		{"deep value", "a:\n  b:\n    c: d\n", []any{"a", "b", "c"}, "3:7"},
		{"flow sequence", "k: [a, b]\n", []any{"k"}, "1:3"},
		{"flow sequence item", "k: [a,   b]\n", []any{"k", 1}, "1:9"},
		{"flow mapping", "k: {a: b}\n", []any{"k"}, "1:3"},
		{"flow mapping value", "k: {a: b, c: d}\n", []any{"k", "c"}, "1:13"},
		{"flow over lines", "k: [a,\n  b]\n", []any{"k", 1}, "2:2"},
		{"multi-line plain scalar", "k: a\n  b\n", []any{"k"}, "1:3"},
		// Columns count characters, not bytes.
		{"after a multi-byte key", "clé: v\n", []any{"clé"}, "1:5"},
		{"after multi-byte flow items", "k: [é, ü]\n", []any{"k", 1}, "1:7"},
		{"CRLF line ends", "a: b\r\nc:\r\n  d: e\r\n", []any{"c", "d"}, "3:5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := mustParse(t, tt.yaml)
			if got := pos(at(t, n, tt.path...).Prov()); got != tt.pos {
				t.Errorf("%q %v: at %s, want %s", tt.yaml, tt.path, got, tt.pos)
			}
		})
	}
}

func TestParseScalarsStayStrings(t *testing.T) {
	tests := []struct {
		yaml string
		want string
	}{
		{"k: 1\n", "1"},
		{"k: -12\n", "-12"},
		{"k: 1.50\n", "1.50"},
		{"k: 1e3\n", "1e3"},
		{"k: 0x1F\n", "0x1F"},
		{"k: 0o17\n", "0o17"},
		{"k: 1_000\n", "1_000"},
		{"k: .inf\n", ".inf"},
		{"k: .NaN\n", ".NaN"},
		{"k: true\n", "true"},
		{"k: True\n", "True"},
		{"k: yes\n", "yes"},
		{"k: off\n", "off"},
		{"k: ~\n", "~"},
		{"k: null\n", "null"},
		{"k: Null\n", "Null"},
		{"k:\n", ""},
		{"k: ''\n", ""},
		{"k: \"\"\n", ""},
		{"k: 2001-12-14\n", "2001-12-14"},
		{"k: 12:30:00\n", "12:30:00"},
		{"k: !!str 1\n", "1"},
		{"k: !!int 12\n", "12"},
		{"k: !!bool yes\n", "yes"},
		{"k: !!null\n", ""},
		{"k: !!float 1\n", "1"},
		{"k: !<tag:yaml.org,2002:str> x\n", "x"},
		{"k: '%{prefix}/bin'\n", "%{prefix}/bin"},
		{"k: a # comment\n", "a"},
		{"k: a#b\n", "a#b"},
		{"k: 'it''s'\n", "it's"},
		{"k: \"tab\\there\"\n", "tab\there"},
		{"k: \"\\u00e9\\x41\"\n", "éA"},
	}
	for _, tt := range tests {
		n := mustParse(t, tt.yaml)
		v := at(t, n, "k")
		if !v.IsScalar() || v.Value() != tt.want {
			t.Errorf("%q: got %s %q, want scalar %q", tt.yaml, v.Kind(), v.Value(), tt.want)
		}
	}

	// Inside flow collections as well.
	n := mustParse(t, "k: [1, true, ~, null, '', 0.5]\nm: {a: 1, b: no, c: }\n")
	got, err := at(t, n, "k").AsStringList("k")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1", "true", "~", "null", "", "0.5"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("flow list %q, want %q", got, want)
	}
	for k, want := range map[string]string{"a": "1", "b": "no", "c": ""} {
		if v := at(t, n, "m", k).Value(); v != want {
			t.Errorf("m.%s = %q, want %q", k, v, want)
		}
	}

	// Keys are strings too, whatever they look like.
	n = mustParse(t, "1: a\ntrue: b\n~: c\nnull: d\n1.0: e\n")
	if got, want := strings.Join(n.Keys(), " "), "1 true ~ null 1.0"; got != want {
		t.Errorf("keys %q, want %q", got, want)
	}
}

func TestParseStripsScalars(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"double-quoted spaces", "k: \"  x  \"\n", "x"},
		{"single-quoted spaces", "k: '  y '\n", "y"},
		{"escaped white space", "k: \"\\t\\n z \\n\"\n", "z"},
		{"inner spaces kept", "k: '  a  b  '\n", "a  b"},
		{"literal loses the final newline", "k: |\n  one\n  two\n", "one\ntwo"},
		{"literal keep chomping", "k: |+\n  keep\n\n\nl: x\n", "keep"},
		{"literal strip chomping", "k: |-\n  x\n", "x"},
		{"literal keeps inner blank lines", "k: |\n  a\n\n  b\n", "a\n\nb"},
		{"literal keeps deeper indentation", "k: |\n  a\n    b\n  c\n", "a\n  b\nc"},
		{"literal with an indentation indicator", "k: |4\n      x\n", "x"},
		{"literal leading blank line", "k: |\n\n  x\n", "x"},
		{"literal item", "k:\n- |\n  make\n  make install\n", "make\nmake install"},
		{"folded joins lines", "k: >\n  one\n  two\n", "one two"},
		{"folded keeps paragraph breaks", "k: >\n  one\n  two\n\n  three\n", "one two\nthree"},
		{"multi-line plain scalar", "k: one\n  two\n", "one two"},
		{"multi-line quoted scalar", "k: \"one\n  two \"\n", "one two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := mustParse(t, tt.yaml)
			v := at(t, n, "k")
			if v.IsSequence() {
				v = at(t, v, 0)
			}
			if v.Value() != tt.want {
				t.Errorf("%q: got %q, want %q", tt.yaml, v.Value(), tt.want)
			}
		})
	}

	// Keys are not stripped: BuildStream uses the key as written.
	n := mustParse(t, "\" k \": v\n")
	if got := n.Keys(); len(got) != 1 || got[0] != " k " {
		t.Errorf("keys %q, want [\" k \"]", got)
	}
}

func TestParseEmptyIsAnEmptyMapping(t *testing.T) {
	for _, s := range []string{
		"",
		"\n",
		"\n\n\n",
		"   \n",
		"# just a comment",
		"# a comment\n\n# and another\n",
		"  # an indented comment\n",
	} {
		n := mustParse(t, s)
		if !n.IsMapping() || n.Len() != 0 {
			t.Errorf("%q: got %s with %d items, want an empty mapping", s, n.Kind(), n.Len())
		}
		if p := n.Prov(); p.File != testFile || p.Line != 1 || p.Col != 0 {
			t.Errorf("%q: provenance %v, want line 1 column 0 of the file", s, p)
		}
	}
}

func TestParseKeyOrder(t *testing.T) {
	n := mustParse(t, "zebra: 1\napple: 2\nmango:\n  y: 1\n  b: 2\n  x: 3\nbanana: 4\n")
	if got, want := strings.Join(n.Keys(), " "), "zebra apple mango banana"; got != want {
		t.Errorf("keys %q, want %q", got, want)
	}
	if got, want := strings.Join(at(t, n, "mango").Keys(), " "), "y b x"; got != want {
		t.Errorf("nested keys %q, want %q", got, want)
	}
	// Values are in key order too.
	var vals []string
	for _, v := range n.Items() {
		if v.IsScalar() {
			vals = append(vals, v.Value())
		}
	}
	if got, want := strings.Join(vals, " "), "1 2 4"; got != want {
		t.Errorf("values %q, want %q", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		pos  string // line:col of the error
		msg  string // part of the message
	}{
		// Anchors, aliases and merge keys.
		{"anchor on a scalar", "a: &x 1\n", "1:3", "anchors and aliases"},
		{"anchor and alias", "a: &x 1\nb: *x\n", "1:3", "anchors and aliases"},
		{"anchor on a mapping", "a: &m\n  b: 1\n", "1:3", "anchors and aliases"},
		{"anchor on a sequence", "l: &s [x]\n", "1:3", "anchors and aliases"},
		{"anchor on a key", "&k a: 1\n", "1:0", "anchors and aliases"},
		{"anchor deep down", "a:\n  b:\n  - c: &z d\n", "3:7", "anchors and aliases"},
		{"merge key", "base: &b {x: 1}\nother:\n  <<: *b\n", "1:6", "anchors and aliases"},
		// Tags: only YAML's own.
		{"custom tag on a scalar", "a: !foo x\n", "1:3", `"!foo"`},
		{"custom tag on a mapping", "a: !foo {b: c}\n", "1:3", `"!foo"`},
		{"custom tag on a sequence", "a: !list [x]\n", "1:3", `"!list"`},
		{"custom tag on a key", "!foo k: v\n", "1:0", `"!foo"`},
		{"custom tag in a list", "a:\n- !!str x\n- !bar y\n", "3:2", `"!bar"`},
		{"verbatim custom tag", "a: !<tag:example.com,2024:x> y\n", "1:3", "is not allowed"},
		{"top-level custom tag", "!doc\na: b\n", "1:0", `"!doc"`},
		// Duplicate keys, at any depth and in any style.
		{"duplicate key", "a: 1\nb: 2\na: 3\n", "3:0", "duplicate key 'a'"},
		{"duplicate key, quoted", "a: 1\n'a': 2\n", "2:0", "duplicate key 'a'"},
		{"duplicate nested key", "a:\n  b: 1\n  b: 2\n", "3:2", "duplicate key 'b'"},
		{"duplicate key in flow mapping", "a: {b: 1, b: 2}\n", "1:10", "duplicate key 'b'"},
		{"duplicate key in list item", "l:\n- x: 1\n  x: 2\n", "3:2", "duplicate key 'x'"},
		{"duplicate key in flow list item", "l: [{x: 1, x: 2}]\n", "1:11", "duplicate key 'x'"},
		{"duplicate empty key", "'': 1\n\"\": 2\n", "2:0", "duplicate key ''"},
		{"duplicate with different values", "a: {x: 1}\na: [y]\n", "2:0", "duplicate key 'a'"},
		// Keys must be scalars.
		{"sequence key", "? [a]\n: b\n", "1:2", "keys must be plain strings"},
		{"mapping key", "? {a: b}\n: c\n", "1:2", "keys must be plain strings"},
		// One document only.
		{"two documents", "a: 1\n---\nb: 2\n", "2:0", "more than one YAML document"},
		{"two documents with markers", "---\na: 1\n---\nb: 2\n", "3:0", "more than one YAML document"},
		{"document after an end marker", "a: 1\n...\nb: 2\n", "2:0", "malformed YAML"},
		{"empty second document", "a: 1\n---\n", "2:0", "more than one YAML document"},
		{"documents split by CR", "a: 1\r---\rb: 2\r", "", "more than one YAML document"},
		{"documents split by NEL", "a: 1\u0085---\u0085b: 2\n", "", "more than one YAML document"},
		{"documents split by LS", "a: 1\u2028---\u2028b: 2\n", "", "more than one YAML document"},
		// The top level is a mapping.
		{"top-level list", "- a\n- b\n", "1:0", "of type 'list' instead of expected type 'dict'"},
		{"top-level flow list", "[a, b]\n", "1:0", "of type 'list'"},
		{"top-level scalar", "just text\n", "1:0", "of type 'str' instead of expected type 'dict'"},
		{"top-level quoted scalar", "'a: b'\n", "1:0", "of type 'str'"},
		{"top-level number", "42\n", "1:0", "of type 'str'"},
		{"top-level tilde", "~\n", "1:0", "of type 'str'"},
		{"top-level block scalar", "|\n  text\n", "1:0", "of type 'str'"},
		{"top-level scalar after a marker", "--- text\n", "1:4", "of type 'str'"},
		// Syntax errors carry their line.
		{"unclosed flow sequence", "a: b\nc: [d\n", "", "malformed YAML"},
		{"mapping in a plain value", "a: b: c\n", "1:0", "malformed YAML"},
		{"tab indentation", "a:\n\tb: c\n", "2:0", "malformed YAML"},
		// The parser names the line of the mapping the error is in.
		{"bad indentation", "a:\n    b: 1\n  c: 2\n", "2:0", "malformed YAML"},
		{"unterminated quote", "a: 'x\n", "", "malformed YAML"},
		{"undefined alias", "a: *nothing\n", "", "malformed YAML"},
		{"block scalar less indented", "a: |\n    x\n  y\n", "2:0", "malformed YAML"},
		{"unsupported YAML version", "%YAML 2.0\n---\na: b\n", "", "malformed YAML"},
		{"invalid UTF-8", "a: \xff\n", "", "malformed YAML"},
		{"control character", "a: \x01\n", "", "malformed YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mustFail(t, tt.yaml)
			checkError(t, err, InvalidYAML, tt.pos, tt.msg)
			if err.Prov.File != testFile {
				t.Errorf("error not attributed to the file: %v", err.Prov)
			}
			if !strings.HasPrefix(err.Error(), "test.bst [line ") {
				t.Errorf("error %q does not start with the provenance", err.Error())
			}
		})
	}
}

func TestParseSyntaxErrorKeepsCause(t *testing.T) {
	err := mustFail(t, "a: [b\n")
	if err.Err == nil {
		t.Fatal("a syntax error should wrap the parser's error")
	}
	if strings.Contains(err.Msg, "yaml: ") {
		t.Errorf("message %q repeats the parser's prefix", err.Msg)
	}
}

func TestParseAcceptsCoreTagsOnCollections(t *testing.T) {
	n := mustParse(t, "!!map\na: !!seq [x]\nb: !!map {c: d}\nc: !!set {x}\n")
	if !at(t, n, "a").IsSequence() || at(t, n, "b", "c").Value() != "d" || !at(t, n, "c", "x").IsScalar() {
		t.Errorf("core tags changed the tree:\n%s", Dump(n))
	}
}

func TestParseUnusualKeys(t *testing.T) {
	// "<<" without an alias is an ordinary key, as it is for BuildStream.
	n := mustParse(t, "<<: {a: b}\n")
	if at(t, n, "<<", "a").Value() != "b" {
		t.Errorf("got:\n%s", Dump(n))
	}
	// An empty key.
	n = mustParse(t, "? \n: v\n")
	if got := n.Keys(); len(got) != 1 || got[0] != "" {
		t.Errorf("keys %q, want one empty key", got)
	}
}

func TestParseByteOrderMark(t *testing.T) {
	n := mustParse(t, "\ufeffkind: manual\n")
	if v := at(t, n, "kind"); v.Value() != "manual" || pos(v.Prov()) != "1:6" {
		t.Errorf("kind %q at %s", v.Value(), pos(v.Prov()))
	}
}

func TestParseManyKeys(t *testing.T) {
	// Enough keys for the lookup index; a duplicate far down is still found.
	var b strings.Builder
	for i := range 60 {
		b.WriteString("key" + strings.Repeat("x", i) + ": v\n")
	}
	n := mustParse(t, b.String())
	if n.Len() != 60 || at(t, n, "key"+strings.Repeat("x", 59)).Value() != "v" {
		t.Fatalf("got %d keys", n.Len())
	}
	b.WriteString("keyxxxxx: again\n")
	checkError(t, mustFail(t, b.String()), InvalidYAML, "61:0", "duplicate key 'keyxxxxx'")
}

func TestParseNilFile(t *testing.T) {
	// Data parsed without a file is synthetic.
	n, err := Parse([]byte("a: b\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.Prov().Valid() || at(t, n, "a").Prov().String() != "[synthetic node]" {
		t.Errorf("provenance %v, want synthetic", at(t, n, "a").Prov())
	}
}
