package main

import (
	"context"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader"
)

// loaded is a project loaded for some targets, with their cache keys.
type loaded struct {
	project *loader.Project
	graph   *loader.Graph
	targets []*element.Element
	except  []*element.Element
}

// loadTargets loads the project, the elements named on the command line
// (globs expanded; the default targets when there are none) and those of
// --except, and computes the keys of everything they depend on.
func (a *app) loadTargets(ctx context.Context, args, except []string) (*loaded, error) {
	p, err := a.loadProject(ctx)
	if err != nil {
		return nil, err
	}
	names, err := p.ExpandTargets(args)
	if err != nil {
		return nil, err
	}
	var exceptNames []string
	if len(except) > 0 {
		if exceptNames, err = p.ExpandTargets(except); err != nil {
			return nil, err
		}
	}
	stopWatch := watchHeapWhileLoading()
	g, err := p.Load(ctx, append(append([]string(nil), names...), exceptNames...))
	stopWatch()
	if err != nil {
		return nil, err
	}
	l := &loaded{project: p, graph: g}
	for _, n := range names {
		l.targets = appendUnique(l.targets, g.Target(n))
	}
	for _, n := range exceptNames {
		l.except = appendUnique(l.except, g.Target(n))
	}
	if err := computeKeys(a, p, l.targets); err != nil {
		return nil, err
	}
	return l, nil
}

// parseDeps checks a --deps value.
func parseDeps(deps string) (element.Selection, error) {
	sel := element.Selection(deps)
	switch sel {
	case element.SelectNone, element.SelectRun, element.SelectBuild, element.SelectAll:
		return sel, nil
	}
	return "", &usageError{"invalid value " + quote(deps) + " for --deps: choose none, run, build or all"}
}

func quote(s string) string { return "\"" + s + "\"" }
