package scheduler

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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

// StageArtifacts imports the dependencies' artifacts into tree.
func (b *build) StageArtifacts(ctx context.Context, tree *cas.Tree, deps []*element.Element, at string, sel element.SplitSelection) error {
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
		if len(res.Overwritten) > 0 {
			if err := b.warn("overlaps", fmt.Sprintf("%s: staging %s overwrote %d files: %s", b.e.Name, d.Name,
				len(res.Overwritten), strings.Join(firstN(res.Overwritten, 10), ", "))); err != nil {
				return err
			}
		}
	}
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
