package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/spf13/cobra"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/plugins"
	"github.com/bstgo/bst/source"
	"github.com/bstgo/bst/ui"
)

// sourceFlags are the fetching options: global in BuildStream; here they
// belong to `bst source` and its subcommands, before or after `source`.
type sourceFlags struct {
	fetchers      int
	retries       int
	defaultMirror string
}

func newSourceCommand(a *app) *cobra.Command {
	sf := &a.src
	c := &cobra.Command{
		Use:   "source",
		Short: "Manipulate sources for an element",
		Long: `Fetch, track and check out the sources of elements.

Downloads are kept in the user configuration's sourcedir; sources staged
once are kept in the local cache, so staging them again needs neither the
network nor extracting them again.

The global options --fetchers, --network-retries and --default-mirror
apply to them (and to the fetching of bst build).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() },
	}
	c.AddCommand(
		newSourceFetchCommand(a, sf),
		newSourceTrackCommand(a, sf),
		newSourceCheckoutCommand(a, sf),
		newSourcePushCommand(a, sf),
	)
	return c
}

// sourceSession is what the source commands share: the loaded targets,
// the environment of fetching and the log.
type sourceSession struct {
	a      *app
	sf     *sourceFlags
	l      *loaded
	env    *source.Env
	store  *cas.LocalStore
	logger *ui.Logger
	action string
}

func (a *app) sourceSession(ctx context.Context, sf *sourceFlags, action string, args, except []string) (*sourceSession, error) {
	start := time.Now()
	uc, err := a.userConfig()
	if err != nil {
		return nil, err
	}
	l, err := a.loadTargets(ctx, args, except)
	if err != nil {
		return nil, err
	}
	artifacts, err := a.openCache()
	if err != nil {
		return nil, err
	}
	s := &sourceSession{a: a, sf: sf, l: l, store: artifacts.Store(), logger: ui.NewLogger(a.stderr, start, uc.KeyLength), action: action}
	if s.env, err = s.newEnv(); err != nil {
		return nil, err
	}
	return s, nil
}

// newEnv makes the session's environment, logging through its logger.
func (s *sourceSession) newEnv() (*source.Env, error) {
	return s.a.newSourceEnv(s.l.project, s.sf, func(m source.Message) {
		kind := map[source.MessageKind]string{source.Status: "STATUS", source.Info: "INFO", source.Warning: "WARN"}[m.Kind]
		s.log(kind, m.Element, m.Text)
	})
}

// newSourceEnv makes the environment in which the sources of project p
// are fetched, tracked and staged, from the user configuration (the
// fetch.source and track.source policies, scheduler.network-retries, the
// user's mirrors and default mirror, $NETRC or ~/.netrc) and the source
// options (sf may be nil). It is what `bst show` needs to ask
// source.Env.FetchNeeded and what a build fetches and stages with.
func (a *app) newSourceEnv(p *loader.Project, sf *sourceFlags, log func(source.Message)) (*source.Env, error) {
	return a.newSourceEnvFor(p, sf, log, false)
}

// newSourceEnvFor is newSourceEnv; a query-only environment (noScratch,
// for bst show) makes no scratch directory, so needs no Close.
func (a *app) newSourceEnvFor(p *loader.Project, sf *sourceFlags, log func(source.Message), noScratch bool) (*source.Env, error) {
	if sf == nil {
		sf = &sourceFlags{retries: -1}
	}
	uc, err := a.userConfig()
	if err != nil {
		return nil, err
	}
	artifacts, err := a.openCache()
	if err != nil {
		return nil, err
	}
	retries := sf.retries
	if retries < 0 {
		if retries, err = uc.Node.Get("scheduler").GetInt("network-retries", 2); err != nil {
			return nil, err
		}
	}
	policy := func(section, def string) (source.Policy, error) {
		v, err := uc.Node.Get(section).GetScalar("source", true)
		if err != nil || v == nil {
			return source.Policy(def), err
		}
		return source.ParsePolicy(v.Value(), v.Prov())
	}
	fetchPolicy, err := policy("fetch", "all")
	if err != nil {
		return nil, err
	}
	trackPolicy, err := policy("track", "aliases")
	if err != nil {
		return nil, err
	}
	netrc, err := source.LoadNetrc()
	if err != nil && log != nil {
		log(source.Message{Kind: source.Warning, Text: fmt.Sprintf("ignoring the .netrc file: %v", err)})
	}
	projects, err := sourceProjects(p, uc, sf.defaultMirror)
	if err != nil {
		return nil, err
	}
	return source.NewEnv(source.Options{
		SourceDir:   uc.SourceDir,
		Store:       artifacts.Store(),
		FetchPolicy: fetchPolicy,
		TrackPolicy: trackPolicy,
		Retries:     retries,
		Netrc:       netrc,
		Projects:    projects,
		Log:         log,
		NoScratch:   noScratch,
	})
}

func (s *sourceSession) log(kind, el, msg string) {
	detail := ""
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg, detail = msg[:i], msg[i+1:]
	}
	s.logger.Log(ui.LogLine{Time: time.Now(), Kind: kind, Action: s.action, Element: el, Message: msg, Detail: detail})
}

// fetchers is --fetchers, or the user configuration's scheduler.fetchers.
func (s *sourceSession) fetchers() int { return s.a.fetchers() }

func (s *sourceSession) report(ev source.JobEvent) {
	switch ev.Kind {
	case source.JobStart:
		s.logger.Log(ui.LogLine{Time: time.Now(), Kind: "START", Action: s.action, Element: ev.Element})
	case source.JobSuccess:
		s.logger.Log(ui.LogLine{Time: time.Now(), Kind: "SUCCESS", Action: s.action, Element: ev.Element, Elapsed: ev.Elapsed})
	case source.JobSkipped:
		s.logger.Log(ui.LogLine{Time: time.Now(), Kind: "SKIPPED", Action: s.action, Element: ev.Element, Message: "cached"})
	case source.JobFailure:
		msg := ev.Err.Error()
		detail := ""
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg, detail = msg[:i], msg[i+1:]
		}
		s.logger.Log(ui.LogLine{Time: time.Now(), Kind: "FAILURE", Action: s.action, Element: ev.Element, Message: msg, Detail: detail, Elapsed: ev.Elapsed})
	}
}

// sourceProject gives package source what it needs of the project: its
// aliases, its mirrors (the user configuration's projects.<name>.mirrors
// replacing project.conf's, variables expanded in both), the default
// mirror and the fatal warnings.
func sourceProject(p *loader.Project, uc *loader.UserConfig, defaultMirror string) (*source.Project, error) {
	sp := &source.Project{Name: p.Name, Aliases: p.Aliases, FatalWarnings: p.FatalWarnings}
	ov := uc.Overrides(p.Name)
	list := p.Config.Get("mirrors")
	if m := ov.Get("mirrors"); m != nil {
		list, sp.UserMirrors = m, true
	}
	// Mirrors may use the project's variables and the project roots, as
	// aliases do.
	rootURI := "file://" + (&url.URL{Path: p.Dir}).EscapedPath()
	extra := node.NewMapping(node.Synthetic)
	for k, v := range map[string]string{"project-root": p.Dir, "toplevel-root": p.Dir,
		"project-root-uri": rootURI, "toplevel-root-uri": rootURI} {
		extra.Set(k, node.NewScalar(node.Synthetic, v))
	}
	vars, err := p.Variables.Overlay(extra)
	if err != nil {
		return nil, err
	}
	res := vars.ResolvePartial()
	mirrors, err := source.ParseMirrors(list, res.Expand)
	if err != nil {
		return nil, err
	}
	sp.Mirrors = mirrors
	sp.DefaultMirror = defaultMirror
	if sp.DefaultMirror == "" {
		if sp.DefaultMirror, err = ov.GetString("default-mirror", ""); err != nil {
			return nil, err
		}
	}
	if sp.DefaultMirror == "" && len(mirrors) > 0 {
		sp.DefaultMirror = mirrors[0].Name
	}
	return sp, nil
}

// withSources lists the elements that have sources, as package source
// sees them.
func withSources(elements []*element.Element) []*source.ElementSources {
	var out []*source.ElementSources
	for _, e := range elements {
		if len(e.Sources) > 0 {
			out = append(out, plugins.ElementSources(e))
		}
	}
	return out
}

// assertResolved fails for elements with sources lacking a ref.
func assertResolved(elements []*element.Element) error {
	var missing []string
	for _, e := range elements {
		if !e.SourcesResolved() {
			missing = append(missing, "  "+e.FullName)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("inconsistent pipeline: these elements have sources without a reference; run `bst source track` on them first:\n%s",
			strings.Join(missing, "\n"))
	}
	return nil
}

func newSourceFetchCommand(a *app, sf *sourceFlags) *cobra.Command {
	var (
		deps   string
		except []string
		rf     remoteFlags
	)
	c := &cobra.Command{
		Use:   "fetch [ELEMENT...]",
		Short: "Fetch sources in a pipeline",
		Long: `Fetch the sources of ELEMENTs (the default targets, or every element, when
none is given) and keep them in the source cache, ready to build offline.

` + sourceDepsHelp("fetch"),
		RunE: func(c *cobra.Command, args []string) error {
			s, list, err := a.resolvedSources(c.Context(), sf, "fetch", deps, args, except)
			if err != nil {
				return err
			}
			defer s.env.Close()
			pulled, err := s.pullSources(c.Context(), list, &rf)
			if err != nil {
				return err
			}
			ok, failed, skipped := 0, 0, -pulled // pulled sources are cached, so skipped
			err = s.env.FetchAll(c.Context(), list, s.fetchers(), func(ev source.JobEvent) {
				s.report(ev)
				switch ev.Kind {
				case source.JobSuccess:
					ok++
				case source.JobFailure:
					failed++
				case source.JobSkipped:
					skipped++
				}
			})
			fmt.Fprintf(a.stderr, "\nFetched %d elements, %d already cached", ok, skipped)
			if pulled > 0 {
				fmt.Fprintf(a.stderr, ", %d pulled from source caches", pulled)
			}
			if failed > 0 {
				fmt.Fprintf(a.stderr, ", %d failed", failed)
			}
			fmt.Fprintln(a.stderr, ".")
			if err != nil {
				return fmt.Errorf("fetching sources: %w", err)
			}
			return nil
		},
	}
	addDepsFlag(c, &deps, "none")
	c.Flags().StringArrayVar(&except, "except", nil, "except these elements and what only they depend on (repeatable)")
	addSourceRemoteFlags(c, &rf, "a source cache to pull from, before the configured ones", cas.PurposePull)
	c.ValidArgsFunction = a.completeElements
	return c
}

func newSourceTrackCommand(a *app, sf *sourceFlags) *cobra.Command {
	var (
		deps           string
		except         []string
		crossJunctions bool
	)
	c := &cobra.Command{
		Use:   "track [ELEMENT...]",
		Short: "Track new source references",
		Long: `Ask upstream for the latest version of the sources of ELEMENTs (the default
targets, or every element, when none is given) and write the new refs into
the project: into each .bst file, editing only the ref so comments and
layout stay, or into project.refs when project.conf sets
ref-storage: project.refs.

Remote, tar and zip sources track the checksum of their file; git sources
their track branch or tag. With --deps none (the default) a filter element
tracks the element it filters.

Elements of subprojects are only tracked with --cross-junctions, and only
when the toplevel project keeps its refs in project.refs: their refs
cannot be written into another project's files.`,
		RunE: func(c *cobra.Command, args []string) error {
			sel, err := parseDeps(deps)
			if err != nil {
				return err
			}
			s, err := a.sourceSession(c.Context(), sf, "track", args, except)
			if err != nil {
				return err
			}
			defer s.env.Close()
			elements := element.Select(s.l.targets, sel, s.l.except)
			if sel == element.SelectNone {
				elements = redirect(elements)
			}
			if elements, err = crossJunctionFilter(s.l, elements, crossJunctions); err != nil {
				return err
			}
			list := withSources(elements)
			results, err := s.env.TrackAll(c.Context(), list, s.fetchers(), s.report)
			if err != nil {
				return fmt.Errorf("tracking sources: %w", err)
			}
			byName := map[string]*element.Element{}
			for _, e := range elements {
				byName[e.FullName] = e
			}
			var w source.RefWriter
			changed := 0
			for i, es := range list {
				e := byName[es.Element]
				for _, t := range results[i] {
					if t.Update == nil || !refChanges(e.Sources[t.Index].Node, t.Update) {
						continue
					}
					changed++
					s.log("INFO", es.Element, fmt.Sprintf("new ref for the %s source: %s", t.Entry.Kind, t.Update))
					if s.l.project.RefStorage == "project.refs" {
						w.AddProjectRef(s.l.project.Dir, e.Project, e.Name, t.Index, t.Update)
						continue
					}
					if err := w.AddInline(t.Entry.Prov, t.Update); err != nil {
						return fmt.Errorf("%s: %w", es.Element, err)
					}
				}
			}
			files, err := w.Write()
			for _, f := range files {
				rel, rerr := filepath.Rel(s.l.project.Dir, f)
				if rerr != nil {
					rel = f
				}
				s.log("INFO", "", "wrote "+rel)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "\nTracked %d elements, %d refs changed.\n", len(list), changed)
			return nil
		},
	}
	addDepsFlag(c, &deps, "none")
	c.Flags().StringArrayVar(&except, "except", nil, "except these elements and what only they depend on (repeatable)")
	c.Flags().BoolVarP(&crossJunctions, "cross-junctions", "J", false, "also track elements of subprojects")
	c.ValidArgsFunction = a.completeElements
	return c
}

// redirect replaces elements without sources that take them from one
// build dependency (filter) by that dependency, as BuildStream's
// "redirect" selection does for tracking.
func redirect(elements []*element.Element) []*element.Element {
	var out []*element.Element
	for _, e := range elements {
		for e.Kind == "filter" && len(e.Sources) == 0 {
			var parent *element.Element
			for _, d := range e.Deps {
				if d.Type&element.DepBuild != 0 {
					parent = d.Element
					break
				}
			}
			if parent == nil {
				break
			}
			e = parent
		}
		out = appendUnique(out, e)
	}
	return out
}

// refChanges reports whether upd changes the source entry cfg.
func refChanges(cfg *node.Node, upd *source.RefUpdate) bool {
	for _, f := range upd.Set {
		old := cfg.Get(f.Key)
		if old == nil || node.Dump(old) != node.Dump(f.Value) {
			return true
		}
	}
	for _, k := range upd.Delete {
		if cfg.Has(k) {
			return true
		}
	}
	return false
}

func newSourceCheckoutCommand(a *app, sf *sourceFlags) *cobra.Command {
	var (
		deps, tarPath, compression, directory string
		except                                []string
		force, scripts                        bool
	)
	c := &cobra.Command{
		Use:   "checkout [ELEMENT]",
		Short: "Checkout sources of an element",
		Long: `Write the staged sources of ELEMENT (the project's default target when none
is given), and of its dependencies as --deps says (default none), into a
directory (--directory, default source-checkout) or a tarball (--tar
LOCATION, - for standard output; --compression gz, xz or bz2). Each element's
sources go into a directory named after the element (its name with / as -
and without .bst). Sources not fetched yet are fetched first.

--include-build-scripts adds a build-<element> script for each element that
runs build commands, and a build.sh running them all in order.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			switch {
			case tarPath != "" && c.Flags().Changed("directory"):
				return &usageError{"options --directory and --tar conflict"}
			case compression != "" && tarPath == "":
				return &usageError{"--compression specified without --tar"}
			case compression != "" && !slices.Contains(cas.Compressions, compression):
				return &usageError{fmt.Sprintf("invalid value %q for --compression: choose gz, xz or bz2", compression)}
			}
			sel, err := parseDeps(deps)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				p, err := a.loadProject(c.Context())
				if err != nil {
					return err
				}
				if len(p.DefaultTargets) != 1 {
					return &usageError{`missing argument "ELEMENT"`}
				}
				args = p.DefaultTargets
			}
			if err := checkLocation(directory, tarPath, force); err != nil {
				return err
			}
			s, err := a.sourceSession(c.Context(), sf, "fetch", args, except)
			if err != nil {
				return err
			}
			defer s.env.Close()
			elements := element.Select(s.l.targets, sel, s.l.except)
			if err := assertResolved(elements); err != nil {
				return err
			}
			list := withSources(elements)
			if err := s.env.FetchAll(c.Context(), list, s.fetchers(), s.report); err != nil {
				return fmt.Errorf("fetching sources: %w", err)
			}
			root, err := s.checkoutTree(c.Context(), elements, scripts)
			if err != nil {
				return err
			}
			if tarPath != "" {
				if compression == "" && tarPath != "-" {
					compression = cas.CompressionFromName(tarPath)
				}
				if err := writeCheckoutTar(c.Context(), a, s.store, root, tarPath, compression, force); err != nil {
					return fmt.Errorf("error while writing sources: %w", err)
				}
				if tarPath != "-" {
					fmt.Fprintf(a.stderr, "Checked out sources to '%s'\n", tarPath)
				}
				return nil
			}
			if err := stageInto(c.Context(), s.store, root, directory, force); err != nil {
				return fmt.Errorf("error while writing sources: %w", err)
			}
			fmt.Fprintf(a.stderr, "Checked out sources to '%s'\n", directory)
			return nil
		},
	}
	f := c.Flags()
	f.BoolVarP(&force, "force", "f", false, "allow files to be overwritten")
	addDepsFlag(c, &deps, "none")
	f.StringArrayVar(&except, "except", nil, "except these elements and what only they depend on (repeatable)")
	f.StringVar(&tarPath, "tar", "", "create a tarball at LOCATION (- for standard output) instead of a directory")
	f.StringVar(&compression, "compression", "", "compress the tarball: gz, xz or bz2 (default: from the file name)")
	f.BoolVar(&scripts, "include-build-scripts", false, "add scripts that build the elements from the checked out sources")
	f.StringVar(&directory, "directory", "source-checkout", "the directory to check the sources out into")
	_ = c.RegisterFlagCompletionFunc("compression", cobra.FixedCompletions(cas.Compressions, cobra.ShellCompDirectiveNoFileComp))
	c.ValidArgsFunction = a.completeElements
	return c
}

// checkLocation refuses, before any work, a checkout that would overwrite
// something without --force.
func checkLocation(dir, tarPath string, force bool) error {
	if tarPath != "" {
		if tarPath != "-" && !force {
			if _, err := os.Lstat(tarPath); err == nil {
				return fmt.Errorf("output file '%s' already exists: use --force to overwrite it", tarPath)
			}
		}
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err == nil && len(ents) > 0 && !force {
		return fmt.Errorf("destination directory '%s' not empty: use --force to overwrite its files", dir)
	}
	return nil
}

// checkoutTree stages each element's sources at its normal name, with the
// build scripts when asked.
func (s *sourceSession) checkoutTree(ctx context.Context, elements []*element.Element, scripts bool) (cas.Digest, error) {
	tree := s.store.NewTree()
	var built []string
	scriptDir := &repb.Directory{}
	for _, e := range elements {
		name := normalName(e.Name)
		if len(e.Sources) > 0 {
			d, err := s.env.Stage(ctx, plugins.ElementSources(e))
			if err != nil {
				return cas.Digest{}, err
			}
			if _, err := tree.Import(ctx, d, name, nil); err != nil {
				return cas.Digest{}, fmt.Errorf("%s: %w", e.FullName, err)
			}
		}
		if !scripts {
			continue
		}
		cmds, ok := e.KindConfig.(interface{ Commands(step string) []string })
		if !ok {
			continue
		}
		var steps [][]string
		for _, st := range []string{"configure-commands", "build-commands", "install-commands", "strip-commands"} {
			steps = append(steps, cmds.Commands(st))
		}
		buildRoot, _ := e.Variables.Get("build-root")
		installRoot, _ := e.Variables.Get("install-root")
		var env [][2]string
		for _, v := range e.Environment {
			env = append(env, [2]string{v.Name, v.Value})
		}
		script := source.ModuleScript(name, buildRoot, installRoot, env, steps)
		d, err := s.store.PutBytes(ctx, []byte(script))
		if err != nil {
			return cas.Digest{}, err
		}
		scriptDir.Files = append(scriptDir.Files, &repb.FileNode{Name: "build-" + name, Digest: d.Proto(), IsExecutable: true})
		built = append(built, name)
	}
	if scripts {
		d, err := s.store.PutBytes(ctx, []byte(source.MasterScript(built)))
		if err != nil {
			return cas.Digest{}, err
		}
		scriptDir.Files = append(scriptDir.Files, &repb.FileNode{Name: "build.sh", Digest: d.Proto(), IsExecutable: true})
		slices.SortFunc(scriptDir.Files, func(x, y *repb.FileNode) int { return strings.Compare(x.Name, y.Name) })
		sd, err := s.store.PutDirectory(ctx, scriptDir)
		if err != nil {
			return cas.Digest{}, err
		}
		if _, err := tree.Import(ctx, sd, "/", nil); err != nil {
			return cas.Digest{}, err
		}
	}
	return tree.Digest(ctx)
}

// normalName is BuildStream's Element.normal_name: "/" becomes "-" and
// the extension goes.
func normalName(name string) string {
	n := strings.ReplaceAll(name, "/", "-")
	return strings.TrimSuffix(n, filepath.Ext(n))
}

// stageInto writes the tree into dir as writable files. With force, files
// already there are replaced and others kept, as BuildStream does.
func stageInto(ctx context.Context, store *cas.LocalStore, root cas.Digest, dir string, force bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("failed to create destination directory: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) == 0 {
		return store.StageTree(ctx, root, dir, cas.StageOptions{Copy: true})
	}
	if !force {
		return fmt.Errorf("destination directory '%s' not empty", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(abs), ".bst-source-checkout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := store.StageTree(ctx, root, tmp, cas.StageOptions{Copy: true}); err != nil {
		return err
	}
	return mergeInto(tmp, abs)
}

// mergeInto moves everything under src into dst, replacing what is in
// the way.
func mergeInto(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if st, err := os.Lstat(to); err == nil {
			if st.IsDir() && e.IsDir() {
				if err := mergeInto(from, to); err != nil {
					return err
				}
				continue
			}
			if err := os.RemoveAll(to); err != nil {
				return err
			}
		}
		if err := os.Rename(from, to); err != nil {
			return err
		}
	}
	return nil
}
