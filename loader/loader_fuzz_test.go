package loader

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadElement feeds arbitrary element files, and an include, through
// the whole loader: whatever the input, loading returns a graph or an
// error, never a panic.
func FuzzLoadElement(f *testing.F) {
	seeds := []string{
		"kind: stack\n",
		"kind: manual\ndepends:\n- b.bst\nvariables:\n  x: '%{prefix}/x'\n",
		"kind: manual\n(@): inc.yml\nconfig:\n  build-commands:\n    (>): [make]\n",
		"kind: manual\n(?):\n- opt:\n    variables: {a: b}\n- not opt and x == 'y':\n    description: z\n",
		"kind: import\nsources:\n- kind: local\n  path: files\n",
		"kind: stack\nbuild-depends:\n- filename: [b.bst, b.bst]\n  strict: true\n",
		"kind: manual\nvariables:\n  a: '%{b}'\n  b: '%{a}'\n",
		"kind: link\nconfig:\n  target: b.bst\n",
		"- x\n", "{", "kind: stack\ndepends:\n- a.bst\n",
	}
	for _, s := range seeds {
		f.Add(s, "variables:\n  v: w\n")
	}
	f.Fuzz(func(t *testing.T, element, include string) {
		dir := t.TempDir()
		files := map[string]string{
			"project.conf": "name: fuzz\nmin-version: 2.0\noptions:\n  opt:\n    type: bool\n    description: o\n    default: false\n  x:\n    type: enum\n    description: x\n    values: [y, z]\n    default: y\n",
			"a.bst":        element,
			"b.bst":        "kind: stack\n",
			"inc.yml":      include,
			"files/f":      "data\n",
		}
		for name, data := range files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		p, err := LoadProject(context.Background(), Settings{Directory: dir})
		if err != nil {
			t.Fatalf("the fixed project.conf must load: %v", err)
		}
		_, _ = p.Load(context.Background(), []string{"a.bst"})
	})
}
