package source

import (
	"fmt"
	"strings"

	"github.com/bstgo/bst/loader/node"
)

// Policy says which URLs fetching (user configuration fetch.source) or
// tracking (track.source) may use for an aliased URL.
type Policy string

// The policies of BuildStream's _SourceUriPolicy.
const (
	PolicyAll     Policy = "all"     // mirrors first, then the project's alias
	PolicyAliases Policy = "aliases" // only the project's alias
	PolicyMirrors Policy = "mirrors" // only mirrors
	PolicyUser    Policy = "user"    // only mirrors the user configuration declares
)

// ParsePolicy checks a policy value read at p.
func ParsePolicy(s string, p node.Provenance) (Policy, error) {
	switch Policy(s) {
	case PolicyAll, PolicyAliases, PolicyMirrors, PolicyUser:
		return Policy(s), nil
	}
	return "", node.Errorf(p, node.InvalidData, "invalid source policy '%s': choose all, aliases, mirrors or user", s)
}

// Mirror is one `mirrors:` entry of kind default: for each alias, the URL
// prefixes that may replace the alias's own.
type Mirror struct {
	Name    string
	Aliases map[string][]string
}

// Project is what fetching needs to know of the project declaring a
// source: its aliases and mirrors, and which warnings are fatal.
type Project struct {
	Name string
	// Aliases map each alias to its URL prefix, variables expanded.
	Aliases map[string]string
	// Mirrors are in the order written; DefaultMirror names the one tried
	// first (--default-mirror, the user's projects.<name>.default-mirror,
	// or else the first mirror).
	Mirrors       []Mirror
	DefaultMirror string
	// UserMirrors is set when the mirrors come from the user
	// configuration, which the "user" policy requires.
	UserMirrors bool
	// FatalWarnings are the project's fatal-warnings tokens.
	FatalWarnings []string
}

// ParseMirrors reads a `mirrors:` list (from project.conf, or from the
// user configuration's projects.<name>.mirrors, which replaces it). Each
// value is expanded with expand, as BuildStream expands project variables
// in mirror definitions. Only the `default` mirror kind exists in bst;
// mirror plugin kinds are an error naming the entry.
func ParseMirrors(list *node.Node, expand func(string, node.Provenance) (string, error)) ([]Mirror, error) {
	if list == nil {
		return nil, nil
	}
	if !list.IsSequence() {
		return nil, node.Errorf(list.Prov(), node.InvalidData, "mirrors must be a list")
	}
	var out []Mirror
	seen := map[string]bool{}
	for _, m := range list.Items() {
		if !m.IsMapping() {
			return nil, node.Errorf(m.Prov(), node.InvalidData, "each mirror must be a dictionary")
		}
		kind, err := m.GetString("kind", "default")
		if err != nil {
			return nil, err
		}
		if kind != "default" {
			return nil, node.Errorf(m.KeyProv("kind"), node.UnsupportedPlugin,
				"mirror kind '%s' is not supported by bst: only 'default' mirrors (name, aliases) are", kind)
		}
		if err := m.ValidateKeys("name", "kind", "aliases"); err != nil {
			return nil, err
		}
		name, err := m.RequireString("name")
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, node.Errorf(m.KeyProv("name"), node.InvalidData, "mirror '%s' is declared twice", name)
		}
		seen[name] = true
		aliases, err := m.GetMapping("aliases", false)
		if err != nil {
			return nil, err
		}
		mm := Mirror{Name: name, Aliases: map[string][]string{}}
		for i, alias := range aliases.Keys() {
			uris, err := aliases.Items()[i].AsStringList("aliases." + alias)
			if err != nil {
				return nil, err
			}
			for j, u := range uris {
				if expand != nil {
					if uris[j], err = expand(u, aliases.Items()[i].Prov()); err != nil {
						return nil, err
					}
				}
			}
			mm.Aliases[alias] = uris
		}
		out = append(out, mm)
	}
	return out, nil
}

// uriSchemes are the URL prefixes that are never aliases (BuildStream's
// utils._URI_SCHEMES).
var uriSchemes = map[string]bool{"http": true, "https": true, "ftp": true, "file": true, "git": true, "sftp": true, "ssh": true}

// SplitAlias returns the alias of an URL as written ("gnome:foo.tar" →
// "gnome", "foo.tar"), or "" when it has none.
func SplitAlias(u string) (alias, rest string) {
	a, r, ok := strings.Cut(u, ":")
	if !ok || uriSchemes[strings.ToLower(a)] {
		return "", u
	}
	return a, r
}

// URLs returns the URLs to try, in order, for an URL as written in a
// source (alias included), following BuildStream's
// Project.get_alias_uris: with the "all" or "mirrors" policy (or "user"
// when the mirrors come from the user configuration) each mirror's URIs
// for the alias, the default mirror's first; with "all" or "aliases" the
// project's alias last. Tracking tries them in the reverse order. An URL
// without an alias, or with an alias the project does not define, is
// tried as it is (translated, the caller's fallback).
func (p *Project) URLs(written, translated string, policy Policy, tracking bool) ([]string, error) {
	alias, rest := SplitAlias(written)
	if alias == "" || p == nil {
		return []string{translated}, nil
	}
	base, ok := p.Aliases[alias]
	if !ok {
		return []string{translated}, nil
	}
	var prefixes []string
	if policy == PolicyAll || policy == PolicyMirrors || policy == PolicyUser && p.UserMirrors {
		for _, m := range p.Mirrors {
			uris := m.Aliases[alias]
			if m.Name == p.DefaultMirror {
				prefixes = append(append([]string(nil), uris...), prefixes...)
			} else {
				prefixes = append(prefixes, uris...)
			}
		}
	}
	if policy == PolicyAll || policy == PolicyAliases {
		prefixes = append(prefixes, base)
	}
	if len(prefixes) == 0 {
		return nil, fmt.Errorf("no URL may be used for '%s': the %s policy is '%s' and no mirror lists the alias '%s'",
			Redact(written), map[bool]string{true: "track.source", false: "fetch.source"}[tracking], policy, alias)
	}
	out := make([]string, len(prefixes))
	for i, pre := range prefixes {
		out[i] = pre + rest
	}
	if tracking {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// FatalWarning reports whether token is one of the project's fatal
// warnings.
func (p *Project) FatalWarning(token string) bool {
	if p == nil {
		return false
	}
	for _, t := range p.FatalWarnings {
		if t == token {
			return true
		}
	}
	return false
}
