package element

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/bstgo/bst/loader/node"
)

// canonicalJSON encodes v the way BuildStream hashes cache key
// dictionaries: ujson.dumps(v, sort_keys=True, escape_forward_slashes=False)
// — compact, mapping keys sorted, ASCII only (other characters escaped as
// \uXXXX with lower-case hex, surrogate pairs above the BMP), and '/' left
// alone.
//
// v is made of map[string]any, KeyDict, []any, []string, string, int, bool
// and nil.
func canonicalJSON(v any) []byte {
	return appendJSON(nil, v)
}

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
		return appendJSONString(b, x)
	case []string:
		return appendJSONStrings(b, x)
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
		var small [16]string
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSON(b, x[k])
		}
		return append(b, '}')
	case KeyDict:
		var small [16]int
		order := small[:0]
		for i := range x {
			order = append(order, i)
		}
		slices.SortFunc(order, func(i, j int) int { return strings.Compare(x[i].Name, x[j].Name) })
		b = append(b, '{')
		for k, i := range order {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, x[i].Name)
			b = append(b, ':')
			b = appendJSON(b, x[i].Value)
		}
		return append(b, '}')
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return appendJSON(b, m)
	}
	// Only the types above are ever put in a key; anything else is a bug
	// in bst, made visible in the key's preimage rather than hidden.
	return appendJSONString(b, fmt.Sprintf("!unsupported %T", v))
}

const hexDigits = "0123456789abcdef"

// jsonSafe[c] is set for the ASCII bytes that are written as they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func appendJSONStrings(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is safe and not written yet
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs escaping: most of a
		// preimage is plain text (command lines, names, paths).
		for i+8 <= len(s) && plainWord(s[i:i+8]) {
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf && jsonSafe[c] {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		start = i
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			b = appendU(b, r1)
			b = appendU(b, r2)
		} else {
			b = appendU(b, r)
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plainWord reports whether none of w's eight bytes needs escaping: none
// is below 0x20, '"', '\\' or beyond ASCII (the bit tricks are those of
// "Bit Twiddling Hacks": a byte of x is zero when x-0x01 borrows into a
// high bit that x does not have).
func plainWord(w string) bool {
	x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	low := (x - 0x20*ones) &^ x
	quote := x ^ '"'*ones
	backslash := x ^ '\\'*ones
	return (low|(quote-ones)&^quote|(backslash-ones)&^backslash|x)&highs == 0
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// appendNodeJSON appends a node tree as canonicalJSON writes the same data
// as plain values: scalars as strings, sequences as lists, mappings with
// their keys sorted. A nil node is an empty mapping.
func appendNodeJSON(b []byte, n *node.Node) []byte {
	if n == nil {
		return append(b, "{}"...)
	}
	switch n.Kind() {
	case node.ScalarKind:
		return appendJSONString(b, n.Value())
	case node.SequenceKind:
		b = append(b, '[')
		for i, it := range n.Items() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendNodeJSON(b, it)
		}
		return append(b, ']')
	}
	keys, items := n.Keys(), n.Items()
	var small [16]int
	order := small[:0]
	for i := range keys {
		order = append(order, i)
	}
	slices.SortFunc(order, func(i, j int) int { return strings.Compare(keys[i], keys[j]) })
	b = append(b, '{')
	for k, i := range order {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, keys[i])
		b = append(b, ':')
		b = appendNodeJSON(b, items[i])
	}
	return append(b, '}')
}
