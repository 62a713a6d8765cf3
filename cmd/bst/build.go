package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/sandbox"
	"github.com/bstgo/bst/scheduler"
	"github.com/bstgo/bst/source"
	"github.com/bstgo/bst/ui"
)

func newBuildCommand(a *app) *cobra.Command {
	var (
		deps        string
		retryFailed bool
		format      string
		rf          remoteFlags
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

Queues: elements are pulled from the artifact caches when some are
configured (the project's artifacts:, the user configuration's, or
--artifact-remote), their sources fetched (from the source caches first)
when they must be built, built, and pushed to the caches that accept
pushes. A remote that is down or refuses a push is a warning.

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
			a.building = true
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
			warn := func(e *element.Element, msg string) {
				sess.event(scheduler.Event{Time: time.Now(), Kind: scheduler.Warning, Element: e, Message: msg})
			}
			env, err := a.newSourceEnv(l.project, &a.src, func(m source.Message) {
				kind := map[source.MessageKind]string{source.Status: "STATUS", source.Info: "INFO", source.Warning: "WARN"}[m.Kind]
				sess.ui.Log(ui.LogLine{Time: time.Now(), Kind: kind, Action: "fetch", Element: m.Element, Message: m.Text}, "")
			})
			if err != nil {
				return err
			}
			defer env.Close()
			transfers, err := a.openBuildTransfers(l, env, &rf, func(msg string) { warn(nil, msg) })
			if err != nil {
				return err
			}
			defer transfers.close()
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
			sb, err := sandbox.New(c.Context(), sandbox.Options{Stager: artifacts.Store(), Roots: artifacts.Store(), Dir: buildDir})
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
			opts := scheduler.Options{
				Sandbox:       sb,
				BuildDir:      buildDir,
				RemoteExec:    rx,
				Artifacts:     artifacts,
				Lookup:        lookup,
				Builders:      a.builders(),
				Fetchers:      a.fetchers(),
				Pushers:       a.pushers(),
				OnError:       onError,
				OnFailure:     sess.onFailure(),
				Control:       ctl,
				RetryFailed:   retryFailed,
				LogDir:        uc.LogDir,
				FatalWarnings: map[string][]string{l.project.Name: l.project.FatalWarnings},
				Events:        sess.event,
				Keep:          func(ref string) bool { return keep[ref] },
			}
			transfers.wire(&opts, env, warn)
			if sess.interact {
				sess.shell = func(e *element.Element) error {
					cfg, err := scheduler.ParseShellConfig(l.project.Config.Get("shell"), os.LookupEnv)
					if err != nil {
						return err
					}
					_, err = scheduler.Shell(c.Context(), scheduler.ShellOptions{
						Options: opts, Element: e, Build: true, Config: cfg,
						Prompt: shellPrompt(e.FullName, e.Keys.Strong, uc.KeyLength),
						Stdin:  a.stdin, Stdout: a.stderr, Stderr: a.stderr, Tty: true,
					})
					return err
				}
			}
			res, err := scheduler.Run(c.Context(), opts, plan)
			summary := fmt.Sprintf("\nBuilt %d elements, %d already cached", len(res.Built), len(plan.Cached))
			if len(res.Pulled) > 0 {
				summary += fmt.Sprintf(", %d pulled", len(res.Pulled))
			}
			if len(res.Pushed) > 0 {
				summary += fmt.Sprintf(", %d pushed", len(res.Pushed))
			}
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
	addArtifactRemoteFlags(c, &rf, "an artifact cache to pull from and push to, before the configured ones", cas.PurposeAll)
	addSourceRemoteFlags(c, &rf, "a source cache to pull from and push to, before the configured ones", cas.PurposeAll)
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
