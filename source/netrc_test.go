package source

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseNetrc(t *testing.T) {
	n, err := ParseNetrc(`# comment
machine example.com login alice password s3cret
machine other.org
  login bob
  password "p#w"
macdef init
  cd /pub
  get file

default login anon password guest
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ host, login, pw string }{
		{"example.com", "alice", "s3cret"},
		{"other.org", "bob", `"p#w"`},
		{"unknown.net", "anon", "guest"},
	} {
		l, p, ok := n.Lookup(c.host)
		if !ok || l != c.login || p != c.pw {
			t.Errorf("Lookup(%s) = %q %q %v", c.host, l, p, ok)
		}
	}
	if _, err := ParseNetrc("machine"); err == nil {
		t.Error("a machine without a name parsed")
	}
	var nilNetrc *Netrc
	if _, _, ok := nilNetrc.Lookup("x"); ok {
		t.Error("nil Netrc has credentials")
	}
}

func TestLoadNetrcFromEnv(t *testing.T) {
	p := filepath.Join(t.TempDir(), "netrc")
	os.WriteFile(p, []byte("machine h login u password p\n"), 0o600)
	t.Setenv("NETRC", p)
	n, err := LoadNetrc()
	if err != nil {
		t.Fatal(err)
	}
	if l, _, ok := n.Lookup("h"); !ok || l != "u" {
		t.Fatal("NETRC not read")
	}
	t.Setenv("NETRC", filepath.Join(t.TempDir(), "missing"))
	if n, err := LoadNetrc(); err != nil || n != nil {
		t.Fatalf("missing netrc: %v %v", n, err)
	}
}
