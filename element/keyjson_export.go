package element

// CanonicalJSON is the encoder of cache key dictionaries, for package
// source's test that its own encoder (which it cannot import from here)
// agrees with it.
func CanonicalJSON(v any) []byte { return canonicalJSON(v) }
