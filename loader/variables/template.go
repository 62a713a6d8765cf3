package variables

import "strings"

// part is a literal or a reference.
type part struct {
	lit string
	ref string // set for references
}

// parse splits s into literals and `%{name}` references. Text that looks
// like a reference but is not a valid one stays literal, as in BuildStream.
func parse(s string) []part {
	var parts []part
	for {
		i := strings.Index(s, "%{")
		if i < 0 {
			break
		}
		if name, end := reference(s, i); end >= 0 {
			if i > 0 {
				parts = append(parts, part{lit: s[:i]})
			}
			parts = append(parts, part{ref: name})
			s = s[end:]
			continue
		}
		// Not a reference: keep "%{" as text and go on after it.
		parts = append(parts, part{lit: s[:i+2]})
		s = s[i+2:]
	}
	if s != "" {
		parts = append(parts, part{lit: s})
	}
	return parts
}

// reference reads the reference that the "%{" at s[i] opens: the name
// and the index after the closing brace, or end -1 when the text is not a
// valid reference.
func reference(s string, i int) (name string, end int) {
	j := i + 2
	if j < len(s) && isAlpha(s[j]) {
		k := j + 1
		for k < len(s) && (isAlpha(s[k]) || isDigit(s[k]) || s[k] == '_' || s[k] == '-') {
			k++
		}
		if k < len(s) && s[k] == '}' {
			return s[j:k], k + 1
		}
	}
	return "", -1
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// HasReference reports whether s refers to any variable.
func HasReference(s string) bool {
	if !strings.Contains(s, "%{") {
		return false
	}
	for _, p := range parse(s) {
		if p.ref != "" {
			return true
		}
	}
	return false
}

// References lists the variables s refers to, in order.
func References(s string) []string {
	var out []string
	if !strings.Contains(s, "%{") {
		return nil
	}
	for _, p := range parse(s) {
		if p.ref != "" {
			out = append(out, p.ref)
		}
	}
	return out
}
