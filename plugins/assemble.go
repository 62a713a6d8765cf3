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

// Assemble stages the build dependencies and keeps what the split
// domains select.
func (c composeConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	if c.integrate {
		if e := b.Element(); hasIntegrationCommands(e) {
			return element.Output{}, fmt.Errorf("%s: running integration commands needs the build sandbox, which this bst does not have yet", e.Name)
		}
	}
	deps := element.Dependencies([]*element.Element{b.Element()}, element.ScopeBuild)
	tree := b.Store().NewTree()
	sel := element.SplitSelection{Include: c.include, Exclude: c.exclude, Orphans: c.orphans}
	if len(c.include) > 0 || len(c.exclude) > 0 || !c.orphans {
		b.Status("Composing with %s", describeSelection(sel))
	}
	if err := b.StageArtifacts(ctx, tree, deps, "/", sel); err != nil {
		return element.Output{}, err
	}
	d, err := tree.Digest(ctx)
	return element.Output{Files: d}, err
}

// hasIntegrationCommands reports whether anything a compose stages has
// integration commands to run.
func hasIntegrationCommands(e *element.Element) bool {
	for _, d := range element.Dependencies([]*element.Element{e}, element.ScopeBuild) {
		if cmds := d.Public.Get("bst").Get("integration-commands"); cmds != nil && cmds.Len() > 0 {
			return true
		}
	}
	return false
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
