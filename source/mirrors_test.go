package source

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bstgo/bst/loader/node"
)

func parseYAML(t *testing.T, s string) *node.Node {
	t.Helper()
	n, err := node.Parse([]byte(s), &node.File{Name: "test.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testProject(t *testing.T) *Project {
	cfg := parseYAML(t, `
mirrors:
- name: middle-earth
  aliases:
    foo: [http://www.middle-earth.com/foo/1, http://www.middle-earth.com/foo/2]
- name: arrakis
  kind: default
  aliases:
    foo: ["%{root}/arrakis/"]
`)
	ms, err := ParseMirrors(cfg.Get("mirrors"), func(s string, p node.Provenance) (string, error) {
		return strings.ReplaceAll(s, "%{root}", "file:///r"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Project{Name: "p", Aliases: map[string]string{"foo": "http://upstream/foo/"}, Mirrors: ms, DefaultMirror: "arrakis"}
}

func TestURLsPolicies(t *testing.T) {
	p := testProject(t)
	for _, c := range []struct {
		policy   Policy
		tracking bool
		want     []string
	}{
		{PolicyAll, false, []string{"file:///r/arrakis/x.tar", "http://www.middle-earth.com/foo/1x.tar", "http://www.middle-earth.com/foo/2x.tar", "http://upstream/foo/x.tar"}},
		{PolicyAll, true, []string{"http://upstream/foo/x.tar", "http://www.middle-earth.com/foo/2x.tar", "http://www.middle-earth.com/foo/1x.tar", "file:///r/arrakis/x.tar"}},
		{PolicyAliases, false, []string{"http://upstream/foo/x.tar"}},
		{PolicyMirrors, false, []string{"file:///r/arrakis/x.tar", "http://www.middle-earth.com/foo/1x.tar", "http://www.middle-earth.com/foo/2x.tar"}},
	} {
		got, err := p.URLs("foo:x.tar", "http://upstream/foo/x.tar", c.policy, c.tracking)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s tracking=%v: %v %v, want %v", c.policy, c.tracking, got, err, c.want)
		}
	}
	// The user policy needs mirrors from the user configuration.
	if _, err := p.URLs("foo:x.tar", "t", PolicyUser, false); err == nil || !strings.Contains(err.Error(), "no mirror") {
		t.Errorf("user policy without user mirrors: %v", err)
	}
	p.UserMirrors = true
	if got, _ := p.URLs("foo:x.tar", "t", PolicyUser, false); len(got) != 3 {
		t.Errorf("user policy with user mirrors: %v", got)
	}
	// Unaliased URLs are fetched as they are.
	if got, _ := p.URLs("https://h/y", "https://h/y", PolicyMirrors, false); !reflect.DeepEqual(got, []string{"https://h/y"}) {
		t.Errorf("unaliased: %v", got)
	}
}

func TestParseMirrorsErrors(t *testing.T) {
	for _, bad := range []string{
		"mirrors:\n- name: a\n  kind: simple_mirror\n  config: {}\n",
		"mirrors:\n- name: a\n  aliases: {}\n  url: x\n",
		"mirrors:\n- aliases: {}\n",
		"mirrors:\n- name: a\n  aliases: {}\n- name: a\n  aliases: {}\n",
	} {
		if _, err := ParseMirrors(parseYAML(t, bad).Get("mirrors"), nil); err == nil {
			t.Errorf("accepted %q", bad)
		} else if !strings.Contains(err.Error(), "test.yaml [line") {
			t.Errorf("error without provenance: %v", err)
		}
	}
}
