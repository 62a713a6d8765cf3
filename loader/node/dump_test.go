package node

import (
	"strings"
	"testing"
)

func TestDump(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"empty", "", "{}\n"},
		{"scalars", "a: b\nc: d e\n", "a: b\nc: d e\n"},
		{"nested", "a:\n  b: [x, y]\n  c: {}\n  d: []\n", "a:\n  b:\n    - x\n    - y\n  c: {}\n  d: []\n"},
		{"strings that are not strings to YAML are quoted", "a: '1'\nb: 'true'\nc: ''\nd: '~'\n", "a: \"1\"\nb: \"true\"\nc: \"\"\nd: \"~\"\n"},
		{"order is kept", "z: 1\na: 2\n", "z: \"1\"\na: \"2\"\n"},
		{"multi-line text", "a: |\n  x\n  y\n", "a: |-\n  x\n  y\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Dump(mustParse(t, tt.yaml)); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestDumpRoundTrip checks that strings YAML would read as something else,
// or not at all, come back as the same strings, as keys and as values.
func TestDumpRoundTrip(t *testing.T) {
	values := []string{
		"", "1", "-1", "0x10", "1.5", ".inf", "true", "True", "yes", "no", "off", "~", "null", "NULL",
		"2001-01-01", "12:30", "- x", "-", "a: b", "a:", ":", "? x", "?", "#x", "x #y", "x#y",
		"[a]", "{a: b}", "]", "}", ",", "*x", "&x", "!x", "!!str", "%x", "@x", "`x", "|", ">", "|-",
		"'q'", "\"q\"", "it's", "back\\slash", "multi\nline", "two\n\nparagraphs", "tab\tinside",
		"é", "日本", "---", "...", "--- x", "<<", "=", "(>)", "(?)", "%{prefix}/bin",
		"x\u0085y", "x\u2028y", "\x7fx", "bell\x07", strings.Repeat("long ", 300) + "end",
	}
	m := NewMapping(Synthetic)
	for i, v := range values {
		m.Set(v, NewScalar(Synthetic, v))
		m.Set("seq"+string(rune('a'+i%26))+v, NewStringList(Synthetic, []string{v, v}))
	}
	inner := m.Clone()
	m.Set("nested", inner)
	m.Set("empty-map", NewMapping(Synthetic))
	m.Set("empty-seq", NewSequence(Synthetic))
	out := Dump(m)
	back, err := Parse([]byte(out), testFile)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if d := sameValues(m, back, "$"); d != "" {
		t.Errorf("round trip differs at %s:\n%s", d, out)
	}
}

func TestDumpRoundTripOfTestdata(t *testing.T) {
	n := mustParse(t, readTestdata(t, "provenance.bst"))
	out := Dump(n)
	back := mustParse(t, out)
	if d := sameValues(n, back, "$"); d != "" {
		t.Errorf("round trip differs at %s:\n%s", d, out)
	}
}
