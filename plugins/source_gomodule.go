package plugins

import (
	"context"
	"errors"
	"path"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/source"
)

// The go_module source's I/O: the module's commit is fetched and checked
// out by the git kind's code, then put under vendor/ of the sources
// before it, and vendor/modules.txt gets the module's lines, as `go mod
// vendor` writes them.

type goModuleSource struct {
	git                       *gitSource // not embedded: go_module stages only onto what precedes it
	key                       any
	module, goVersion, subdir string
	explicit                  bool
}

var (
	_ source.Fetcher        = (*goModuleSource)(nil)
	_ source.PreviousStager = (*goModuleSource)(nil)
)

func (s *goModuleSource) Resolved() bool                        { return true }
func (s *goModuleSource) UniqueKey() any                        { return s.key }
func (s *goModuleSource) IsCached(fc *source.FetchContext) bool { return s.git.IsCached(fc) }
func (s *goModuleSource) Fetch(ctx context.Context, fc *source.FetchContext) error {
	return s.git.Fetch(ctx, fc)
}

// StageOnto checks the module out at vendor/<module> (for a major version
// suffix matching the version, at its parent, with the suffix a link to
// "."), and appends to vendor/modules.txt.
func (s *goModuleSource) StageOnto(ctx context.Context, fc *source.FetchContext, previous cas.Digest) (cas.Digest, error) {
	store := fc.Store
	checkout, err := s.git.StageFetched(ctx, fc)
	if err != nil {
		return cas.Digest{}, err
	}
	if s.subdir != "" {
		// A guess at the newer plugins' subdirectory: the module is that
		// directory of its repository.
		if checkout, err = store.LoadTree(checkout).Subtree(ctx, s.subdir); err != nil {
			return cas.Digest{}, fc.Errorf("the module %s has no directory %s: %v", s.module, s.subdir, err)
		}
	}
	head, tail := path.Split(s.module)
	head = strings.TrimSuffix(head, "/")
	at, link := "vendor/"+s.module, ""
	if strings.HasPrefix(s.goVersion, tail) && head != "" {
		at, link = "vendor/"+head, tail
	}
	t := store.LoadTree(previous)
	if _, err := t.Import(ctx, checkout, at, nil); err != nil {
		return cas.Digest{}, fc.Errorf("staging %s: %v", s.module, err)
	}
	if link != "" {
		l, err := store.PutDirectory(ctx, &repb.Directory{Symlinks: []*repb.SymlinkNode{{Name: link, Target: "."}}})
		if err != nil {
			return cas.Digest{}, err
		}
		if _, err := t.Import(ctx, l, at, func(p string) bool { return true }); err != nil {
			return cas.Digest{}, fc.Errorf("staging %s: %v", s.module, err)
		}
	}
	modules, err := readFile(ctx, store, previous, "vendor/modules.txt")
	if err != nil {
		return cas.Digest{}, fc.Errorf("reading vendor/modules.txt: %v", err)
	}
	if s.explicit {
		modules = append(modules, "# "+s.module+" "+s.goVersion+"\n## explicit\n"...)
	} else {
		modules = append(modules, "# "+s.module+"\n"...)
	}
	modules = append(modules, s.module+"\n"...)
	f, err := singleFileTree(ctx, store, "vendor/modules.txt", modules, false)
	if err != nil {
		return cas.Digest{}, err
	}
	if _, err := t.Import(ctx, f, "/", nil); err != nil {
		return cas.Digest{}, fc.Errorf("writing vendor/modules.txt: %v", err)
	}
	return t.Digest(ctx)
}

// readFile returns the file at p in the tree root, or nothing when there
// is none.
func readFile(ctx context.Context, store *cas.LocalStore, root cas.Digest, p string) ([]byte, error) {
	parts := strings.Split(p, "/")
	d := root
	for i, name := range parts {
		dir, err := store.ReadDirectory(ctx, d)
		if err != nil {
			return nil, err
		}
		if i == len(parts)-1 {
			for _, f := range dir.Files {
				if f.Name == name {
					fd, err := cas.DigestFromProto(f.Digest)
					if err != nil {
						return nil, err
					}
					return store.ReadBlob(ctx, fd)
				}
			}
			return nil, nil
		}
		found := false
		for _, sub := range dir.Directories {
			if sub.Name == name {
				if d, err = cas.DigestFromProto(sub.Digest); err != nil {
					return nil, err
				}
				found = true
				break
			}
		}
		if !found {
			return nil, nil
		}
	}
	return nil, errors.New("empty path")
}
