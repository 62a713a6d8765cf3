package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/cas/artifactpb"
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader"
	"github.com/bstgo/bst/scheduler"
)

func newArtifactCommand(a *app) *cobra.Command {
	c := &cobra.Command{
		Use:   "artifact",
		Short: "Manipulate cached artifacts",
		Long: `Manipulate cached artifacts.

ARTIFACT arguments are element names (ending in .bst, globs allowed, matched
against the project's elements) or artifact refs <project>/<element>/<key>
(globs allowed, matched against the refs in the local cache).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() },
	}
	c.AddCommand(
		newArtifactShowCommand(a),
		newArtifactListContentsCommand(a),
		newArtifactLogCommand(a),
		newArtifactDeleteCommand(a),
		newArtifactCheckoutCommand(a),
		newArtifactPullCommand(a), newArtifactPushCommand(a),
	)
	return c
}

// artifactTarget is one artifact named on the command line: an element
// (whose artifact may not be cached) or a ref.
type artifactTarget struct {
	name    string // what is shown: the element's full name or the ref
	element *element.Element
	ref     string // "" when the element's key is not known
}

// resolveArtifacts turns ARTIFACT arguments into targets. Element names
// bring their dependencies as deps says; refs stand alone.
func (a *app) resolveArtifacts(ctx context.Context, args []string, deps element.Selection) ([]artifactTarget, *cas.ArtifactCache, error) {
	artifacts, err := a.openCache()
	if err != nil {
		return nil, nil, err
	}
	var elementArgs, refArgs []string
	for _, arg := range args {
		if strings.HasSuffix(arg, ".bst") {
			elementArgs = append(elementArgs, arg)
		} else {
			refArgs = append(refArgs, arg)
		}
	}
	var out []artifactTarget
	if len(elementArgs) > 0 || len(args) == 0 {
		l, err := a.loadTargets(ctx, elementArgs, nil)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range element.Select(l.targets, deps, nil) {
			if e.Kind == "junction" {
				continue
			}
			out = append(out, artifactTarget{name: e.FullName, element: e, ref: scheduler.Ref(e)})
		}
	}
	if len(refArgs) > 0 {
		refs, err := artifacts.List()
		if err != nil {
			return nil, nil, err
		}
		for _, arg := range refArgs {
			matched := false
			re := loader.GlobRegexp(arg)
			for _, r := range refs {
				if r == arg || (loader.IsGlob(arg) && re.MatchString(r)) {
					out = append(out, artifactTarget{name: r, ref: r})
					matched = true
				}
			}
			if !matched && !loader.IsGlob(arg) {
				if strings.Count(arg, "/") != 2 {
					return nil, nil, &usageError{fmt.Sprintf("%q is neither an element name (ending in .bst) nor an artifact ref <project>/<element>/<key>", arg)}
				}
				out = append(out, artifactTarget{name: arg, ref: arg})
			}
		}
	}
	return out, artifacts, nil
}

// get reads a target's artifact; nil when it is not cached.
func (t artifactTarget) get(c *cas.ArtifactCache) (*artifactpb.Artifact, error) {
	if t.ref == "" {
		return nil, nil
	}
	art, err := c.Get(t.ref)
	if errors.Is(err, cas.ErrNotFound) {
		return nil, nil
	}
	return art, err
}

func addDepsFlag(c *cobra.Command, deps *string, def string) {
	c.Flags().StringVarP(deps, "deps", "d", def, "the dependencies of element targets to act on too: none, run, build or all")
	_ = c.RegisterFlagCompletionFunc("deps", cobra.FixedCompletions([]string{"none", "run", "build", "all"}, cobra.ShellCompDirectiveNoFileComp))
}

func newArtifactShowCommand(a *app) *cobra.Command {
	var deps string
	c := &cobra.Command{
		Use:   "show [ARTIFACT...]",
		Short: "Show the cached state of artifacts",
		Long:  "Show, for each artifact, whether it is cached, cached as a failed build, or not cached.",
		RunE: func(c *cobra.Command, args []string) error {
			sel, err := parseDeps(deps)
			if err != nil {
				return err
			}
			targets, artifacts, err := a.resolveArtifacts(c.Context(), args, sel)
			if err != nil {
				return err
			}
			var b strings.Builder
			for _, t := range targets {
				art, err := t.get(artifacts)
				if err != nil {
					return err
				}
				state := "not cached"
				switch {
				case art != nil && art.BuildSuccess:
					state = "cached"
				case art != nil:
					state = "failed"
				}
				fmt.Fprintf(&b, "%12s %s\n", state, t.name)
			}
			_, err = io.WriteString(a.stdout, b.String())
			return err
		},
	}
	addDepsFlag(c, &deps, "none")
	c.ValidArgsFunction = a.completeElements
	return c
}

func newArtifactListContentsCommand(a *app) *cobra.Command {
	var long bool
	c := &cobra.Command{
		Use:   "list-contents [ARTIFACT...]",
		Short: "List the contents of artifacts",
		Long:  "List the files of each cached artifact. Exits with status 1 when none is cached.",
		RunE: func(c *cobra.Command, args []string) error {
			targets, artifacts, err := a.resolveArtifacts(c.Context(), args, element.SelectNone)
			if err != nil {
				return err
			}
			var b strings.Builder
			found := 0
			for _, t := range targets {
				art, err := t.get(artifacts)
				if err != nil {
					return err
				}
				if art == nil {
					continue
				}
				found++
				files, err := cas.DigestFromProto(art.Files)
				if err != nil {
					return fmt.Errorf("artifact %s: %w", t.ref, err)
				}
				lines, err := listContents(c.Context(), artifacts.Store(), files, long)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, "  %s:\n", t.name)
				if len(lines) == 0 {
					b.WriteString("\tThis element has no associated artifacts\n")
				}
				for _, l := range lines {
					b.WriteString("\t" + l + "\n")
				}
			}
			if found == 0 {
				fmt.Fprintln(a.stderr, "None of the specified artifacts are cached.")
				return &exitError{1}
			}
			_, err = io.WriteString(a.stdout, b.String())
			return err
		},
	}
	c.Flags().BoolVarP(&long, "long", "l", false, "show file types, sizes and symlink targets")
	c.ValidArgsFunction = a.completeElements
	return c
}

// listContents lists a tree as BuildStream does: each directory's files
// and symlinks by name, then its sub-directories, each preceded by its own
// path.
func listContents(ctx context.Context, s *cas.LocalStore, root cas.Digest, long bool) ([]string, error) {
	var lines []string
	var list func(d cas.Digest, prefix string) error
	list = func(d cas.Digest, prefix string) error {
		dir, err := s.ReadDirectory(ctx, d)
		if err != nil {
			return err
		}
		var files, dirs []cas.Entry
		for _, f := range dir.Files {
			fd, _ := cas.DigestFromProto(f.Digest)
			files = append(files, cas.Entry{Path: f.Name, Kind: 'f', Digest: fd, Executable: f.IsExecutable})
		}
		for _, l := range dir.Symlinks {
			files = append(files, cas.Entry{Path: l.Name, Kind: 'l', Target: l.Target})
		}
		for _, sd := range dir.Directories {
			dd, _ := cas.DigestFromProto(sd.Digest)
			dirs = append(dirs, cas.Entry{Path: sd.Name, Kind: 'd', Digest: dd})
		}
		sortByPath(files)
		sortByPath(dirs)
		for _, f := range files {
			lines = append(lines, formatEntry(joinPath(prefix, f.Path), f, long))
		}
		for _, sd := range dirs {
			p := joinPath(prefix, sd.Path)
			lines = append(lines, formatEntry(p, sd, long))
			if err := list(sd.Digest, p); err != nil {
				return err
			}
		}
		return nil
	}
	err := list(root, "")
	return lines, err
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "/" + name
}

func sortByPath(es []cas.Entry) {
	slices.SortFunc(es, func(x, y cas.Entry) int { return strings.Compare(x.Path, y.Path) })
}

// formatEntry renders one line of list-contents, -l style when long.
func formatEntry(p string, e cas.Entry, long bool) string {
	if !long {
		return p
	}
	var mode, kind string
	size := int64(0)
	name := p
	switch {
	case e.Kind == 'd':
		mode, kind = "drwxr-xr-x", "dir"
	case e.Kind == 'l':
		mode, kind, size = "lrwxrwxrwx", "link", int64(len(e.Target))
		name = p + " -> " + e.Target
	case e.Executable:
		mode, kind, size = "-rwxr-xr-x", "exe", e.Digest.Size()
	default:
		mode, kind, size = "-rw-r--r--", "reg", e.Digest.Size()
	}
	return fmt.Sprintf("%s  %-6s %-11d %s", mode, kind, size, name)
}

func newArtifactLogCommand(a *app) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "log [ARTIFACT...]",
		Short: "Show the build logs of artifacts",
		Long: `Show the build logs stored in artifacts, on standard output, or with --out
as files under a directory (one per artifact, named after its ref).`,
		RunE: func(c *cobra.Command, args []string) error {
			targets, artifacts, err := a.resolveArtifacts(c.Context(), args, element.SelectNone)
			if err != nil {
				return err
			}
			for _, t := range targets {
				art, err := t.get(artifacts)
				if err != nil {
					return err
				}
				if art == nil {
					return fmt.Errorf("artifact %s is not cached", t.name)
				}
				for _, lf := range art.Logs {
					d, err := cas.DigestFromProto(lf.Digest)
					if err != nil {
						return err
					}
					data, err := artifacts.Store().ReadBlob(c.Context(), d)
					if err != nil {
						return err
					}
					if out == "" {
						if _, err := a.stdout.Write(data); err != nil {
							return err
						}
						continue
					}
					p := filepath.Join(out, filepath.FromSlash(t.ref)+".log")
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						return err
					}
					if err := os.WriteFile(p, data, 0o644); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "write the logs to files under this directory")
	c.ValidArgsFunction = a.completeElements
	return c
}

func newArtifactDeleteCommand(a *app) *cobra.Command {
	var deps string
	c := &cobra.Command{
		Use:   "delete [ARTIFACT...]",
		Short: "Remove artifacts from the local cache",
		Long: `Remove artifacts from the local cache: for an element, its artifact under both
its strong and weak keys. The space is reclaimed when the cache next expires
objects.`,
		RunE: func(c *cobra.Command, args []string) error {
			sel, err := parseDeps(deps)
			if err != nil {
				return err
			}
			targets, artifacts, err := a.resolveArtifacts(c.Context(), args, sel)
			if err != nil {
				return err
			}
			deleted := 0
			for _, t := range targets {
				refs := []string{t.ref}
				if e := t.element; e != nil && e.Keys.Weak != "" {
					refs = append(refs, cas.ArtifactRef(e.Project, e.Name, e.Keys.Weak))
				}
				for _, r := range refs {
					if r == "" {
						continue
					}
					if err := artifacts.Delete(r); err == nil {
						deleted++
					} else if !errors.Is(err, cas.ErrNotFound) {
						return err
					}
				}
			}
			if deleted == 0 {
				return fmt.Errorf("none of the given artifacts are cached")
			}
			fmt.Fprintf(a.stderr, "Deleted %d artifact refs.\n", deleted)
			return nil
		},
	}
	addDepsFlag(c, &deps, "none")
	c.ValidArgsFunction = a.completeElements
	return c
}
