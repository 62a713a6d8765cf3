package scheduler

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/plugins"
	"github.com/bstgo/bst/sandbox"
	"github.com/bstgo/bst/source"
)

// build implements element.Build (and element.Runner) for one element:
// what its kind stages and runs in the sandbox to build it, and what
// bst shell and bst artifact checkout stage with the same code.
type build struct {
	r   *runner
	e   *element.Element
	log io.Writer
	// action names the job in events: "build", "shell" or "checkout".
	action string
	// whitelists caches the elements' compiled overlap-whitelist globs.
	whitelists map[*element.Element]*regexp.Regexp
}

func (b *build) Element() *element.Element { return b.e }
func (b *build) Store() *cas.LocalStore    { return b.r.opts.Artifacts.Store() }

func (b *build) Status(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(b.log, msg)
	b.r.emit(Event{Kind: Info, Action: b.action, Element: b.e, Message: msg})
}

// Files returns the files of dep's artifact, which the plan guarantees is
// cached.
func (b *build) Files(dep *element.Element) cas.Digest {
	a, err := b.r.opts.Artifacts.Get(Ref(dep))
	if err != nil {
		return cas.Digest{}
	}
	d, _ := cas.DigestFromProto(a.Files)
	return d
}

// Sources stages each source at its directory, in order, into one tree.
func (b *build) Sources(ctx context.Context) (cas.Digest, error) {
	if stage := b.r.opts.StageSources; stage != nil && len(b.e.Sources) > 0 {
		for _, s := range b.e.Sources {
			b.Status("Staging %s source", s.Kind)
		}
		return stage(ctx, b.e)
	}
	tree := b.Store().NewTree()
	for _, s := range b.e.Sources {
		st, ok := s.Plugin.(source.Stager)
		if !ok {
			return cas.Digest{}, fmt.Errorf("%s: staging '%s' sources needs fetching, which this bst does not do yet", b.e.Name, s.Kind)
		}
		b.Status("Staging %s source", s.Kind)
		d, err := st.Stage(ctx, b.Store())
		if err != nil {
			return cas.Digest{}, err
		}
		if _, err := tree.Import(ctx, d, s.Directory, nil); err != nil {
			return cas.Digest{}, fmt.Errorf("%s: staging sources: %w", b.e.Name, err)
		}
	}
	return tree.Digest(ctx)
}

// StageArtifacts imports the dependencies' artifacts into tree, as one
// staging session the way BuildStream's overlap collector sees it: a file
// staged over a file an earlier dependency of the session staged is an
// overlap, reported as the `overlaps` warning unless every later element
// involved lists the path in its public `bst: overlap-whitelist`; files
// left out because a non-empty directory was in their way are reported as
// the `unstaged-files` warning. Either fails the build when the project
// lists its token in fatal-warnings.
func (b *build) StageArtifacts(ctx context.Context, tree *cas.Tree, deps []*element.Element, at string, sel element.SplitSelection) error {
	prefix := strings.Trim(path.Clean("/"+at), "/")
	firstWriter := map[string]*element.Element{}
	overlaps := map[string][]*element.Element{}
	var overlapOrder []string
	type ignoredFiles struct {
		dep   *element.Element
		paths []string
	}
	var ignored []ignoredFiles
	for _, d := range deps {
		files := b.Files(d)
		if files.IsZero() {
			return fmt.Errorf("%s: the artifact of %s is not cached", b.e.Name, d.Name)
		}
		sr, err := d.Splits()
		if err != nil {
			return err
		}
		keep := sr.Filter(sel.Include, sel.Exclude, sel.Orphans)
		b.Status("Staging %s/%s", d.Name, shortKey(d.Keys.Strong))
		res, err := tree.Import(ctx, files, at, keep)
		if err != nil {
			return fmt.Errorf("%s: staging %s: %w", b.e.Name, d.Name, err)
		}
		for _, p := range res.Overwritten {
			if list, ok := overlaps[p]; ok {
				overlaps[p] = append(list, d)
			} else if w, ok := firstWriter[p]; ok {
				overlaps[p] = []*element.Element{w, d}
				overlapOrder = append(overlapOrder, p)
			}
		}
		for _, p := range res.Written {
			if _, ok := firstWriter[p]; !ok {
				firstWriter[p] = d
			}
		}
		if len(res.Ignored) > 0 {
			ignored = append(ignored, ignoredFiles{d, res.Ignored})
		}
	}

	if len(overlapOrder) > 0 {
		var detail strings.Builder
		fmt.Fprintf(&detail, "Staged files overwrite existing files in staging area: %s\n", path.Clean("/"+at))
		forbidden := false
		for _, p := range overlapOrder {
			elems := overlaps[p]
			rel := strings.TrimPrefix(strings.TrimPrefix(p, prefix), "/")
			var offenders []string
			for _, o := range elems[1:] {
				ok, err := b.whitelisted(o, rel)
				if err != nil {
					return err
				}
				if !ok {
					offenders = append(offenders, o.FullName)
				}
			}
			if len(offenders) == 0 {
				continue
			}
			forbidden = true
			order := make([]string, len(elems))
			for i, o := range elems {
				order[len(elems)-1-i] = o.FullName
			}
			verb := "is"
			if len(offenders) > 1 {
				verb = "are"
			}
			fmt.Fprintf(&detail, "/%s: %s %s not permitted to overlap other elements, order %s\n",
				p, strings.Join(offenders, " and "), verb, strings.Join(order, " above "))
		}
		if forbidden {
			if err := b.warnDetail("overlaps", "Non-whitelisted overlaps detected", detail.String()); err != nil {
				return err
			}
		}
	}
	if len(ignored) > 0 {
		var detail strings.Builder
		detail.WriteString("Not staging files which would replace non-empty directories:\n")
		for _, ig := range ignored {
			fmt.Fprintf(&detail, "\nFrom %s:\n", ig.dep.FullName)
			for _, p := range ig.paths {
				fmt.Fprintf(&detail, "  /%s\n", p)
			}
		}
		if err := b.warnDetail("unstaged-files", "Ignored files", detail.String()); err != nil {
			return err
		}
	}
	return nil
}

// whitelisted reports whether e's public `bst: overlap-whitelist` globs
// (variables already expanded) match rel, a path relative to the staging
// location, as "/"+rel.
func (b *build) whitelisted(e *element.Element, rel string) (bool, error) {
	if b.whitelists == nil {
		b.whitelists = map[*element.Element]*regexp.Regexp{}
	}
	re, ok := b.whitelists[e]
	if !ok {
		var globs []string
		if list := e.Public.Get("bst").Get("overlap-whitelist"); list != nil {
			var err error
			if globs, err = list.AsStringList("overlap-whitelist"); err != nil {
				return false, err
			}
		}
		if len(globs) > 0 {
			parts := make([]string, len(globs))
			for i, g := range globs {
				parts[i] = element.GlobRegexp(strings.TrimSpace(g))
			}
			var err error
			if re, err = regexp.Compile("(?s)^(?:" + strings.Join(parts, "|") + ")$"); err != nil {
				return false, fmt.Errorf("%s: overlap-whitelist: %w", e.Name, err)
			}
		}
		b.whitelists[e] = re
	}
	return re != nil && re.MatchString("/"+rel), nil
}

// warnDetail reports a warning with a detail, which fails the build when
// the element's project lists token in fatal-warnings.
func (b *build) warnDetail(token, msg, detail string) error {
	for _, t := range b.r.opts.FatalWarnings[b.e.Project] {
		if t == token {
			return fmt.Errorf("%s: %s [%s]\n%s", b.e.Name, msg, token, strings.TrimRight(detail, "\n"))
		}
	}
	fmt.Fprintf(b.log, "WARNING [%s]: %s\n%s", token, msg, detail)
	b.r.emit(Event{Kind: Warning, Action: b.action, Element: b.e, Message: msg + " [" + token + "]", Detail: detail})
	return nil
}

// newBuild is a build of e outside a scheduler run (a shell, a
// checkout), logging to log.
func newBuild(opts Options, e *element.Element, action string, log io.Writer) *build {
	return &build{r: &runner{opts: opts, res: &Result{}}, e: e, log: log, action: action}
}

// sandboxConfig makes the sandbox configuration of spec, without its
// command: the root, and the writable directories staged under work
// (empty, or a writable copy of their initial tree), whose host paths it
// returns in spec.Dirs' order.
func (b *build) sandboxConfig(ctx context.Context, work string, spec element.RunSpec) (sandbox.Config, []string, error) {
	cfg := sandbox.Config{Root: spec.Root, RootWritable: spec.RootWritable, Network: spec.Network}
	hostDirs := make([]string, len(spec.Dirs))
	for i, d := range spec.Dirs {
		host := filepath.Join(work, fmt.Sprintf("dir%d", i))
		var err error
		if d.Initial.IsZero() {
			err = os.MkdirAll(host, 0o755)
		} else {
			err = b.Store().StageTree(ctx, d.Initial, host, cas.StageOptions{Copy: true})
		}
		if err != nil {
			return cfg, nil, fmt.Errorf("staging %s: %w", d.Path, err)
		}
		hostDirs[i] = host
		cfg.Writable = append(cfg.Writable, sandbox.WritableDir{Path: d.Path, HostPath: host})
	}
	if err := b.buildIDs(&cfg, hostDirs); err != nil {
		return cfg, nil, err
	}
	return cfg, hostDirs, nil
}

// buildIDs sets the ids the commands run as from the element's
// build-uid and build-gid. Other ids than the caller's can only be
// mapped when bst runs as root: the writable directories are then given
// to those ids. Without root, the commands run as 0/0, with a warning.
func (b *build) buildIDs(cfg *sandbox.Config, dirs []string) error {
	sc := b.e.SandboxConfig
	uid, gid := 0, 0
	if sc.BuildUID != nil {
		uid = *sc.BuildUID
	}
	if sc.BuildGID != nil {
		gid = *sc.BuildGID
	}
	if uid == 0 && gid == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		b.Status("build-uid %d and build-gid %d cannot be mapped without root: the commands run as 0/0", uid, gid)
		return nil
	}
	cfg.UID, cfg.GID = uid, gid
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		})
		if err != nil {
			return fmt.Errorf("giving the build directories to %d/%d: %w", uid, gid, err)
		}
	}
	return nil
}

// workDir makes a directory for a batch's writable directories.
func (b *build) workDir() (string, error) {
	if err := os.MkdirAll(b.r.opts.BuildDir, 0o755); err != nil {
		return "", fmt.Errorf("creating the build directory: %w", err)
	}
	work, err := os.MkdirTemp(b.r.opts.BuildDir, cas.NormalName(b.e.Name)+"-")
	if err != nil {
		return "", fmt.Errorf("creating the build directory: %w", err)
	}
	return work, nil
}

// CheckoutRoot is the tree `bst artifact checkout` writes for elements
// (the targets with their dependencies as --deps selects, in staging
// order, all cached): their artifacts staged at / in order and, when
// integrate is set, their integration commands run over it in the sandbox
// with a writable root. Events name the first element, as BuildStream's
// messages name the target.
func CheckoutRoot(ctx context.Context, opts Options, elements []*element.Element, integrate bool) (cas.Digest, error) {
	if len(elements) == 0 {
		return opts.Artifacts.Store().NewTree().Digest(ctx)
	}
	b := newBuild(opts, elements[0], "checkout", io.Discard)
	logPath := ""
	if opts.LogDir != "" && integrate {
		p, f, err := b.r.openLog(b.e, "checkout", time.Now())
		if err != nil {
			return cas.Digest{}, err
		}
		defer f.Close()
		b.log, logPath = f, p
	}
	root, err := plugins.StageRuntime(ctx, b, elements, integrate)
	if err != nil && logPath != "" {
		err = fmt.Errorf("%w (log: %s)", err, logPath)
	}
	return root, err
}
