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
	l, resume, err := loadGraph(ctx, p, args, except)
	defer resume()
	if err != nil {
		return nil, err
	}
	if err := computeKeys(a, p, l.targets); err != nil {
		return nil, err
	}
	return l, nil
}

// loadGraph loads the element graph of p for the elements args and except
// name (globs expanded; the default targets when args is empty). The
// collector is paused from the start of the load (see pauseGC) until
// resume is called, which the caller does once the keys are computed;
// resume must be called whatever the error.
func loadGraph(ctx context.Context, p *loader.Project, args, except []string) (l *loaded, resume func(), err error) {
	names, err := p.ExpandTargets(args)
	if err != nil {
		return nil, func() {}, err
	}
	// No --except is no exception, not the default targets.
	var exceptNames []string
	if len(except) > 0 {
		if exceptNames, err = p.ExpandTargets(except); err != nil {
			return nil, func() {}, err
		}
	}
	resume = pauseGC()
	stopWatch := watchHeapWhileLoading()
	g, err := p.Load(ctx, append(append([]string(nil), names...), exceptNames...))
	stopWatch()
	if err != nil {
		return nil, resume, err
	}
	l = &loaded{project: p, graph: g}
	for _, n := range names {
		l.targets = appendUnique(l.targets, g.Target(n))
	}
	for _, n := range exceptNames {
		l.except = appendUnique(l.except, g.Target(n))
	}
	return l, resume, nil
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
