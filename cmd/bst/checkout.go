package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader"
	"github.com/bstgo/bst/sandbox"
	"github.com/bstgo/bst/scheduler"
	"github.com/bstgo/bst/ui"
)

func newArtifactCheckoutCommand(a *app) *cobra.Command {
	var (
		deps, tarPath, compression, directory string
		force, hardlinks, integrate, noInteg  bool
	)
	c := &cobra.Command{
		Use:   "checkout [ARTIFACT]",
		Short: "Check out the files of an artifact",
		Long: `Check out the files of an artifact, with its dependencies as --deps says
(default run: the artifact and its runtime dependencies, staged in order), into
a directory (default: the element's name without .bst, in the current
directory) or a tarball (--tar FILE, - for standard output; compression from
the file name or --compression).

Unless --no-integrate is given, the integration commands of the elements
checked out are run over their files in the sandbox, whose root they may
change anywhere, and the integrated files are checked out. (Artifact refs are
checked out as they are: their integration commands are not run.)

Files are written as ordinary, writable files unless --hardlinks asks for
hardlinks to the local cache's read-only objects, which is faster but shares
the files with the cache.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			integrate = integrate && !noInteg
			if integrate {
				// Integration commands run in sandboxes: seal the binary
				// first (this re-executes bst once, before anything else).
				if err := sandbox.Seal(); err != nil {
					return err
				}
			}
			switch {
			case hardlinks && tarPath != "":
				return &usageError{"options --hardlinks and --tar conflict"}
			case tarPath != "" && directory != "":
				return &usageError{"options --directory and --tar conflict"}
			case tarPath == "" && compression != "":
				return &usageError{"--compression can only be given with --tar"}
			case compression != "" && !slices.Contains(cas.Compressions, compression):
				return &usageError{fmt.Sprintf("invalid value %q for --compression: choose gz, xz or bz2", compression)}
			}
			sel, err := parseDeps(deps)
			if err != nil {
				return err
			}
			if tarPath != "" && compression == "" {
				compression = cas.CompressionFromName(tarPath)
			}
			targets, artifacts, err := a.resolveArtifacts(c.Context(), args, sel)
			if err != nil {
				return err
			}
			if len(targets) == 0 {
				return &usageError{"no artifact to check out: name an element or a ref"}
			}
			root, err := a.checkoutTree(c.Context(), artifacts, targets, integrate)
			if err != nil {
				return err
			}
			store := artifacts.Store()
			if tarPath != "" {
				return writeCheckoutTar(c.Context(), a, store, root, tarPath, compression, force)
			}
			name := checkoutName(args, targets)
			if directory == "" {
				directory = strings.TrimSuffix(filepath.Base(name), ".bst")
			}
			if err := prepareCheckoutDir(directory, force); err != nil {
				return err
			}
			if err := store.StageTree(c.Context(), root, directory, cas.StageOptions{Copy: !hardlinks}); err != nil {
				return fmt.Errorf("checking out into %s: %w", directory, err)
			}
			fmt.Fprintf(a.stderr, "Checked out %s into %s\n", name, directory)
			return nil
		},
	}
	f := c.Flags()
	addDepsFlag(c, &deps, "run")
	f.BoolVarP(&force, "force", "f", false, "overwrite the files of an existing checkout")
	f.BoolVar(&integrate, "integrate", true, "run the integration commands of what is checked out")
	f.BoolVar(&noInteg, "no-integrate", false, "do not run integration commands")
	f.BoolVar(&hardlinks, "hardlinks", false, "hardlink files from the local cache instead of copying them")
	f.StringVar(&tarPath, "tar", "", "write a tarball to this file (- for standard output) instead of a directory")
	f.StringVar(&compression, "compression", "", "compress the tarball: gz, xz or bz2 (default: from the file name)")
	f.StringVar(&directory, "directory", "", "the directory to check out into")
	c.MarkFlagsMutuallyExclusive("integrate", "no-integrate")
	c.ValidArgsFunction = a.completeElements
	return c
}

// checkoutTree is what a checkout writes: the targets' artifact files
// merged in order, integrated when integrate is set and the targets are
// elements.
func (a *app) checkoutTree(ctx context.Context, artifacts *cas.ArtifactCache, targets []artifactTarget, integrate bool) (cas.Digest, error) {
	var elements []*element.Element
	for _, t := range targets {
		art, err := t.get(artifacts)
		if err != nil {
			return cas.Digest{}, err
		}
		if art == nil {
			return cas.Digest{}, fmt.Errorf("artifact %s is not cached: build it first with bst build", t.name)
		}
		if !art.BuildSuccess {
			return cas.Digest{}, fmt.Errorf("artifact %s is of a failed build", t.name)
		}
		if t.element != nil {
			elements = append(elements, t.element)
		}
	}
	if len(elements) == len(targets) {
		return a.stageElements(ctx, artifacts, elements, integrate)
	}
	tree := artifacts.Store().NewTree()
	for _, t := range targets {
		art, err := t.get(artifacts)
		if err != nil {
			return cas.Digest{}, err
		}
		files, err := cas.DigestFromProto(art.Files)
		if err != nil {
			return cas.Digest{}, fmt.Errorf("artifact %s: %w", t.name, err)
		}
		if _, err := tree.Import(ctx, files, "/", nil); err != nil {
			return cas.Digest{}, fmt.Errorf("checking out %s: %w", t.name, err)
		}
	}
	return tree.Digest(ctx)
}

// stageElements stages the elements' artifacts as a checkout does, with
// the build's staging code, integrating them in the sandbox when
// integrate is set.
func (a *app) stageElements(ctx context.Context, artifacts *cas.ArtifactCache, elements []*element.Element, integrate bool) (cas.Digest, error) {
	uc, err := a.userConfig()
	if err != nil {
		return cas.Digest{}, err
	}
	opts := scheduler.Options{
		Artifacts: artifacts,
		Lookup:    scheduler.NewLookup(artifacts),
		LogDir:    uc.LogDir,
	}
	if a.project != nil {
		opts.FatalWarnings = map[string][]string{a.project.Name: a.project.FatalWarnings}
	}
	logger := ui.NewLogger(a.stderr, time.Now(), uc.KeyLength)
	opts.Events = func(ev scheduler.Event) {
		if ev.Kind != scheduler.Info || a.verbose {
			logger.Log(eventLine(ev))
		}
	}
	if integrate {
		opts.BuildDir = filepath.Join(artifacts.Store().Root(), "build")
		sb, err := sandbox.New(ctx, sandbox.Options{Stager: artifacts.Store(), Roots: artifacts.Store(), Dir: opts.BuildDir})
		if err != nil {
			return cas.Digest{}, err
		}
		defer sb.Close()
		opts.Sandbox = sb
	}
	return scheduler.CheckoutRoot(ctx, opts, elements, integrate)
}

// checkoutName is what a checkout is named after: the element named on
// the command line, not the first of its dependencies staged; otherwise
// the first target (a ref) or, for default targets, the last staged.
func checkoutName(args []string, targets []artifactTarget) string {
	switch {
	case len(args) == 1 && strings.HasSuffix(args[0], ".bst") && !loader.IsGlob(args[0]):
		return args[0]
	case len(args) == 0 || targets[0].element != nil:
		return targets[len(targets)-1].name
	}
	return targets[0].name
}

// prepareCheckoutDir makes sure dir can take a checkout: created if
// missing, empty unless force, in which case its content goes.
func prepareCheckoutDir(dir string, force bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("failed to create the checkout directory: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) == 0 {
		return nil
	}
	if !force {
		return fmt.Errorf("checkout directory %s is not empty: use --force to replace its content", dir)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("clearing the checkout directory: %w", err)
		}
	}
	return nil
}

// writeCheckoutTar writes the tree as a tarball at p ("-" for stdout),
// through a temporary file so a failure leaves no partial tarball.
func writeCheckoutTar(ctx context.Context, a *app, s *cas.LocalStore, root cas.Digest, p, compression string, force bool) error {
	if p == "-" {
		return tarTo(ctx, s, root, a.stdout, compression)
	}
	if _, err := os.Stat(p); err == nil && !force {
		return fmt.Errorf("output file %s already exists: use --force to replace it", p)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".bst-checkout-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tarTo(ctx, s, root, tmp, compression); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

func tarTo(ctx context.Context, s *cas.LocalStore, root cas.Digest, w io.Writer, compression string) error {
	cw, err := cas.Compress(w, compression)
	if err != nil {
		return err
	}
	if err := s.WriteTar(ctx, root, cw); err != nil {
		return fmt.Errorf("writing the tarball: %w", err)
	}
	return cw.Close()
}
