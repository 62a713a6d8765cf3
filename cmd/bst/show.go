package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/scheduler"
	"github.com/bstgo/bst/ui"
)

func newShowCommand(a *app) *cobra.Command {
	var (
		deps   string
		except []string
		order  string
		format string
	)
	c := &cobra.Command{
		Use:   "show [ELEMENT...]",
		Short: "Show elements in the pipeline",
		Long: `Show elements and their dependencies.

ELEMENT may be a glob: * matches within a directory, ** across directories.
With no ELEMENT, the project's default targets are shown, or every element.

--deps selects what is shown besides the targets:
  none   the targets only
  run    the targets and their runtime dependencies
  build  the build dependencies of the targets, without the targets
  all    the targets and all their dependencies (the default)

--format takes a template of %{symbol} fields, each with an optional
Python-style format spec such as %{name: >30} or %{kind:^10}. Symbols:

  %{name}          the element's name
  %{kind}          the element's kind
  %{description}   the element's description
  %{key}           the element's cache key, shortened (logging.key-length)
  %{full-key}      the element's whole cache key
  %{state}         no reference, junction, cached, failed, fetch needed,
                   buildable or waiting
  %{artifact-cas-digest}  the digest of the cached artifact's files
  %{config}        the element's configuration, as YAML
  %{vars}          the element's variables, as YAML
  %{env}           the element's environment, as YAML
  %{public}        the element's public data, as YAML
  %{deps}          the element's direct dependencies, as a YAML list
  %{build-deps}    its direct build dependencies, as a YAML list
  %{runtime-deps}  its direct runtime dependencies, as a YAML list

Set BST_DEBUG_CACHEKEY=1 to print each key's preimage on stderr.`,
		RunE: func(c *cobra.Command, args []string) error {
			sel := element.Selection(deps)
			switch sel {
			case element.SelectNone, element.SelectRun, element.SelectBuild, element.SelectAll:
			default:
				return &usageError{fmt.Sprintf("invalid value %q for --deps: choose none, run, build or all", deps)}
			}
			if order != "stage" && order != "alpha" {
				return &usageError{fmt.Sprintf("invalid value %q for --order: choose stage or alpha", order)}
			}
			uc, err := a.userConfig()
			if err != nil {
				return err
			}
			if format == "" {
				format = uc.ElementFormat
			}
			tmpl, err := ui.ParseTemplate(format)
			if err == nil {
				err = tmpl.CheckSymbols(ui.ShowSymbols)
			}
			if err != nil {
				return &usageError{fmt.Sprintf("invalid --format: %v", err)}
			}
			p, err := a.loadProject(c.Context())
			if err != nil {
				return err
			}
			l, resume, err := loadGraph(c.Context(), p, args, except)
			// Paused to the end: the keys and the lines allocate what
			// stays until the command ends, as the load does.
			defer resume()
			if err != nil {
				return err
			}
			roots, exc := l.targets, l.except
			all := element.Dependencies(roots, element.ScopeAll)
			if err := computeKeysOf(a, p, all); err != nil {
				return err
			}
			elements := all
			if sel != element.SelectAll || len(exc) > 0 {
				elements = element.Select(roots, sel, exc)
			}
			if order == "alpha" {
				elements = element.SortByName(elements)
			}
			newContext, err := a.showContext(tmpl, uc.KeyLength, len(all))
			if err != nil {
				return err
			}
			lines, err := ui.ShowLines(tmpl, elements, newContext, a.useColors())
			if err != nil {
				return err
			}
			for _, l := range lines {
				if _, err := a.stdout.Write(l); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&deps, "deps", "d", "all", "the dependencies to show: none, run, build or all")
	f.StringArrayVar(&except, "except", nil, "except these elements and what only they depend on (repeatable)")
	f.StringVar(&order, "order", "stage", "the order: stage (dependencies first) or alpha")
	f.StringVarP(&format, "format", "f", "", "the format of each line (default: the user configuration's logging.element-format, \"%{state: >12} %{full-key} %{name} %{workspace-dirs}\")")
	_ = c.RegisterFlagCompletionFunc("deps", cobra.FixedCompletions([]string{"none", "run", "build", "all"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("order", cobra.FixedCompletions([]string{"stage", "alpha"}, cobra.ShellCompDirectiveNoFileComp))
	c.ValidArgsFunction = a.completeElements
	return c
}

func appendUnique(list []*element.Element, e *element.Element) []*element.Element {
	for _, x := range list {
		if x == e {
			return list
		}
	}
	return append(list, e)
}

// showContext returns what rendering tmpl needs, as a function giving each
// rendering goroutine its own context: the local cache is only opened when
// the template shows states or artifact digests, and each context walks
// scopes with its own cache, sized for the n elements of the graph.
func (a *app) showContext(tmpl *ui.Template, keyLength, n int) (func() ui.ShowContext, error) {
	sc := ui.ShowContext{KeyLength: keyLength}
	if !tmpl.Uses("state") && !tmpl.Uses("artifact-cas-digest") {
		return func() ui.ShowContext { return sc }, nil
	}
	artifacts, err := a.openCache()
	if err != nil {
		return nil, err
	}
	lookup := scheduler.NewLookup(artifacts)
	if a.project != nil {
		env, err := a.newSourceEnvFor(a.project, &a.src, nil, true)
		if err != nil {
			return nil, err
		}
		lookup.SetFetchNeeded(fetchNeeded(context.Background(), env))
	}
	return func() ui.ShowContext {
		sc := sc
		scope := element.NewScratchScopeCacheFor(n) // State only looks through scopes
		sc.State = func(e *element.Element) string { return lookup.State(e, scope) }
		sc.ArtifactDigest = lookup.ArtifactDigest
		return sc
	}, nil
}
