package source

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://user:secret@example.com/a.tar", "https://xxxxx@example.com/a.tar"},
		{"https://token@example.com/a", "https://xxxxx@example.com/a"},
		{"https://example.com/a@b", "https://example.com/a@b"},
		{"http://example.com/x", "http://example.com/x"},
		{"git+ssh://me:pw@host/repo", "git+ssh://xxxxx@host/repo"},
		{"upstream:foo.tar", "upstream:foo.tar"},
	} {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	text := "fatal: unable to access 'https://bob:hunter2@example.com/r.git/': 403; also http://a:b@c/d"
	got := RedactAll(text)
	if strings.Contains(got, "hunter2") || strings.Contains(got, "a:b@") || !strings.Contains(got, "https://xxxxx@example.com/r.git/") {
		t.Errorf("RedactAll = %q", got)
	}
}
