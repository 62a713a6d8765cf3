package options

import (
	"errors"
	"strings"
	"testing"

	"github.com/bstgo/bst/loader/node"
)

// parse reads a YAML snippet as the file "test.yaml".
func parse(t *testing.T, src string) *node.Node {
	t.Helper()
	n, err := node.Parse([]byte(src), &node.File{Name: "test.yaml"})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return n
}

// declare returns a pool on an x86_64 Linux host with the options of the
// snippet, which is the body of an `options:` mapping.
func declare(t *testing.T, decls string) *Pool {
	t.Helper()
	p := NewPool("x86_64", "Linux")
	if err := p.Declare(parse(t, decls), noElements); err != nil {
		t.Fatalf("Declare: %v", err)
	}
	return p
}

// resolved is declare followed by Resolve.
func resolved(t *testing.T, decls string) *Pool {
	t.Helper()
	p := declare(t, decls)
	if err := p.Resolve(); err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return p
}

func noElements() ([]string, error) { return nil, nil }

// checkErr fails unless err is a *node.Error of the reason whose text
// contains want; reason "" means no error at all.
func checkErr(t *testing.T, err error, reason node.Reason, want string) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %s containing %q", reason, want)
	}
	var ne *node.Error
	if !errors.As(err, &ne) {
		t.Fatalf("error %v (%T) is not a *node.Error", err, err)
	}
	if ne.Reason != reason {
		t.Fatalf("reason %s, want %s; error: %v", ne.Reason, reason, err)
	}
	if full := err.Error(); !strings.Contains(full, want) {
		t.Fatalf("error %q does not contain %q", full, want)
	}
}

// The common declarations of the tests, after BuildStream's test projects.
const (
	boolPony = `
pony:
  type: bool
  description: Whether a pony or not
  default: False
`
	enumAnimals = `
brother:
  type: enum
  description: The kind of animal of the brother
  values: [pony, horsy, zebry]
  default: pony
sister:
  type: enum
  description: The kind of animal of the sister
  values: [pony, horsy, zebry]
  default: zebry
`
	flagsFarm = `
animal:
  type: enum
  description: The kind of animal
  values: [pony, horsy, zebry]
  default: horsy
farm:
  type: flags
  description: The kinds of animals on this farm
  values: [pony, horsy, zebry]
  default: [pony]
`
)
