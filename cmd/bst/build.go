package main

import (
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
		format      string
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
			if format != "text" && format != "json" {
				return &usageError{fmt.Sprintf("invalid value %q for --format: choose text or json", format)}
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
			sess, err := a.newSession(l.project.Name, start, format == "json")
			if err != nil {
				return err
			}
			defer sess.close()
			if len(plan.Build) == 0 {
				sess.ui.Printf("Everything is cached: %d elements, nothing to build.\n", len(plan.Cached))
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
			rx, err := a.remoteExecutor(l.project.Name)
			if err != nil {
				return err
			}
			if rx != nil {
				defer rx.Close()
			}
			ctl := &scheduler.Control{}
			defer sess.handleInterrupts(c.Context(), ctl)()
			res, err := scheduler.Run(c.Context(), scheduler.Options{
				Sandbox:       sb,
				BuildDir:      buildDir,
				RemoteExec:    rx,
				Artifacts:     artifacts,
				Lookup:        lookup,
				Builders:      a.builders(),
				OnError:       onError,
				OnFailure:     sess.onFailure(),
				Control:       ctl,
				RetryFailed:   retryFailed,
				LogDir:        uc.LogDir,
				FatalWarnings: map[string][]string{l.project.Name: l.project.FatalWarnings},
				Events:        sess.event,
				Keep:          func(ref string) bool { return keep[ref] },
			}, plan)
			summary := fmt.Sprintf("\nBuilt %d elements, %d already cached", len(res.Built), len(plan.Cached))
			if len(res.Failed) > 0 {
				summary += fmt.Sprintf(", %d failed", len(res.Failed))
			}
			if len(res.Skipped) > 0 {
				summary += fmt.Sprintf(", %d not built", len(res.Skipped))
			}
			sess.ui.Printf("%s.\n", summary)
			return err
		},
	}
	f := c.Flags()
	f.StringVarP(&deps, "deps", "d", "", "the artifacts that must be cached at the end: none, run, build or all (default: the user configuration's build.dependencies, run)")
	f.BoolVarP(&retryFailed, "retry-failed", "r", false, "build again elements whose cached artifact is a failure")
	f.StringVar(&format, "format", "text", "how to report progress: text, or json for one JSON object per message on standard output")
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
