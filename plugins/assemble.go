package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// Assemble copies the sources' `source` directory to `target`.
func (c importConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	src, err := b.Sources(ctx)
	if err != nil {
		return element.Output{}, err
	}
	in, err := b.Store().LoadTree(src).Subtree(ctx, c.Source)
	if errors.Is(err, cas.ErrNotFound) {
		return element.Output{}, fmt.Errorf("%s: no files were found inside directory '%s'", b.Element().Name, c.Source)
	}
	if err != nil {
		return element.Output{}, fmt.Errorf("%s: %w", b.Element().Name, err)
	}
	out := b.Store().NewTree()
	if _, err := out.Import(ctx, in, c.Target, nil); err != nil {
		return element.Output{}, err
	}
	d, err := out.Digest(ctx)
	return element.Output{Files: d}, err
}

// Assemble makes an empty artifact: a stack only groups.
func (stackConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	d, err := b.Store().NewTree().Digest(ctx)
	return element.Output{Files: d}, err
}

// Assemble stages the build dependencies, runs their integration
// commands when asked to, and keeps what the split domains select (plus
// what integration added, minus what it removed).
func (c composeConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	e := b.Element()
	deps := element.Dependencies([]*element.Element{e}, element.ScopeBuild)
	sel := element.SplitSelection{Include: c.include, Exclude: c.exclude, Orphans: c.orphans}
	split := len(c.include) > 0 || len(c.exclude) > 0 || !c.orphans
	if split {
		b.Status("Composing with %s", describeSelection(sel))
	}
	if !c.integrate || len(integrationCommands(deps)) == 0 {
		tree := b.Store().NewTree()
		if err := b.StageArtifacts(ctx, tree, deps, "/", sel); err != nil {
			return element.Output{}, err
		}
		d, err := tree.Digest(ctx)
		return element.Output{Files: d}, err
	}
	tree := b.Store().NewTree()
	if err := b.StageArtifacts(ctx, tree, deps, "/", element.AllFiles); err != nil {
		return element.Output{}, err
	}
	staged, err := tree.Digest(ctx)
	if err != nil {
		return element.Output{}, err
	}
	integrated, err := integrate(ctx, b, staged, deps)
	if err != nil || !split {
		return element.Output{Files: integrated}, err
	}
	manifest := map[string]bool{}
	for _, d := range deps {
		sr, err := d.Splits()
		if err != nil {
			return element.Output{}, err
		}
		keep := sr.Filter(sel.Include, sel.Exclude, sel.Orphans)
		err = b.Store().Walk(ctx, b.Files(d), func(en cas.Entry) error {
			if keep(en.Path) {
				manifest[en.Path] = true
			}
			return nil
		})
		if err != nil {
			return element.Output{}, err
		}
	}
	before, err := pathSet(ctx, b.Store(), staged)
	if err != nil {
		return element.Output{}, err
	}
	after, err := pathSet(ctx, b.Store(), integrated)
	if err != nil {
		return element.Output{}, err
	}
	added, removed := 0, 0
	for p := range after {
		if !before[p] {
			manifest[p] = true
			added++
		}
	}
	for p := range manifest {
		if before[p] && !after[p] {
			delete(manifest, p)
			removed++
		}
	}
	b.Status("Integration added %d and removed %d files", added, removed)
	out := b.Store().NewTree()
	if _, err := out.Import(ctx, integrated, "/", func(p string) bool { return manifest[p] }); err != nil {
		return element.Output{}, err
	}
	d, err := out.Digest(ctx)
	return element.Output{Files: d}, err
}

// pathSet lists every path of a tree.
func pathSet(ctx context.Context, s *cas.LocalStore, root cas.Digest) (map[string]bool, error) {
	set := map[string]bool{}
	err := s.Walk(ctx, root, func(e cas.Entry) error {
		set[e.Path] = true
		return nil
	})
	return set, err
}

func describeSelection(s element.SplitSelection) string {
	var parts []string
	if len(s.Include) > 0 {
		parts = append(parts, "domains "+strings.Join(s.Include, ", "))
	} else {
		parts = append(parts, "all domains")
	}
	if len(s.Exclude) > 0 {
		parts = append(parts, "except "+strings.Join(s.Exclude, ", "))
	}
	if s.Orphans {
		parts = append(parts, "and orphaned files")
	} else {
		parts = append(parts, "without orphaned files")
	}
	return strings.Join(parts, " ")
}

// Assemble keeps the selected domains of the one build dependency.
func (c filterConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	e := b.Element()
	dep := e.BuildDeps()[0]
	sr, err := dep.Splits()
	if err != nil {
		return element.Output{}, err
	}
	var unknown []string
	for _, d := range append(append([]string(nil), c.include...), c.exclude...) {
		if !sr.Has(d) {
			unknown = append(unknown, d)
		}
	}
	if len(unknown) > 0 {
		return element.Output{}, fmt.Errorf("%s: unknown domains declared: %s", e.Name, strings.Join(unknown, ", "))
	}
	tree := b.Store().NewTree()
	sel := element.SplitSelection{Include: c.include, Exclude: c.exclude, Orphans: c.orphans}
	if err := b.StageArtifacts(ctx, tree, []*element.Element{dep}, "/", sel); err != nil {
		return element.Output{}, err
	}
	d, err := tree.Digest(ctx)
	out := element.Output{Files: d}
	if c.passIntegration {
		out.Public = passIntegration(e, dep)
	}
	return out, err
}

// passIntegration returns e's public data with dep's integration
// commands before its own.
func passIntegration(e, dep *element.Element) *node.Node {
	pub := e.Public.Clone()
	bst := pub.Get("bst")
	if bst == nil {
		bst = node.NewMapping(node.Synthetic)
		pub.Set("bst", bst)
	}
	cmds := node.NewSequence(node.Synthetic)
	for _, src := range []*element.Element{dep, e} {
		if list := src.Public.Get("bst").Get("integration-commands"); list != nil {
			for _, it := range list.Items() {
				cmds.Append(it.Clone())
			}
		}
	}
	bst.Set("integration-commands", cmds)
	return pub
}
