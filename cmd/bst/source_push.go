package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/source"
	"github.com/bstgo/bst/ui"
)

// pullSources pulls, from the source caches the project and rf name,
// the sources of the elements of list that are not in the local source
// cache, --fetchers at once, and returns how many were pulled. Remotes
// that fail are warnings: fetching upstream follows.
func (s *sourceSession) pullSources(ctx context.Context, list []*source.ElementSources, rf *remoteFlags) (int, error) {
	rs, err := s.a.openRemoteSources(s.l.project, rf, cas.PurposePull, s.env.Cache, func(msg string) { s.log("WARN", "", msg) })
	if err != nil {
		return 0, err
	}
	defer rs.Remotes().Close()
	if !rs.Remotes().Configured(s.l.project.Name, false) {
		return 0, nil
	}
	var mu sync.Mutex
	pulled := 0
	forEachParallel(ctx, list, s.fetchers(), func(ctx context.Context, es *source.ElementSources) {
		if s.env.Cached(ctx, es) {
			return
		}
		key, err := es.Key()
		if err != nil {
			return // fetching reports it
		}
		ok, err := rs.PullElementSources(ctx, es.Project, key)
		if err != nil {
			warnEach(err, func(msg string) { s.log("WARN", es.Element, msg) })
		}
		if ok {
			s.logger.Log(ui.LogLine{Time: time.Now(), Kind: "SUCCESS", Action: "pull", Element: es.Element, Message: "pulled the sources from a source cache"})
			mu.Lock()
			pulled++
			mu.Unlock()
		}
	})
	return pulled, ctx.Err()
}

// resolvedSources loads the targets of a source command and returns its
// session with the sources of the elements --deps selects, which must
// all have refs. The caller closes s.env.
func (a *app) resolvedSources(ctx context.Context, sf *sourceFlags, action, deps string, args, except []string) (*sourceSession, []*source.ElementSources, error) {
	sel, err := parseDeps(deps)
	if err != nil {
		return nil, nil, err
	}
	s, err := a.sourceSession(ctx, sf, action, args, except)
	if err != nil {
		return nil, nil, err
	}
	elements := element.Select(s.l.targets, sel, s.l.except)
	if err := assertResolved(elements); err != nil {
		s.env.Close()
		return nil, nil, err
	}
	return s, withSources(elements), nil
}

// sourceDepsHelp explains --deps for a source command that does verb.
func sourceDepsHelp(verb string) string {
	return "--deps selects the elements whose sources to " + verb + ` besides the targets:
  none   the targets only (the default)
  run    the targets and their runtime dependencies
  build  the build dependencies of the targets, without the targets
  all    the targets and all their dependencies`
}

func newSourcePushCommand(a *app, sf *sourceFlags) *cobra.Command {
	var (
		deps   string
		except []string
		rf     remoteFlags
	)
	c := &cobra.Command{
		Use:   "push [ELEMENT...]",
		Short: "Push sources in a pipeline",
		Long: `Push the sources of ELEMENTs (the default targets, or every element, when
none is given) to the source caches that accept pushes: the project's
source-caches:, the user configuration's, or --source-remote. Sources not
fetched yet are fetched first.

` + sourceDepsHelp("push"),
		RunE: func(c *cobra.Command, args []string) error {
			s, list, err := a.resolvedSources(c.Context(), sf, "push", deps, args, except)
			if err != nil {
				return err
			}
			defer s.env.Close()
			rs, err := a.openRemoteSources(s.l.project, &rf, cas.PurposePush, s.env.Cache, func(msg string) { s.log("WARN", "", msg) })
			if err != nil {
				return err
			}
			defer rs.Remotes().Close()
			name := s.l.project.Name
			if !rs.Remotes().Configured(name, true) || !rs.Remotes().Available(c.Context(), name, true) {
				return fmt.Errorf("no source caches available for pushing sources")
			}
			s.action = "fetch"
			if err := s.env.FetchAll(c.Context(), list, s.fetchers(), s.report); err != nil {
				return fmt.Errorf("fetching sources: %w", err)
			}
			s.action = "push"
			var (
				mu          sync.Mutex
				pushed, had int
				failed      []string
				count       = func(n *int) { mu.Lock(); *n++; mu.Unlock() }
				start       = func(el string) {
					s.logger.Log(ui.LogLine{Time: time.Now(), Kind: "START", Action: "push", Element: el})
				}
				result = func(kind, el, msg string) {
					s.logger.Log(ui.LogLine{Time: time.Now(), Kind: kind, Action: "push", Element: el, Message: msg})
				}
			)
			forEachParallel(c.Context(), list, a.pushers(), func(ctx context.Context, es *source.ElementSources) {
				start(es.Element)
				key, err := es.Key()
				if err == nil {
					// Staging makes sure the staged tree is cached locally.
					_, err = s.env.Stage(ctx, es)
				}
				var ok bool
				if err == nil {
					ok, err = rs.PushElementSources(ctx, es.Project, key)
				}
				switch {
				case err != nil:
					warnEach(err, func(msg string) { s.log("WARN", es.Element, msg) })
					result("FAILURE", es.Element, "not pushed")
					mu.Lock()
					failed = append(failed, es.Element)
					mu.Unlock()
				case ok:
					result("SUCCESS", es.Element, "pushed")
					count(&pushed)
				default:
					result("SKIPPED", es.Element, "the remotes have it already")
					count(&had)
				}
			})
			if err := c.Context().Err(); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "\nPushed the sources of %d elements, %d already on the remotes", pushed, had)
			if len(failed) > 0 {
				fmt.Fprintf(a.stderr, ", %d failed", len(failed))
			}
			fmt.Fprintln(a.stderr, ".")
			if len(failed) > 0 {
				sort.Strings(failed)
				return fmt.Errorf("pushing sources failed for %d elements: %s", len(failed), strings.Join(firstNames(failed, 5), ", "))
			}
			return nil
		},
	}
	addDepsFlag(c, &deps, "none")
	c.Flags().StringArrayVar(&except, "except", nil, "except these elements and what only they depend on (repeatable)")
	addSourceRemoteFlags(c, &rf, "a source cache to push to, before the configured ones", cas.PurposePush)
	c.ValidArgsFunction = a.completeElements
	return c
}
