package source

import (
	"net/url"
	"strings"
)

// Redact hides the credentials of a URL ("https://user:secret@host/x"
// becomes "https://xxxxx@host/x") so it can be shown in a message, a log
// line or an error. Strings that do not parse as URLs are searched for a
// "scheme://userinfo@" prefix, which is hidden the same way; anything else
// comes back unchanged.
func Redact(u string) string {
	if !strings.Contains(u, "@") {
		return u
	}
	if p, err := url.Parse(u); err == nil && p.User != nil {
		p.User = url.User("xxxxx")
		return p.String()
	}
	// Not a URL url.Parse accepts; hide anything between "://" and the
	// first "@" of the authority.
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	rest := u[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		return u[:i+3] + "xxxxx" + rest[at:]
	}
	return u
}

// RedactAll hides the credentials of every URL inside a longer text, such
// as the output of a command that failed.
func RedactAll(s string) string {
	if !strings.Contains(s, "@") || !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		s = s[i+3:]
		end := strings.IndexAny(s, "/?# \t\n'\"<>")
		if end < 0 {
			end = len(s)
		}
		if at := strings.LastIndex(s[:end], "@"); at >= 0 {
			b.WriteString("xxxxx")
			s = s[at:]
		}
	}
}
