package scheduler

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

func TestExpandVars(t *testing.T) {
	env := map[string]string{"HOME": "/home/me", "A_1": "x", "EMPTY": ""}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for in, want := range map[string]string{
		"plain":           "plain",
		"$HOME/.ssh":      "/home/me/.ssh",
		"${HOME}.d":       "/home/me.d",
		"$A_1$A_1":        "xx",
		"[$EMPTY]":        "[]",
		"$UNSET and $":    "$UNSET and $",
		"${UNSET}":        "${UNSET}",
		"a$HOME-b":        "a/home/me-b",
		"${HOME":          "${HOME",
		"cost: $5":        "cost: $5",
		"$HOMEX/${A_1}/y": "$HOMEX/x/y",
	} {
		if got := ExpandVars(in, getenv); got != want {
			t.Errorf("ExpandVars(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseShellConfig(t *testing.T) {
	getenv := func(k string) (string, bool) {
		if k == "HOSTDIR" {
			return "/srv", true
		}
		return "", false
	}
	parse := func(t *testing.T, yaml string) (ShellConfig, error) {
		n, err := node.Parse([]byte(yaml), &node.File{Name: "project.conf"})
		if err != nil {
			t.Fatal(err)
		}
		return ParseShellConfig(n.Get("shell"), getenv)
	}
	c, err := parse(t, "name: x\n")
	if err != nil || !reflect.DeepEqual(c.Command, []string{"sh", "-i"}) || c.Environment != nil || c.HostFiles != nil {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	c, err = parse(t, `shell:
  command: [bash, --login]
  environment:
    B: $HOSTDIR/b
    A: ${NOPE}
  host-files:
  - /etc/resolv.conf
  - path: /data
    host_path: $HOSTDIR/data
  - path: $HOSTDIR/opt
    optional: true
`)
	if err != nil {
		t.Fatal(err)
	}
	want := ShellConfig{
		Command:     []string{"bash", "--login"},
		Environment: []element.Variable{{Name: "B", Value: "/srv/b"}, {Name: "A", Value: "${NOPE}"}},
		HostFiles: []ShellMount{
			{Path: "/etc/resolv.conf", HostPath: "/etc/resolv.conf"},
			{Path: "/data", HostPath: "/srv/data"},
			{Path: "/srv/opt", HostPath: "/srv/opt", Optional: true},
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	for _, bad := range []string{
		"shell:\n  shell: [sh]\n",
		"shell:\n  host-files:\n  - path: /a\n    hostpath: /b\n",
		"shell:\n  host-files:\n  - [a, b]\n",
		"shell:\n  host-files:\n  - host_path: /b\n",
	} {
		if _, err := parse(t, bad); err == nil {
			t.Errorf("%q: no error", bad)
		} else if !strings.Contains(err.Error(), "project.conf") {
			t.Errorf("%q: error without provenance: %v", bad, err)
		}
	}
}

func TestSetVariable(t *testing.T) {
	env := []element.Variable{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
	got := setVariable(setVariable(env, element.Variable{Name: "A", Value: "x"}), element.Variable{Name: "C", Value: "3"})
	want := []element.Variable{{Name: "A", Value: "x"}, {Name: "B", Value: "2"}, {Name: "C", Value: "3"}}
	if !reflect.DeepEqual(got, want) || env[0].Value != "1" {
		t.Errorf("got %v (env %v)", got, env)
	}
}
