package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/sandbox"
	"github.com/bstgo/bst/scheduler"
	"github.com/bstgo/bst/ui"
)

func newBuildCommand(a *app) *cobra.Command {
	var (
		deps        string
		retryFailed bool
	)
	c := &cobra.Command{
		Use:   "build [ELEMENT...]",
		Short: "Build elements in a pipeline",
		Long: `Build ELEMENTs and everything they need that is not cached.

With no ELEMENT, the project's default targets are built, or every element.
--deps says which artifacts must be cached at the end, besides what building
them takes:
  none   the targets only
  run    the targets and their runtime dependencies (the default)
  build  the build dependencies of the targets
  all    the targets and all their dependencies

Each build writes a log under the user configuration's logdir; failed builds
are cached as failed artifacts, which later builds do not retry unless given
--retry-failed.`,
		RunE: func(c *cobra.Command, args []string) error {
			// Builds run sandboxes: seal the binary first (this re-executes
			// bst once, before anything else is done). A CPU profile is
			// stopped first: the sealed process starts its own.
			if !sandbox.Sealed() {
				pprof.StopCPUProfile()
			}
			if err := sandbox.Seal(); err != nil {
				return err
			}
			if deps == "" {
				uc, err := a.userConfig()
				if err != nil {
					return err
				}
				deps, _ = uc.Node.Get("build").GetString("dependencies", "run")
				if !retryFailed {
					retryFailed, _ = uc.Node.Get("build").GetBool("retry-failed", false)
				}
			}
			sel, err := parseDeps(deps)
			if err != nil {
				return err
			}
			onError, err := a.onErrorMode()
			if err != nil {
				return err
			}
			start := time.Now()
			l, err := a.loadTargets(c.Context(), args, nil)
			if err != nil {
				return err
			}
			artifacts, err := a.openCache()
			if err != nil {
				return err
			}
			uc, _ := a.userConfig()
			lookup := scheduler.NewLookup(artifacts)
			selected := element.Select(l.targets, sel, nil)
			plan := scheduler.NewPlan(lookup, selected)
			logger := ui.NewLogger(a.stderr, start, uc.KeyLength)
			if len(plan.Build) == 0 {
				fmt.Fprintf(a.stderr, "Everything is cached: %d elements, nothing to build.\n", len(plan.Cached))
				return nil
			}
			keep := map[string]bool{}
			for _, e := range append(append([]*element.Element(nil), plan.Cached...), plan.Build...) {
				if ref := scheduler.Ref(e); ref != "" {
					keep[ref] = true
					artifacts.Touch(ref)
				}
			}
			buildDir := filepath.Join(artifacts.Store().Root(), "build")
			sb, err := sandbox.New(c.Context(), sandbox.Options{Stager: artifacts.Store(), Dir: buildDir})
			if err != nil {
				return err
			}
			defer sb.Close()
			res, err := scheduler.Run(c.Context(), scheduler.Options{
				Sandbox:       sb,
				BuildDir:      buildDir,
				Artifacts:     artifacts,
				Lookup:        lookup,
				Builders:      a.builders(),
				OnError:       onError,
				RetryFailed:   retryFailed,
				LogDir:        uc.LogDir,
				FatalWarnings: map[string][]string{l.project.Name: l.project.FatalWarnings},
				Events:        func(ev scheduler.Event) { logger.Log(eventLine(ev)) },
				Keep:          func(ref string) bool { return keep[ref] },
			}, plan)
			fmt.Fprintf(a.stderr, "\nBuilt %d elements, %d already cached", len(res.Built), len(plan.Cached))
			if len(res.Failed) > 0 {
				fmt.Fprintf(a.stderr, ", %d failed", len(res.Failed))
			}
			if len(res.Skipped) > 0 {
				fmt.Fprintf(a.stderr, ", %d not built", len(res.Skipped))
			}
			fmt.Fprintln(a.stderr, ".")
			var fe *scheduler.FailedError
			if errors.As(err, &fe) {
				return fmt.Errorf("%w", err)
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVarP(&deps, "deps", "d", "", "the artifacts that must be cached at the end: none, run, build or all (default: the user configuration's build.dependencies, run)")
	f.BoolVarP(&retryFailed, "retry-failed", "r", false, "build again elements whose cached artifact is a failure")
	_ = c.RegisterFlagCompletionFunc("deps", cobra.FixedCompletions([]string{"none", "run", "build", "all"}, cobra.ShellCompDirectiveNoFileComp))
	c.ValidArgsFunction = a.completeElements
	return c
}

// eventLine renders a scheduler event for the log.
func eventLine(ev scheduler.Event) ui.LogLine {
	l := ui.LogLine{Time: ev.Time, Kind: string(ev.Kind), Action: ev.Action, Message: ev.Message,
		Detail: ev.Detail, Elapsed: ev.Elapsed}
	if ev.Element != nil {
		l.Element = ev.Element.FullName
		l.Key = ev.Element.Keys.Strong
	}
	if ev.Kind == scheduler.Start && ev.LogFile != "" {
		l.Message = ev.LogFile
	}
	return l
}
