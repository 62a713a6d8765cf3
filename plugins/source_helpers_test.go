package plugins

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/source"
)

// testContext is a source.Context over a project directory with aliases.
type testContext struct {
	dir     string
	aliases map[string]string
}

func (c testContext) ProjectDir() string { return c.dir }

func (c testContext) ProjectPath(n *node.Node) (string, error) {
	p := filepath.Clean(n.Value())
	if strings.HasPrefix(p, "..") || filepath.IsAbs(p) {
		return "", node.Errorf(n.Prov(), node.ProjPathInvalid, "outside the project")
	}
	if _, err := os.Stat(filepath.Join(c.dir, p)); err != nil {
		return "", node.Errorf(n.Prov(), node.MissingFile, "missing %s", p)
	}
	return p, nil
}

func (c testContext) TranslateURL(u string, p node.Provenance) (string, error) {
	alias, rest := source.SplitAlias(u)
	if alias == "" {
		return u, nil
	}
	base, ok := c.aliases[alias]
	if !ok {
		return "", node.Errorf(p, node.InvalidData, "undefined alias %s", alias)
	}
	return base + rest, nil
}

// configure parses one source entry and configures it with kind k.
func configure(t *testing.T, k source.Kind, ctx source.Context, yaml string) source.Source {
	t.Helper()
	s, err := configureErr(k, ctx, yaml)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func configureErr(k source.Kind, ctx source.Context, yaml string) (source.Source, error) {
	n, err := node.Parse([]byte(yaml), &node.File{Name: "elements/test.bst"})
	if err != nil {
		return nil, err
	}
	n.Delete("kind")
	return k.Configure(ctx, n)
}

// testEnv is an Env with a fresh store and source directory, and the
// project p (name "test").
type testEnv struct {
	*source.Env
	warnings []string
}

func newEnv(t *testing.T, p *source.Project) *testEnv {
	t.Helper()
	dir := t.TempDir()
	store, err := cas.OpenLocal(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	te := &testEnv{}
	if p == nil {
		p = &source.Project{Name: "test"}
	}
	env, err := source.NewEnv(source.Options{
		SourceDir: filepath.Join(dir, "sources"), Store: store, Backoff: time.Millisecond,
		Projects: []*source.Project{p},
		Log: func(m source.Message) {
			if m.Kind == source.Warning {
				te.warnings = append(te.warnings, m.Text)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	te.Env = env
	return te
}

func (te *testEnv) fc() *source.FetchContext {
	return te.Context("test", "test.bst", node.Provenance{File: &node.File{Name: "elements/test.bst"}, Line: 2}, false)
}

func (te *testEnv) tracking() *source.FetchContext {
	return te.Context("test", "test.bst", node.Provenance{File: &node.File{Name: "elements/test.bst"}, Line: 2}, true)
}

// staged renders a tree as "path=content" (files, "*" for executables),
// "path/" (directories) and "path->target" (symlinks), sorted.
func staged(t *testing.T, store *cas.LocalStore, d cas.Digest) string {
	t.Helper()
	var out []string
	err := store.Walk(t.Context(), d, func(e cas.Entry) error {
		switch e.Kind {
		case 'd':
			out = append(out, e.Path+"/")
		case 'l':
			out = append(out, e.Path+"->"+e.Target)
		default:
			data, err := store.ReadBlob(t.Context(), e.Digest)
			if err != nil {
				return err
			}
			p := e.Path
			if e.Executable {
				p += "*"
			}
			out = append(out, p+"="+strings.TrimSpace(string(data)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, " ")
}
