package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readTestdata returns the text of a file under testdata.
func readTestdata(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// testFile is the file every test document is attributed to.
var testFile = &File{Name: "test.bst", Path: "/project/test.bst"}

// mustParse parses s with Parse and, separately, with the general parser
// alone, and fails t unless both succeed with the same tree, provenance
// included. Checking both keeps the fast path honest on every test input.
func mustParse(t testing.TB, s string) *Node {
	t.Helper()
	n, err := Parse([]byte(s), testFile)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	g, err := parseGeneral([]byte(s), testFile)
	if err != nil {
		t.Fatalf("parseGeneral(%q): %v", s, err)
	}
	if d := sameTree(n, g, "$"); d != "" {
		t.Fatalf("Parse(%q): fast and general parsers differ at %s", s, d)
	}
	return n
}

// mustFail parses s, which must fail with an *Error, and returns it.
// The general parser must refuse s too.
func mustFail(t testing.TB, s string) *Error {
	t.Helper()
	n, err := Parse([]byte(s), testFile)
	if err == nil {
		t.Fatalf("Parse(%q) succeeded:\n%s", s, Dump(n))
	}
	if _, gerr := parseGeneral([]byte(s), testFile); gerr == nil {
		t.Fatalf("Parse(%q) failed (%v) but the general parser accepts it", s, err)
	}
	var le *Error
	if !errors.As(err, &le) {
		t.Fatalf("Parse(%q): error %T is not an *Error: %v", s, err, err)
	}
	return le
}

// at walks a tree along keys (strings) and indices (ints).
func at(t testing.TB, n *Node, path ...any) *Node {
	t.Helper()
	for i, p := range path {
		var next *Node
		switch p := p.(type) {
		case string:
			if !n.IsMapping() {
				t.Fatalf("at %v: not a mapping but a %s", path[:i], n.Kind())
			}
			next = n.Get(p)
		case int:
			if !n.IsSequence() {
				t.Fatalf("at %v: not a sequence but a %s", path[:i], n.Kind())
			}
			if p < len(n.Items()) {
				next = n.Items()[p]
			}
		default:
			t.Fatalf("bad path element %#v", p)
		}
		if next == nil {
			t.Fatalf("no %v in %v", p, path[:i])
		}
		n = next
	}
	return n
}

// sameValues describes the first difference between the contents of two
// trees, ignoring provenance, or returns "".
func sameValues(a, b *Node, path string) string {
	if a.kind != b.kind {
		return fmt.Sprintf("%s: kind %s vs %s", path, a.kind, b.kind)
	}
	if a.value != b.value {
		return fmt.Sprintf("%s: value %q vs %q", path, a.value, b.value)
	}
	if len(a.items) != len(b.items) || len(a.keys) != len(b.keys) {
		return fmt.Sprintf("%s: %d items vs %d", path, len(a.items), len(b.items))
	}
	for i := range a.items {
		sub := fmt.Sprintf("%s[%d]", path, i)
		if a.kind == MappingKind {
			if a.keys[i] != b.keys[i] {
				return fmt.Sprintf("%s: key %d is %q vs %q", path, i, a.keys[i], b.keys[i])
			}
			sub = path + "." + a.keys[i]
		}
		if d := sameValues(a.items[i], b.items[i], sub); d != "" {
			return d
		}
	}
	return ""
}

// wellFormed checks the invariants of a tree: kinds are valid, mappings
// have as many keys as values and no duplicate key, and only scalars hold
// a value.
func wellFormed(n *Node, path string) string {
	switch n.kind {
	case ScalarKind:
		if n.items != nil || n.keys != nil {
			return path + ": a scalar with children"
		}
	case SequenceKind:
		if n.keys != nil || n.value != "" {
			return path + ": a sequence with keys or a value"
		}
	case MappingKind:
		if len(n.keys) != len(n.items) || n.value != "" {
			return fmt.Sprintf("%s: a mapping with %d keys, %d values and value %q", path, len(n.keys), len(n.items), n.value)
		}
		seen := make(map[string]bool, len(n.keys))
		for _, k := range n.keys {
			if seen[k] {
				return fmt.Sprintf("%s: duplicate key %q", path, k)
			}
			seen[k] = true
		}
	default:
		return fmt.Sprintf("%s: invalid kind %d", path, n.kind)
	}
	for i, it := range n.items {
		if it == nil {
			return fmt.Sprintf("%s[%d]: nil", path, i)
		}
		if d := wellFormed(it, fmt.Sprintf("%s[%d]", path, i)); d != "" {
			return d
		}
	}
	return ""
}

// pos renders a provenance as "line:col" for compact comparisons.
func pos(p Provenance) string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// checkError fails t unless err is an *Error with the given reason and,
// when wantPos is not empty, the given "line:col".
func checkError(t testing.TB, err error, reason Reason, wantPos string, msgParts ...string) {
	t.Helper()
	var le *Error
	if !errors.As(err, &le) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if le.Reason != reason {
		t.Errorf("reason %q, want %q (error: %v)", le.Reason, reason, err)
	}
	if wantPos != "" {
		if !le.Prov.Valid() {
			t.Errorf("error has no provenance, want %s (error: %v)", wantPos, err)
		} else if got := pos(le.Prov); got != wantPos {
			t.Errorf("error at %s, want %s (error: %v)", got, wantPos, err)
		}
	}
	for _, m := range msgParts {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err.Error(), m)
		}
	}
}
