package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader"
	"github.com/bstgo/bst/source"
	"github.com/bstgo/bst/ui"
)

// remoteFlags are the remote cache options of a command:
// --artifact-remote, --source-remote (repeatable) and
// --ignore-project-artifact-remotes, --ignore-project-source-remotes.
type remoteFlags struct {
	artifactRemotes       []string
	sourceRemotes         []string
	ignoreProjectArtifact bool
	ignoreProjectSource   bool
}

// remoteSyntax describes the --artifact-remote/--source-remote syntax;
// push= is only allowed when the remote is for pulling and pushing.
func remoteSyntax(purpose cas.SpecPurpose) string {
	push := ""
	if purpose == cas.PurposeAll {
		push = ",push=true|false"
	}
	return "a URL, or url=URL,instance-name=…,type=index|storage|all" + push + ",server-cert=…,client-key=…,client-cert=…,access-token=… (repeatable)"
}

// addArtifactRemoteFlags adds --artifact-remote and
// --ignore-project-artifact-remotes to c; purpose is what its remotes are
// for.
func addArtifactRemoteFlags(c *cobra.Command, rf *remoteFlags, usage string, purpose cas.SpecPurpose) {
	c.Flags().StringArrayVar(&rf.artifactRemotes, "artifact-remote", nil, usage+": "+remoteSyntax(purpose))
	c.Flags().BoolVar(&rf.ignoreProjectArtifact, "ignore-project-artifact-remotes", false,
		"ignore the artifact caches the project recommends")
}

// addSourceRemoteFlags adds --source-remote and
// --ignore-project-source-remotes to c.
func addSourceRemoteFlags(c *cobra.Command, rf *remoteFlags, usage string, purpose cas.SpecPurpose) {
	c.Flags().StringArrayVar(&rf.sourceRemotes, "source-remote", nil, usage+": "+remoteSyntax(purpose))
	c.Flags().BoolVar(&rf.ignoreProjectSource, "ignore-project-source-remotes", false,
		"ignore the source caches the project recommends")
}

// remoteSpecs parses command line remotes.
func remoteSpecs(flag string, values []string, purpose cas.SpecPurpose) ([]cas.RemoteSpec, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	var out []cas.RemoteSpec
	for _, v := range values {
		spec, err := cas.ParseRemoteSpecString(v, purpose, cwd)
		if err != nil {
			return nil, &usageError{fmt.Sprintf("invalid value for --%s: failed to interpret remote: %v", flag, err)}
		}
		out = append(out, spec)
	}
	return out, nil
}

// resolveRemoteSpecs returns the remotes of each project for one kind of
// cache: for p (which may be nil, outside a project) its own, with its
// recommendations; for the other projects, those of the user
// configuration and the command line.
func (a *app) resolveRemoteSpecs(kind cas.CacheKind, p *loader.Project, others []string, sel cas.RemoteSelection) (map[string][]cas.RemoteSpec, error) {
	uc, err := a.userConfig()
	if err != nil {
		return nil, err
	}
	out := map[string][]cas.RemoteSpec{}
	if p != nil {
		specs, err := cas.ResolveRemotes(kind, uc.Node, p.Name, p.Config, p.Dir, sel)
		if err != nil {
			return nil, err
		}
		out[p.Name] = specs
	}
	for _, name := range others {
		if _, ok := out[name]; ok {
			continue
		}
		specs, err := cas.ResolveRemotes(kind, uc.Node, name, nil, "", sel)
		if err != nil {
			return nil, err
		}
		out[name] = specs
	}
	return out, nil
}

// openRemoteArtifacts returns the local artifact cache backed by the
// artifact caches of project p (nil outside a project) and of the other
// projects named, as the user configuration, the project and rf say.
// purpose is what command line remotes are for. Remotes that cannot be
// used are reported through warn, once each. Close the result's Remotes
// when done.
//
// This is what bst build needs: PullQueue-style Pull(ctx, ref) before
// building and Push(ctx, ref) after (see cas.RemoteArtifactCache).
func (a *app) openRemoteArtifacts(p *loader.Project, others []string, rf *remoteFlags, purpose cas.SpecPurpose, warn func(string)) (*cas.RemoteArtifactCache, error) {
	cli, err := remoteSpecs("artifact-remote", rf.artifactRemotes, purpose)
	if err != nil {
		return nil, err
	}
	specs, err := a.resolveRemoteSpecs(cas.ArtifactCaches, p, others, cas.RemoteSelection{CLI: cli, IgnoreProject: rf.ignoreProjectArtifact})
	if err != nil {
		return nil, err
	}
	local, err := a.openCache()
	if err != nil {
		return nil, err
	}
	return cas.NewRemoteArtifactCache(local, cas.NewRemotes(specs, warn)), nil
}

// openRemoteSources returns the remote source caches of project p for
// the local source cache refs (a *source.Cache): what `bst source push`
// and the fetch of a build need (see cas.RemoteSourceCache).
func (a *app) openRemoteSources(p *loader.Project, rf *remoteFlags, purpose cas.SpecPurpose, refs cas.SourceRefs, warn func(string)) (*cas.RemoteSourceCache, error) {
	cli, err := remoteSpecs("source-remote", rf.sourceRemotes, purpose)
	if err != nil {
		return nil, err
	}
	specs, err := a.resolveRemoteSpecs(cas.SourceCaches, p, nil, cas.RemoteSelection{CLI: cli, IgnoreProject: rf.ignoreProjectSource})
	if err != nil {
		return nil, err
	}
	local, err := a.openCache()
	if err != nil {
		return nil, err
	}
	return cas.NewRemoteSourceCache(local.Store(), refs, cas.NewRemotes(specs, warn)), nil
}

// The source cache is what the remote source caches record into.
var _ cas.SourceRefs = (*source.Cache)(nil)

// schedulerLimit reads scheduler.<key> from the user configuration.
func (a *app) schedulerLimit(key string, def int) int {
	if uc, err := a.userConfig(); err == nil {
		if n, err := uc.Node.Get("scheduler").GetInt(key, def); err == nil && n > 0 {
			return n
		}
	}
	return def
}

// transferTarget is one artifact to pull or push: the refs to try, in
// order (the strong key's, then in non-strict mode the weak key's).
type transferTarget struct {
	name string
	key  string
	refs []string
}

// transferTargets resolves ARTIFACT arguments for pull and push, and
// the projects they belong to.
func (a *app) transferTargets(ctx context.Context, args []string, deps string) ([]transferTarget, *loader.Project, []string, error) {
	sel, err := parseDeps(deps)
	if err != nil {
		return nil, nil, nil, err
	}
	targets, _, err := a.resolveArtifacts(ctx, args, sel)
	if err != nil {
		return nil, nil, nil, err
	}
	var out []transferTarget
	projects := map[string]bool{}
	for _, t := range targets {
		tt := transferTarget{name: t.name}
		if e := t.element; e != nil {
			if e.Keys.Strong == "" {
				return nil, nil, nil, fmt.Errorf("%s: its cache key is not known (are its sources tracked?)", t.name)
			}
			tt.key = e.Keys.Strong
			tt.refs = []string{cas.ArtifactRef(e.Project, e.Name, e.Keys.Strong)}
			if !a.strictMode() && e.Keys.Weak != "" && e.Keys.Weak != e.Keys.Strong {
				tt.refs = append(tt.refs, cas.ArtifactRef(e.Project, e.Name, e.Keys.Weak))
			}
		} else {
			tt.refs = []string{t.ref}
			tt.key = t.ref[strings.LastIndexByte(t.ref, '/')+1:]
		}
		projects[strings.SplitN(tt.refs[0], "/", 2)[0]] = true
		out = append(out, tt)
	}
	p := a.project
	if p == nil {
		// Refs only: the project, if there is one here, recommends remotes.
		if lp, err := a.loadProject(ctx); err == nil {
			p = lp
		}
	}
	var others []string
	for name := range projects {
		if p == nil || name != p.Name {
			others = append(others, name)
		}
	}
	sort.Strings(others)
	return out, p, others, nil
}

// forEachParallel runs fn for every target, n at once.
func forEachParallel[T any](ctx context.Context, targets []T, n int, fn func(context.Context, T)) {
	next := make(chan T)
	var wg sync.WaitGroup
	for range min(n, max(len(targets), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range next {
				fn(ctx, t)
			}
		}()
	}
	for _, t := range targets {
		if ctx.Err() != nil {
			break
		}
		next <- t
	}
	close(next)
	wg.Wait()
}

// warnRemoteErrors logs each remote failure joined in err as a warning.
func warnRemoteErrors(log func(kind, name, key, msg string), name, key string, err error) {
	warnEach(err, func(msg string) { log("WARN", name, key, msg) })
}

func newArtifactPullCommand(a *app) *cobra.Command {
	var deps string
	rf := &remoteFlags{}
	c := &cobra.Command{
		Use:   "pull [ARTIFACT...]",
		Short: "Pull built artifacts from remote caches",
		Long: `Pull artifacts from the remote artifact caches into the local cache.

With no ARTIFACT, the project's default targets are pulled (or every
element). The remotes are the configured ones, in their usual order (see
docs/remote-caches.md); --artifact-remote replaces those of the user
configuration. Every blob is checked against its digest before it is
stored: a remote serving corrupted data is reported, and nothing of it is
kept.

--deps says which artifacts to pull besides the targets:
  none   the targets only (the default)
  run    the targets and their runtime dependencies
  build  the build dependencies of the targets
  all    the targets and all their dependencies`,
		RunE: func(c *cobra.Command, args []string) error {
			return a.runTransfer(c.Context(), "pull", args, deps, rf)
		},
	}
	addDepsFlag(c, &deps, "none")
	addArtifactRemoteFlags(c, rf, "a remote cache to pull from", cas.PurposePull)
	c.ValidArgsFunction = a.completeElements
	return c
}

func newArtifactPushCommand(a *app) *cobra.Command {
	var deps string
	rf := &remoteFlags{}
	c := &cobra.Command{
		Use:   "push [ARTIFACT...]",
		Short: "Push built artifacts to remote caches",
		Long: `Push artifacts from the local cache to the remote artifact caches that
accept pushes (push: true, or --artifact-remote, whose push defaults to
true). Each artifact goes out under the Remote Asset URNs of its strong and
weak keys, as BuildStream 2 pushes it; artifacts built from a workspace are
not pushed.

With no ARTIFACT, the project's default targets are pushed (or every
element); --deps selects dependencies as for pull (default none).`,
		RunE: func(c *cobra.Command, args []string) error {
			return a.runTransfer(c.Context(), "push", args, deps, rf)
		},
	}
	addDepsFlag(c, &deps, "none")
	addArtifactRemoteFlags(c, rf, "a remote cache to push to", cas.PurposePush)
	c.ValidArgsFunction = a.completeElements
	return c
}

// runTransfer pulls or pushes the artifacts of args.
func (a *app) runTransfer(ctx context.Context, action string, args []string, deps string, rf *remoteFlags) error {
	start := time.Now()
	targets, p, others, err := a.transferTargets(ctx, args, deps)
	if err != nil {
		return err
	}
	uc, err := a.userConfig()
	if err != nil {
		return err
	}
	logger := ui.NewLogger(a.stderr, start, uc.KeyLength)
	log := func(kind, name, key, msg string) {
		logger.Log(ui.LogLine{Time: time.Now(), Kind: kind, Action: action, Element: name, Key: key, Message: msg})
	}
	warn := func(msg string) { log("WARN", "", "", msg) }
	purpose, push := cas.PurposePull, false
	if action == "push" {
		purpose, push = cas.PurposePush, true
	}
	rc, err := a.openRemoteArtifacts(p, others, rf, purpose, warn)
	if err != nil {
		return err
	}
	defer rc.Remotes().Close()
	what := map[bool]string{false: "pulling", true: "pushing"}[push]
	projects := others
	if p != nil {
		projects = append([]string{p.Name}, others...)
	}
	usable := false
	for _, name := range projects {
		if rc.Remotes().Configured(name, push) && rc.Remotes().Available(ctx, name, push) {
			usable = true
		}
	}
	if !usable {
		return fmt.Errorf("no artifact caches available for %s artifacts", what)
	}
	var (
		mu                      sync.Mutex
		done, skipped, notFound int
		failed                  []string
		local                   = rc.Local()
		keep                    = map[string]bool{}
		pushersOrFetchers       = a.schedulerLimit(map[bool]string{false: "fetchers", true: "pushers"}[push], 4)
		finished                = func(counter *int) { mu.Lock(); *counter++; mu.Unlock() }
		fail                    = func(name string) { mu.Lock(); failed = append(failed, name); mu.Unlock() }
	)
	for _, t := range targets {
		for _, r := range t.refs {
			keep[r] = true
		}
	}
	forEachParallel(ctx, targets, pushersOrFetchers, func(ctx context.Context, t transferTarget) {
		if !push {
			for _, r := range t.refs {
				if local.Contains(r) {
					log("INFO", t.name, t.key, "already cached")
					finished(&skipped)
					return
				}
			}
			for _, r := range t.refs {
				ok, err := rc.Pull(ctx, r)
				if ok {
					log("SUCCESS", t.name, t.key, "pulled "+r)
					finished(&done)
					return
				}
				if err != nil {
					warnRemoteErrors(log, t.name, t.key, err)
					fail(t.name)
					return
				}
			}
			log("INFO", t.name, t.key, "not found on the remotes")
			finished(&notFound)
			return
		}
		ref := ""
		for _, r := range t.refs {
			if local.Contains(r) {
				ref = r
				break
			}
		}
		if ref == "" {
			log("FAILURE", t.name, t.key, "not cached locally: build or pull it first")
			fail(t.name)
			return
		}
		ok, err := rc.Push(ctx, ref)
		switch {
		case errors.Is(err, cas.ErrWorkspaced):
			log("INFO", t.name, t.key, "not pushed: built from a workspace")
			finished(&skipped)
		case err != nil:
			var re *cas.RemoteError
			if !errors.As(err, &re) {
				log("FAILURE", t.name, t.key, err.Error())
			} else {
				warnRemoteErrors(log, t.name, t.key, err)
			}
			fail(t.name)
		case ok:
			log("SUCCESS", t.name, t.key, "pushed "+ref)
			finished(&done)
		default:
			log("INFO", t.name, t.key, "the remotes have it already")
			finished(&skipped)
		}
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !push && done > 0 {
		if _, err := local.Store().MaybeExpire(ctx, func(_ cas.RefSpace, ref string) bool { return keep[ref] }); err != nil {
			return fmt.Errorf("expiring artifacts: %w", err)
		}
	}
	if push {
		fmt.Fprintf(a.stderr, "\nPushed %d artifacts, %d already on the remotes", done, skipped)
	} else {
		fmt.Fprintf(a.stderr, "\nPulled %d artifacts, %d already cached, %d not found", done, skipped, notFound)
	}
	if len(failed) > 0 {
		fmt.Fprintf(a.stderr, ", %d failed", len(failed))
	}
	fmt.Fprintln(a.stderr, ".")
	if len(failed) > 0 {
		sort.Strings(failed)
		return fmt.Errorf("%s failed for %d artifacts: %s", what, len(failed), strings.Join(firstNames(failed, 5), ", "))
	}
	return nil
}

func firstNames(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "…")
	}
	return s
}
