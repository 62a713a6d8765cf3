package node

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"unsafe"
)

func TestParseBool(t *testing.T) {
	tests := []struct {
		in     string
		want   bool
		wantOK bool
	}{
		{"True", true, true},
		{"true", true, true},
		{"1", true, true},
		{"False", false, true},
		{"false", false, true},
		{"0", false, true},
		// YAML 1.1 booleans and other spellings are not booleans here.
		{"TRUE", false, false},
		{"FALSE", false, false},
		{"yes", false, false},
		{"no", false, false},
		{"on", false, false},
		{"off", false, false},
		{"y", false, false},
		{"", false, false},
		{"~", false, false},
		{" true", false, false},
		{"01", false, false},
		{"2", false, false},
	}
	for _, tt := range tests {
		got, ok := ParseBool(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseBool(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestAsBool(t *testing.T) {
	n := mustParse(t, "a: true\nb: 0\nc: yes\nd: [x]\ne: {f: g}\nf:\n")
	for key, want := range map[string]bool{"a": true, "b": false} {
		got, err := at(t, n, key).AsBool(key)
		if err != nil || got != want {
			t.Errorf("%s: AsBool = %v, %v; want %v", key, got, err, want)
		}
	}
	for key, p := range map[string]string{"c": "3:3", "d": "4:3", "e": "5:3", "f": "6:2"} {
		_, err := at(t, n, key).AsBool(key)
		checkError(t, err, InvalidData, p, "value of '"+key+"' is not of the expected type 'boolean'")
	}

	// GetBool: the default when absent, an error when malformed.
	if b, err := n.GetBool("missing", true); err != nil || !b {
		t.Errorf("GetBool(missing, true) = %v, %v", b, err)
	}
	if b, err := n.GetBool("a", false); err != nil || !b {
		t.Errorf("GetBool(a, false) = %v, %v", b, err)
	}
	_, err := n.GetBool("c", false)
	checkError(t, err, InvalidData, "3:3", "'c'")
}

func TestAsInt(t *testing.T) {
	tests := []struct {
		in     string
		want   int
		wantOK bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{"-7", -7, true},
		{"+7", 7, true},
		{"007", 7, true},
		{"1_000", 1000, true},
		{"-1_2_3", -123, true},
		{" 12 ", 12, true}, // only set programmatically: parsed values are stripped
		{"9223372036854775807", 9223372036854775807, true},
		{"", 0, false},
		{"+", 0, false},
		{"-", 0, false},
		{"++1", 0, false},
		{"+-1", 0, false},
		{"--1", 0, false},
		{"1.0", 0, false},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"0o7", 0, false},
		{"_1", 0, false},
		{"1_", 0, false},
		{"1__0", 0, false},
		{"+_1", 0, false},
		{"one", 0, false},
		{"true", 0, false},
		{"9223372036854775808", 0, false},
	}
	for _, tt := range tests {
		got, err := NewScalar(Synthetic, tt.in).AsInt("n")
		if tt.wantOK {
			if err != nil || got != tt.want {
				t.Errorf("AsInt(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("AsInt(%q) = %d, want an error", tt.in, got)
			continue
		}
		checkError(t, err, InvalidData, "", "value of 'n' is not of the expected type 'int'")
	}

	n := mustParse(t, "jobs: 4\nbad: four\nlist: [1]\n")
	if i, err := n.GetInt("jobs", 1); err != nil || i != 4 {
		t.Errorf("GetInt(jobs) = %d, %v", i, err)
	}
	if i, err := n.GetInt("missing", 8); err != nil || i != 8 {
		t.Errorf("GetInt(missing, 8) = %d, %v", i, err)
	}
	_, err := n.GetInt("bad", 0)
	checkError(t, err, InvalidData, "2:5", "'bad'", "'int'")
	_, err = n.GetInt("list", 0)
	checkError(t, err, InvalidData, "3:6", "'list'", "'int'")
}

func TestTypedGetters(t *testing.T) {
	n := mustParse(t, "s: text\nl: [a, b]\nm: {k: v}\nmixed: [a, {b: c}]\n")

	tests := []struct {
		name   string
		get    func() (*Node, error)
		want   Kind   // when it succeeds
		reason Reason // when it fails
		pos    string
		msg    string
	}{
		{"scalar", func() (*Node, error) { return n.GetScalar("s", false) }, ScalarKind, "", "", ""},
		{"sequence", func() (*Node, error) { return n.GetSequence("l", false) }, SequenceKind, "", "", ""},
		{"mapping", func() (*Node, error) { return n.GetMapping("m", false) }, MappingKind, "", "", ""},
		{"node", func() (*Node, error) { return n.GetNode("m", false) }, MappingKind, "", "", ""},
		{"missing allowed", func() (*Node, error) { return n.GetMapping("nope", true) }, 0, "", "", ""},
		{"missing", func() (*Node, error) { return n.GetScalar("nope", false) }, 0, InvalidData, "1:0", "dictionary did not contain expected key 'nope'"},
		{"missing node", func() (*Node, error) { return n.GetNode("nope", false) }, 0, InvalidData, "1:0", "'nope'"},
		{"scalar wanted", func() (*Node, error) { return n.GetScalar("l", false) }, 0, InvalidData, "2:3", "value of 'l' is not of the expected type 'str'"},
		{"sequence wanted", func() (*Node, error) { return n.GetSequence("m", true) }, 0, InvalidData, "3:3", "value of 'm' is not of the expected type 'list'"},
		{"mapping wanted", func() (*Node, error) { return n.GetMapping("s", false) }, 0, InvalidData, "1:3", "value of 's' is not of the expected type 'dict'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.get()
			if tt.reason != "" {
				if err == nil {
					t.Fatalf("got %v, want an error", v)
				}
				checkError(t, err, tt.reason, tt.pos, tt.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == 0 {
				if v != nil {
					t.Errorf("got %v, want nil", v)
				}
				return
			}
			if v.Kind() != tt.want {
				t.Errorf("kind %s, want %s", v.Kind(), tt.want)
			}
		})
	}

	if s, err := n.GetString("s", "def"); err != nil || s != "text" {
		t.Errorf("GetString(s) = %q, %v", s, err)
	}
	if s, err := n.GetString("nope", "def"); err != nil || s != "def" {
		t.Errorf("GetString(nope) = %q, %v", s, err)
	}
	if _, err := n.GetString("m", ""); err == nil {
		t.Error("GetString of a mapping should fail")
	}
	if s, err := n.RequireString("s"); err != nil || s != "text" {
		t.Errorf("RequireString(s) = %q, %v", s, err)
	}
	_, err := n.RequireString("nope")
	checkError(t, err, InvalidData, "1:0", "'nope'")

	if l, err := n.GetStringList("l"); err != nil || strings.Join(l, ",") != "a,b" {
		t.Errorf("GetStringList(l) = %q, %v", l, err)
	}
	if l, err := n.GetStringList("nope"); err != nil || l != nil {
		t.Errorf("GetStringList(nope) = %q, %v; want nil, nil", l, err)
	}
	_, err = n.GetStringList("s")
	checkError(t, err, InvalidData, "1:3", "'s'", "'list'")
	_, err = n.GetStringList("mixed")
	checkError(t, err, InvalidData, "4:11", "mixed: list item 1")

	// Getters on a nil or non-mapping node find nothing.
	var none *Node
	if none.Get("x") != nil || none.Has("x") || none.IsMapping() || none.IsScalar() || none.IsSequence() {
		t.Error("a nil node should have nothing")
	}
	if at(t, n, "s").Get("x") != nil {
		t.Error("a scalar has no keys")
	}
}

func TestValidateKeys(t *testing.T) {
	n := mustParse(t, "kind: manual\nsources: []\nvaraibles:\n  x: y\n")
	if err := n.ValidateKeys("kind", "sources", "varaibles"); err != nil {
		t.Errorf("all keys allowed: %v", err)
	}
	// The error points at the value of the first unexpected key.
	err := n.ValidateKeys("kind", "sources", "variables")
	checkError(t, err, InvalidData, "4:2", "unexpected key: varaibles")
	if !strings.HasPrefix(err.Error(), "test.bst [line 4 column 2]: ") {
		t.Errorf("error %q should start with the provenance", err)
	}
	err = n.ValidateKeys()
	checkError(t, err, InvalidData, "1:6", "unexpected key: kind")

	// An empty value is located just after its colon.
	n = mustParse(t, "a: 1\ntypo:\n")
	checkError(t, n.ValidateKeys("a"), InvalidData, "2:5", "unexpected key: typo")

	if err := mustParse(t, "").ValidateKeys("anything"); err != nil {
		t.Errorf("an empty mapping has no unexpected key: %v", err)
	}
}

func TestKeyProv(t *testing.T) {
	n := mustParse(t, "\na: 1\nb:\n  c: d\n")
	if got := pos(n.KeyProv("a")); got != "2:3" {
		t.Errorf("KeyProv(a) = %s", got)
	}
	if got := pos(n.KeyProv("b")); got != "4:2" {
		t.Errorf("KeyProv(b) = %s", got)
	}
	if got := pos(n.KeyProv("missing")); got != "2:0" {
		t.Errorf("KeyProv(missing) = %s, want the mapping's 2:0", got)
	}
}

func TestMappingSetDeleteOrder(t *testing.T) {
	for _, size := range []int{3, indexThreshold - 1, indexThreshold, 3 * indexThreshold} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			m := NewMapping(Synthetic)
			var want []string
			for i := range size {
				k := fmt.Sprintf("k%02d", i)
				m.Set(k, NewScalar(Synthetic, k))
				want = append(want, k)
			}
			// Make sure a lookup index exists for large mappings.
			if m.Get("absent") != nil || m.Has("absent") {
				t.Fatal("found an absent key")
			}
			// Overwriting keeps the position.
			m.Set("k01", NewScalar(Synthetic, "new"))
			// New keys go last.
			m.Set("added", NewScalar(Synthetic, "added"))
			want = append(want, "added")
			// Deleting keeps the others in order.
			m.Delete("k00")
			m.Delete("absent")
			want = want[1:]
			if got := strings.Join(m.Keys(), " "); got != strings.Join(want, " ") {
				t.Fatalf("keys %q\nwant %q", got, want)
			}
			if m.Len() != len(want) || len(m.Items()) != len(want) {
				t.Fatalf("Len %d, want %d", m.Len(), len(want))
			}
			for i, k := range m.Keys() {
				v := m.Get(k)
				if v == nil || v != m.Items()[i] {
					t.Fatalf("Get(%q) does not return item %d", k, i)
				}
			}
			if m.Get("k01").Value() != "new" || m.Get("k00") != nil || m.Get("added").Value() != "added" {
				t.Error("wrong values after Set and Delete")
			}
			// Deleting and adding again, with the index in place.
			m.Delete("k02")
			m.Set("k02", NewScalar(Synthetic, "back"))
			if ks := m.Keys(); ks[len(ks)-1] != "k02" || m.Get("k02").Value() != "back" {
				t.Errorf("a deleted then re-added key should go last: %q", ks)
			}
			if d := wellFormed(m, "$"); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestCloneIsDeep(t *testing.T) {
	n := mustParse(t, "a: {b: c}\nl: [x, {y: z}]\ns: v\n")
	c := n.Clone()
	if d := sameTree(n, c, "$"); d != "" {
		t.Fatalf("clone differs: %s", d)
	}
	at(t, c, "a").Set("b", NewScalar(Synthetic, "changed"))
	at(t, c, "l").Append(NewScalar(Synthetic, "more"))
	at(t, c, "l", 1).Set("y", NewScalar(Synthetic, "changed"))
	at(t, c, "s").SetValue("changed")
	c.Delete("a")
	if Dump(n) != "a:\n  b: c\nl:\n  - x\n  - y: z\ns: v\n" {
		t.Errorf("changing the clone changed the original:\n%s", Dump(n))
	}
	var none *Node
	if none.Clone() != nil {
		t.Error("the clone of nil should be nil")
	}
}

func TestConstructors(t *testing.T) {
	p := Provenance{File: testFile, Line: 3, Col: 4}
	l := NewStringList(p, []string{"a", "b"})
	if got, err := l.AsStringList("l"); err != nil || strings.Join(got, ",") != "a,b" {
		t.Errorf("NewStringList: %q, %v", got, err)
	}
	if l.Prov() != p || at(t, l, 1).Prov() != p {
		t.Error("NewStringList should give every node the provenance")
	}
	s := NewSequence(Synthetic)
	s.Append(NewScalar(p, "x"))
	s.SetItems(append(s.Items(), NewScalar(p, "y")))
	if s.Len() != 2 || at(t, s, 1).Value() != "y" {
		t.Errorf("sequence: %d items", s.Len())
	}
	s.SetProv(p)
	if s.Prov() != p {
		t.Error("SetProv")
	}
	for k, want := range map[Kind]string{ScalarKind: "scalar", SequenceKind: "sequence", MappingKind: "mapping", 0: "invalid"} {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), want)
		}
	}
}

func TestProvenanceString(t *testing.T) {
	f := &File{Name: "base.bst:elements/gcc.bst"}
	tests := []struct {
		p    Provenance
		want string
	}{
		{Provenance{File: f, Line: 12, Col: 0}, "base.bst:elements/gcc.bst [line 12 column 0]"},
		{Provenance{File: testFile, Line: 1, Col: 7}, "test.bst [line 1 column 7]"},
		{Synthetic, "[synthetic node]"},
		{Provenance{Line: 3, Col: 3}, "[synthetic node]"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%#v: %q, want %q", tt.p, got, tt.want)
		}
		if tt.p.Valid() != (tt.p.File != nil) {
			t.Errorf("%#v: Valid() = %v", tt.p, tt.p.Valid())
		}
	}
}

func TestError(t *testing.T) {
	p := Provenance{File: testFile, Line: 2, Col: 4}
	e := Errorf(p, CircularDependency, "circular dependency on %s", "a.bst")
	if got, want := e.Error(), "test.bst [line 2 column 4]: circular dependency on a.bst"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e.Detail = "a.bst -> b.bst -> a.bst"
	if got, want := e.Error(), "test.bst [line 2 column 4]: circular dependency on a.bst\n\na.bst -> b.bst -> a.bst"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e = Errorf(Synthetic, MissingFile, "could not find %s", "x.bst")
	if got := e.Error(); got != "could not find x.bst" {
		t.Errorf("an error without provenance: %q", got)
	}

	e.Err = fs.ErrNotExist
	wrapped := fmt.Errorf("loading: %w", e)
	if !errors.Is(wrapped, fs.ErrNotExist) {
		t.Error("the cause should be reachable through Unwrap")
	}
	if ReasonOf(wrapped) != MissingFile {
		t.Errorf("ReasonOf = %q", ReasonOf(wrapped))
	}
	if ReasonOf(errors.New("plain")) != "" || ReasonOf(nil) != "" {
		t.Error("ReasonOf of a foreign error should be empty")
	}
}

// CloneDetached copies a tree, strings included, and keeps large
// mappings' lookups working.
func TestCloneDetached(t *testing.T) {
	var b strings.Builder
	b.WriteString("list: [a, b]\nm:\n  k: v\n  e: ''\n")
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&b, "key%d: value%d\n", i, i)
	}
	n := mustParse(t, b.String())
	c := n.CloneDetached()
	if Dump(c) != Dump(n) {
		t.Fatalf("CloneDetached gave\n%s\nwant\n%s", Dump(c), Dump(n))
	}
	if c.Get("key29").Value() != "value29" || c.Get("m").Get("k").Value() != "v" || c.Get("nope") != nil {
		t.Error("lookups in the copy fail")
	}
	if unsafe.StringData(c.Get("key3").Value()) == unsafe.StringData(n.Get("key3").Value()) {
		t.Error("the copy shares its strings with the original")
	}
	c.Get("m").Set("k", NewScalar(Synthetic, "w"))
	if n.Get("m").Get("k").Value() != "v" {
		t.Error("changing the copy changed the original")
	}
	var p Parser
	tmp := p.CloneTemporary(n)
	if Dump(tmp) != Dump(n) {
		t.Errorf("CloneTemporary gave\n%s", Dump(tmp))
	}
}
