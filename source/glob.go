package source

import (
	"regexp"
	"sort"
	"strings"
)

// globRegexp translates one of BuildStream's path globs (utils._glob2re)
// into a regular expression: "**" matches anything, "*" anything but "/",
// "?" one character but "/", and [...] classes as in fnmatch.
func globRegexp(pat string) string {
	var b strings.Builder
	for i := 0; i < len(pat); {
		c := pat[i]
		i++
		switch c {
		case '*':
			if i < len(pat) && pat[i] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			j := i
			if j < len(pat) && pat[j] == '!' {
				j++
			}
			if j < len(pat) && pat[j] == ']' {
				j++
			}
			for j < len(pat) && pat[j] != ']' {
				j++
			}
			if j >= len(pat) {
				b.WriteString(`\[`)
				continue
			}
			class := strings.ReplaceAll(pat[i:j], `\`, `\\`)
			i = j + 1
			switch class[0] {
			case '!':
				class = "^" + class[1:]
			case '^':
				class = `\` + class
			}
			b.WriteString("[" + class + "]")
		default:
			if c >= 0x80 {
				b.WriteByte(c)
			} else {
				b.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
	}
	return b.String()
}

// globFirst returns the first, in sorted order, of paths matching
// pattern as BuildStream's utils.glob matches them: both with a leading
// "/", the pattern anchored at both ends.
func globFirst(paths []string, pattern string) (string, bool, error) {
	if !strings.HasPrefix(pattern, "/") {
		pattern = "/" + pattern
	}
	re, err := regexp.Compile(`^(?s:` + globRegexp(pattern) + `)\z`)
	if err != nil {
		return "", false, err
	}
	var matches []string
	for _, p := range paths {
		try := p
		if !strings.HasPrefix(try, "/") {
			try = "/" + try
		}
		if re.MatchString(try) {
			matches = append(matches, p)
		}
	}
	if len(matches) == 0 {
		return "", false, nil
	}
	sort.Strings(matches)
	return matches[0], true, nil
}
