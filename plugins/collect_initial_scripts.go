package plugins

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/bstgo/bst/element"
)

// collectInitialScriptsConfig is the freedesktop SDK's
// collect_initial_scripts: the `initial-script` public data of the build
// scope, in staging order, each as an executable file under `path` named
// NNN-<element name>, NNN counting from 001 the elements that have one,
// every character of the name but ASCII letters and digits made "_".
// Image elements run them when packing a file system.
type collectInitialScriptsConfig struct {
	keyOnly
	path string
}

func (c collectInitialScriptsConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	store := b.Store()
	out := store.NewTree()
	index := 0
	for _, d := range element.Dependencies([]*element.Element{b.Element()}, element.ScopeBuild) {
		script := d.Public.Get("initial-script").Get("script")
		if script == nil || !script.IsScalar() {
			continue
		}
		index++
		name := fmt.Sprintf("%03d-%s", index, scriptFileName(d.Name))
		t, err := singleFileTree(ctx, store, path.Join("/", c.path, name), []byte(script.Value()), true)
		if err != nil {
			return element.Output{}, err
		}
		if _, err := out.Import(ctx, t, "/", nil); err != nil {
			return element.Output{}, err
		}
	}
	d, err := out.Digest(ctx)
	return element.Output{Files: d}, err
}

// scriptFileName replaces every character but ASCII letters and digits
// with "_".
func scriptFileName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
