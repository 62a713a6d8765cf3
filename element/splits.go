package element

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// SplitRules are an element's split domains (public data
// `bst.split-rules`): for each domain, the globs of the paths it claims.
type SplitRules struct {
	Domains []string // in declaration order
	res     map[string]*regexp.Regexp
}

// Splits returns e's split rules, compiled once.
func (e *Element) Splits() (*SplitRules, error) {
	e.splitsOnce.Do(func() { e.splits, e.splitsErr = parseSplits(e) })
	return e.splits, e.splitsErr
}

// splitsState caches an element's compiled split rules.
type splitsState struct {
	splitsOnce sync.Once
	splits     *SplitRules
	splitsErr  error
}

func parseSplits(e *Element) (*SplitRules, error) {
	sr := &SplitRules{res: map[string]*regexp.Regexp{}}
	rules := e.Public.Get("bst").Get("split-rules")
	if rules == nil {
		return sr, nil
	}
	for i, domain := range rules.Keys() {
		globs, err := rules.Items()[i].AsStringList("split-rules." + domain)
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(globs))
		for j, g := range globs {
			parts[j] = GlobRegexp(g)
		}
		re, err := regexp.Compile("(?s)^(?:" + strings.Join(parts, "|") + ")$")
		if err != nil {
			return nil, fmt.Errorf("%s: split rules of domain %s: %w", e.Name, domain, err)
		}
		sr.Domains = append(sr.Domains, domain)
		sr.res[domain] = re
	}
	return sr, nil
}

// Has reports whether the element declares domain.
func (sr *SplitRules) Has(domain string) bool { _, ok := sr.res[domain]; return ok }

// Filter returns the function that tells whether a path (relative to the
// artifact's root, without a leading "/") is kept when staging with
// include, exclude and orphans, as BuildStream's split filter does: a
// path is kept when a domain in include claims it (every domain when
// include is empty), or when no domain claims it and orphans is set, and
// no domain in exclude claims it. It returns nil when nothing is
// filtered. Domains the element does not declare are ignored.
func (sr *SplitRules) Filter(include, exclude []string, orphans bool) func(string) bool {
	if orphans && len(include) == 0 && len(exclude) == 0 {
		return nil
	}
	inc := map[string]bool{}
	if len(include) == 0 {
		for _, d := range sr.Domains {
			inc[d] = true
		}
	}
	for _, d := range include {
		inc[d] = true
	}
	exc := map[string]bool{}
	for _, d := range exclude {
		exc[d] = true
	}
	return func(p string) bool {
		abs := "/" + p
		included, excluded, claimed := false, false, false
		for _, d := range sr.Domains {
			if sr.res[d].MatchString(abs) {
				claimed = true
				included = included || inc[d]
				excluded = excluded || exc[d]
			}
		}
		if orphans && !claimed {
			included = true
		}
		return included && !excluded
	}
}

// GlobRegexp translates one of BuildStream's path globs into a regular
// expression: "**" matches anything, "*" anything but "/", "?" one
// character but "/", and [...] classes as in fnmatch.
func GlobRegexp(pat string) string {
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
			stuff := strings.ReplaceAll(pat[i:j], `\`, `\\`)
			i = j + 1
			switch stuff[0] {
			case '!':
				stuff = "^" + stuff[1:]
			case '^':
				stuff = `\` + stuff
			}
			b.WriteString("[" + stuff + "]")
		default:
			if c >= 0x80 {
				b.WriteByte(c) // part of a UTF-8 sequence, never special
			} else {
				b.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
	}
	return b.String()
}
