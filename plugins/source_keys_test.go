package plugins

import (
	"testing"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/source"
)

// Package source hashes source keys with its own encoder, since it cannot
// import element's; both must write the same bytes for the same value.
func TestSourceAndElementJSONAgree(t *testing.T) {
	values := []any{
		nil, true, false, 0, -12, int64(1 << 40), "", "plain", "with \"quotes\" and \\ and /",
		"control \x00\x01\x1f\x7f tab\t nl\n cr\r bs\b ff\f", "é ü ß", "emoji 😀 𝄞", "\u2028\u2029\ufeff", "\xff invalid",
		[]string{"a", "b"}, []any{"x", 1, true, nil, []any{}}, map[string]any{},
		map[string]any{"b": 1, "a": []any{"z"}, "é": "x", "A": nil},
		map[string]string{"k2": "v", "k1": "w"},
		[]any{"https://example.com/git/repo.git", "6ac68af3e80b7b17c23a3c65233043550a7fa685",
			map[string]any{"tags": map[string]any{"v1": []any{"c", true}}}, map[string]any{"plugins/foo": "upstream:foo.git", "x": nil}},
	}
	for _, v := range values {
		if got, want := string(source.CanonicalJSON(v)), string(element.CanonicalJSON(v)); got != want {
			t.Errorf("%#v:\n source  %s\n element %s", v, got, want)
		}
	}
}

// Unique keys of the kinds, against the shapes of BuildStream's
// get_unique_key (the cachekey test project checks the hashes end to end).
func TestSourceUniqueKeys(t *testing.T) {
	ctx := testContext{dir: t.TempDir(), aliases: map[string]string{"upstream": "https://up.stream.org/"}}
	for _, c := range []struct {
		kind source.Kind
		yaml string
		want string
	}{
		{zipKind{}, "kind: zip\nurl: upstream:a.zip\nref: abc\n", `["upstream:a.zip","abc","*"]`},
		{zipKind{}, "kind: zip\nurl: upstream:a.zip\nref: abc\nbase-dir: ''\nversion: '1.2'\n", `["upstream:a.zip","abc","1.2",""]`},
		{gitKind{}, "kind: git\nurl: upstream:r.git\nref: v1.0-3-g0123456789012345678901234567890123456789\n", `["upstream:r.git","0123456789012345678901234567890123456789"]`},
		{gitKind{}, "kind: git\nurl: upstream:r.git\ntrack: main\nref: aaa\ncheckout-submodules: false\n" +
			"submodules:\n  a:\n    checkout: true\n  b:\n    url: upstream:b.git\n" +
			"tags:\n- tag: v1\n  commit: c1\n  annotated: true\nversion-guess-pattern: 'x(\\d+)'\n",
			`["upstream:r.git","aaa",{"tags":{"v1":["c1",true]}},{"checkout_submodules":false},{"a":null,"b":"upstream:b.git"},{"submodule_checkout_overrides":{"a":true}},"x(\\d+)"]`},
	} {
		s := configure(t, c.kind, ctx, c.yaml)
		if got := string(source.CanonicalJSON(s.UniqueKey())); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.yaml, got, c.want)
		}
	}
	if _, err := configureErr(gitKind{}, ctx, "kind: git\nurl: upstream:r.git\n"); err == nil || err.Error() == "" {
		t.Error("a git source without ref or track configured")
	}
	if _, err := configureErr(gitKind{}, ctx, "kind: git\nurl: upstream:r.git\nref: a\nref-format: weird\n"); err == nil {
		t.Error("invalid ref-format accepted")
	}
}
