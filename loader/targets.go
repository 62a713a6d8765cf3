package loader

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/bstgo/bst/loader/node"
)

// IsGlob reports whether a target is a pattern rather than a name.
func IsGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

var globCache sync.Map // pattern -> *regexp.Regexp

// GlobRegexp compiles a BuildStream glob: `*` matches within one path
// component, `**` across components, `?` one character other than `/`, and
// `[...]` a character class.
func GlobRegexp(pattern string) *regexp.Regexp {
	if re, ok := globCache.Load(pattern); ok {
		return re.(*regexp.Regexp)
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := pattern[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		re = regexp.MustCompile("^" + regexp.QuoteMeta(pattern) + "$")
	}
	globCache.Store(pattern, re)
	return re
}

// ExpandTargets turns command line targets into element names: globs are
// matched against the project's elements, names are kept as given. With no
// targets it returns the project's default targets, or every element when
// it has none.
func (p *Project) ExpandTargets(args []string) ([]string, error) {
	if len(args) == 0 {
		if len(p.DefaultTargets) > 0 {
			return p.DefaultTargets, nil
		}
		return p.ElementNames()
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, a := range args {
		if !IsGlob(a) {
			add(a)
			continue
		}
		names, err := p.ElementNames()
		if err != nil {
			return nil, err
		}
		re := GlobRegexp(a)
		matched := false
		for _, n := range names {
			if re.MatchString(n) {
				add(n)
				matched = true
			}
		}
		if !matched {
			return nil, &node.Error{Reason: node.InvalidElementNames,
				Msg: fmt.Sprintf("no element matches '%s'", a)}
		}
	}
	return out, nil
}
