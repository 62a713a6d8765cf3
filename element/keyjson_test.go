package element

import "testing"

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
