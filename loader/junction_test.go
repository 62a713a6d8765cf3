package loader

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bstgo/bst/element"
)

// writeTree writes files (path: content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// copyStager stages a junction by copying a directory of the test, and
// counts its calls.
type copyStager struct {
	from  string
	calls atomic.Int32
}

func (s *copyStager) StageJunction(_ context.Context, _ *Project, _ *element.Element, dir string) error {
	s.calls.Add(1)
	return filepath.WalkDir(s.from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
}

// TestJunctionsConcurrent loads many elements spread over a staged
// junction and a nested local one from several targets at once: each
// junction is opened once, and every element has its project's name.
func TestJunctionsConcurrent(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"top/project.conf": "name: top\nmin-version: 2.0\n",
		"top/sub.bst": "kind: junction\nsources:\n- kind: remote\n  url: https://example.com/sub.tar\n" +
			"  ref: 0000000000000000000000000000000000000000000000000000000000000000\n",
		"src/project.conf":      "name: sub\nmin-version: 2.0\n",
		"src/deep.bst":          "kind: junction\nsources:\n- kind: local\n  path: deep\n",
		"src/deep/project.conf": "name: deep\nmin-version: 2.0\n",
		"src/deep/base.bst":     "kind: stack\n",
	}
	var targets []string
	for i := range 50 {
		files[fmt.Sprintf("src/e%d.bst", i)] = "kind: stack\ndepends:\n- deep.bst:base.bst\n"
		files[fmt.Sprintf("top/t%d.bst", i)] = fmt.Sprintf("kind: stack\ndepends:\n- sub.bst:e%d.bst\n- sub.bst:deep.bst:base.bst\n", i)
		targets = append(targets, fmt.Sprintf("t%d.bst", i))
	}
	writeTree(t, dir, files)
	st := &copyStager{from: filepath.Join(dir, "src")}
	p, err := LoadProject(context.Background(), Settings{Directory: filepath.Join(dir, "top"), Junctions: st})
	if err != nil {
		t.Fatal(err)
	}
	g, err := p.Load(context.Background(), targets)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.calls.Load(); n != 1 {
		t.Errorf("the junction was staged %d times, want 1", n)
	}
	base := g.Elements["sub.bst:deep.bst:base.bst"]
	if base == nil || base.Project != "deep" || base.Name != "base.bst" {
		t.Fatalf("sub.bst:deep.bst:base.bst = %+v", base)
	}
	if e := g.Elements["sub.bst:e7.bst"]; e == nil || e.Project != "sub" || e.Deps[0].Element != base {
		t.Fatalf("sub.bst:e7.bst is not sub's, depending on deep's base.bst")
	}
	if got := len(p.Projects()); got != 3 {
		t.Errorf("%d projects loaded, want 3", got)
	}
	// A second load opens nothing again.
	if _, err := p.Load(context.Background(), []string{"sub.bst:e1.bst"}); err != nil {
		t.Fatal(err)
	}
	if n := st.calls.Load(); n != 1 {
		t.Errorf("the junction was staged %d times, want 1", n)
	}
	// Staged junctions are kept by key.
	ents, _ := os.ReadDir(filepath.Join(dir, "top", ".bst", "staged-junctions", "sub.bst"))
	if len(ents) != 1 || len(ents[0].Name()) != 64 {
		t.Errorf("staged junctions: %v", ents)
	}
}

// TestJunctionErrors checks that bad junction set-ups are errors with a
// provenance, never panics.
func TestJunctionErrors(t *testing.T) {
	cases := []struct {
		name, target, want string
		files              map[string]string
	}{
		{"cycle", "a.bst", "circular reference", map[string]string{
			"a.bst": "kind: stack\ndepends:\n- l.bst:x.bst\n",
			"l.bst": "kind: link\nconfig:\n  target: l.bst\n"}},
		{"no stager", "a.bst", "nothing can stage them", map[string]string{
			"a.bst": "kind: stack\ndepends:\n- j.bst:x.bst\n",
			"j.bst": "kind: junction\nsources:\n- kind: remote\n  url: https://example.com/x\n  ref: " + strings.Repeat("0", 64) + "\n"}},
		{"no ref", "a.bst", "subproject has no ref", map[string]string{
			"a.bst": "kind: stack\ndepends:\n- j.bst:x.bst\n",
			"j.bst": "kind: junction\nsources:\n- kind: remote\n  url: https://example.com/x\n"}},
		{"not a project", "j.bst:x.bst", "could not find the project.conf", map[string]string{
			"j.bst":     "kind: junction\nsources:\n- kind: local\n  path: dir\n",
			"dir/x.bst": "kind: stack\n"}},
		{"kind", "a.bst", "expected junction but element kind is stack", map[string]string{
			"a.bst": "kind: stack\ndepends:\n- b.bst:x.bst\n",
			"b.bst": "kind: stack\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.files["project.conf"] = "name: top\nmin-version: 2.0\n"
			writeTree(t, dir, tc.files)
			p, err := LoadProject(context.Background(), Settings{Directory: dir})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Load(context.Background(), []string{tc.target})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// A subproject's project.conf may include a file through its own
// junction: that junction is opened while the subproject's is, which once
// waited for itself.
func TestSubprojectIncludesThroughItsJunction(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"project.conf":     "name: top\nmin-version: 2.0\n",
		"a.bst":            "kind: junction\nsources:\n- kind: local\n  path: a\n",
		"t.bst":            "kind: stack\ndepends:\n- a.bst:x.bst\n",
		"a/project.conf":   "name: a\nmin-version: 2.0\n(@):\n- b.bst:inc.yml\n",
		"a/b.bst":          "kind: junction\nsources:\n- kind: local\n  path: b\n",
		"a/x.bst":          "kind: stack\nvariables:\n  got: '%{foo}'\n",
		"a/b/project.conf": "name: b\nmin-version: 2.0\n",
		"a/b/inc.yml":      "variables:\n  foo: bar\n",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	var g *Graph
	go func() {
		p, err := LoadProject(ctx, Settings{Directory: dir})
		if err == nil {
			g, err = p.Load(ctx, []string{"t.bst"})
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("loading waits forever")
	}
	x := g.Elements["a.bst:x.bst"]
	if x == nil {
		t.Fatal("a.bst:x.bst not loaded")
	}
	if v, _ := x.Variables.Get("got"); v != "bar" {
		t.Errorf("got = %q, want the included bar", v)
	}
}
