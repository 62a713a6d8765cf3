package element

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

func TestCanonicalJSON(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{map[string]any{"b": 1, "a": []any{true, false, nil}, "c": "x/y"}, `{"a":[true,false,null],"b":1,"c":"x/y"}`},
		{"é😀<&>", `"\u00e9\ud83d\ude00<&>"`},
		{"\x01\n\t\"\\", `"\u0001\n\t\"\\"`},
		{[]string{}, `[]`},
		{map[string]any{}, `{}`},
		{map[string]any{"Z": 1, "a": 2, "_": 3}, `{"Z":1,"_":3,"a":2}`},
	} {
		if got := string(canonicalJSON(c.v)); got != c.want {
			t.Errorf("canonicalJSON(%#v) = %s, want %s", c.v, got, c.want)
		}
	}
}

// A KeyDict is written as the map with the same entries.
func TestKeyDictJSON(t *testing.T) {
	d := KeyDict{{"z", []string{"a"}}, {"b", 1}, {"a/b", KeyDict{{"y", true}, {"x", nil}}}, {"é", "\n"}}
	m := map[string]any{"z": []string{"a"}, "b": 1, "a/b": map[string]any{"y": true, "x": nil}, "é": "\n"}
	if got, want := string(canonicalJSON(d)), string(canonicalJSON(m)); got != want {
		t.Errorf("canonicalJSON(KeyDict) = %s, want %s", got, want)
	}
	if got := string(canonicalJSON(KeyDict{})); got != "{}" {
		t.Errorf("empty KeyDict: %s", got)
	}
}

// plainWord must agree with jsonSafe on every byte in every position.
func TestPlainWord(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			want := c < utf8.RuneSelf && jsonSafe[c]
			if got := plainWord(string(w)); got != want {
				t.Errorf("plainWord(%q) = %v, want %v", w, got, want)
			}
		}
	}
}

// Words of bytes around the boundaries, where borrows cross bytes.
func TestPlainWordMixed(t *testing.T) {
	edges := []byte{0, 1, 0x1f, 0x20, 0x21, '"', 0x23, 0x5b, '\\', 0x5d, 0x7f, 0x80, 0xff, 'a'}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var w [8]byte
		want := true
		for k := range w {
			w[k] = edges[r.IntN(len(edges))]
			want = want && w[k] < utf8.RuneSelf && jsonSafe[w[k]]
		}
		if got := plainWord(string(w[:])); got != want {
			t.Fatalf("plainWord(%q) = %v, want %v", w, got, want)
		}
	}
}
