package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Netrc holds the credentials of a .netrc file: a login and password per
// machine, and an optional default for every other machine.
type Netrc struct {
	machines map[string]netrcEntry
	def      *netrcEntry
}

type netrcEntry struct{ login, password string }

// LoadNetrc reads $NETRC, or else ~/.netrc. A missing file is no error and
// gives no credentials (nil).
func LoadNetrc() (*Netrc, error) {
	path := os.Getenv("NETRC")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, nil
		}
		path = filepath.Join(home, ".netrc")
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	n, err := ParseNetrc(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// ParseNetrc parses the text of a .netrc file: whitespace-separated
// tokens "machine NAME", "default", "login L", "password P", "account A"
// and "macdef NAME" (whose body, up to an empty line, is skipped). Comments
// start with "#".
func ParseNetrc(text string) (*Netrc, error) {
	n := &Netrc{machines: map[string]netrcEntry{}}
	var toks []string
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if j := strings.Index(line, "#"); j >= 0 && (j == 0 || line[j-1] == ' ' || line[j-1] == '\t') {
			line = line[:j]
		}
		fields := strings.Fields(line)
		for k := 0; k < len(fields); k++ {
			if fields[k] == "macdef" {
				// A macro runs to the next empty line.
				for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
					i++
				}
				fields = fields[:k]
				break
			}
		}
		toks = append(toks, fields...)
	}
	var cur *netrcEntry
	var curName string
	flush := func() {
		if cur == nil {
			return
		}
		if curName == "" {
			e := *cur
			n.def = &e
		} else if _, dup := n.machines[curName]; !dup {
			n.machines[curName] = *cur // the first entry of a machine wins
		}
		cur = nil
	}
	for i := 0; i < len(toks); i++ {
		switch t := toks[i]; t {
		case "machine":
			flush()
			if i+1 >= len(toks) {
				return nil, fmt.Errorf("netrc: machine without a name")
			}
			i++
			cur, curName = &netrcEntry{}, toks[i]
		case "default":
			flush()
			cur, curName = &netrcEntry{}, ""
		case "login", "password", "account":
			if i+1 >= len(toks) {
				return nil, fmt.Errorf("netrc: %s without a value", t)
			}
			i++
			if cur == nil {
				return nil, fmt.Errorf("netrc: %s outside a machine entry", t)
			}
			switch t {
			case "login":
				cur.login = toks[i]
			case "password":
				cur.password = toks[i]
			}
		default:
			return nil, fmt.Errorf("netrc: unexpected token %q", t)
		}
	}
	flush()
	return n, nil
}

// Lookup returns the credentials for host, falling back to the default
// entry.
func (n *Netrc) Lookup(host string) (login, password string, ok bool) {
	if n == nil {
		return "", "", false
	}
	if e, found := n.machines[host]; found {
		return e.login, e.password, true
	}
	if n.def != nil {
		return n.def.login, n.def.password, true
	}
	return "", "", false
}
