package source

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader/node"
)

// newTestEnv returns an Env over a fresh store and source directory,
// retrying quickly.
func newTestEnv(t *testing.T, o Options) *Env {
	t.Helper()
	dir := t.TempDir()
	store, err := cas.OpenLocal(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	o.Store = store
	o.SourceDir = filepath.Join(dir, "sources")
	if o.Backoff == 0 {
		o.Backoff = time.Millisecond
	}
	env, err := NewEnv(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env
}

// listFiles returns the names under dir, recursively, relative to it.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func nodeProv() node.Provenance {
	return node.Provenance{File: &node.File{Name: "elements/e.bst"}, Line: 3, Col: 2}
}
