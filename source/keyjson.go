package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Key returns BuildStream's key of a unique key value: the hex SHA-256 of
// its canonical JSON (Source._generate_key, _cachekey.generate_key). It
// names the source's entry in the source cache, "<kind>/<key>".
func Key(uniqueKey any) string {
	sum := sha256.Sum256(CanonicalJSON(uniqueKey))
	return hex.EncodeToString(sum[:])
}

// CanonicalJSON encodes v as BuildStream does before hashing a key:
// ujson.dumps(v, sort_keys=True, escape_forward_slashes=False). That is
// compact JSON with mapping keys sorted, every character outside ASCII
// escaped as \uXXXX (lower-case hex, surrogate pairs above the BMP), and
// "/" written as it is. It agrees with package element's encoder of cache
// key dictionaries (a test checks), which this package cannot import.
//
// v is built of nil, bool, int, int64, string, []string, []any,
// map[string]any and map[string]string; anything else is a programming
// error and panics.
func CanonicalJSON(v any) []byte { return appendJSON(nil, v) }

func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if x {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case string:
		return appendString(b, x)
	case []string:
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']')
	case []any:
		b = append(b, '[')
		for i, it := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, it)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendJSON(b, x[k])
		}
		return append(b, '}')
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return appendJSON(b, m)
	}
	panic(fmt.Sprintf("source: cannot encode %T in a unique key", v))
}

const hexDigits = "0123456789abcdef"

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				b = append(b, '\\', '"')
			case c == '\\':
				b = append(b, '\\', '\\')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			b = appendEscapedRune(b, r1)
			b = appendEscapedRune(b, r2)
		} else {
			b = appendEscapedRune(b, r)
		}
	}
	return append(b, '"')
}

func appendEscapedRune(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}
