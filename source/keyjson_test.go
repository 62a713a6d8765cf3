package source

import "testing"

func TestCanonicalJSON(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{[]any{"https://example.com/a.tar", "abc", "*"}, `["https://example.com/a.tar","abc","*"]`},
		{map[string]any{"b": 1, "a": true, "c": nil}, `{"a":true,"b":1,"c":null}`},
		{[]any{"x", map[string]any{"tags": map[string]any{"v1": []any{"c1", false}}}}, `["x",{"tags":{"v1":["c1",false]}}]`},
		{"é\u2028\U0001F600\"\\\n\x01/", `"\u00e9\u2028\ud83d\ude00\"\\\n\u0001/"`},
		{[]string{"a", "b"}, `["a","b"]`},
		{map[string]string{"z": "1", "y": "2"}, `{"y":"2","z":"1"}`},
		{int64(-3), `-3`},
	} {
		if got := string(CanonicalJSON(c.v)); got != c.want {
			t.Errorf("CanonicalJSON(%#v) = %s, want %s", c.v, got, c.want)
		}
	}
}

// The tar source of BuildStream's tests/cachekey worked example: its
// unique key, hashed, names the source in the source cache.
func TestKeyOfTarSource(t *testing.T) {
	k := []any{"https://example.com/releases/1.4/foo-1.4.5.tar.gz", "6c9f6f68a131ec6381da82f2bff978083ed7f4f7991d931bfa767b7965ebc94b", "*"}
	// The SHA-256 of its canonical JSON, as Python computes it:
	// hashlib.sha256(json.dumps(k, separators=(",", ":"), sort_keys=True)).
	const want = "aa90eb43b63f84d520da3232bce5f5619ebcf1cc6c1a12006ceb3ecc8215b632"
	if got := Key(k); got != want {
		t.Fatalf("Key = %s, want %s", got, want)
	}
	if got := SourceRef("tar", k); got != "tar/"+want {
		t.Fatalf("SourceRef = %s", got)
	}
}
