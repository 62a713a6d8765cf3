package element

// CanonicalJSON is the encoder of cache key dictionaries, for package
// source's test that its own encoder (which it cannot import from here)
// agrees with it.
func CanonicalJSON(v any) []byte { return canonicalJSON(v) }

// AppendKeyJSON appends v as it is written in a cache key's preimage: the
// encoding of UniqueKey values.
func AppendKeyJSON(b []byte, v any) []byte { return appendJSON(b, v) }

// AppendKeyStrings appends a list of strings as a key's preimage writes it.
func AppendKeyStrings(b []byte, list []string) []byte { return appendJSONStrings(b, list) }

// AppendKeyString appends a string as a key's preimage writes it.
func AppendKeyString(b []byte, s string) []byte { return appendJSONString(b, s) }
