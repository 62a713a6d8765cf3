package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/source"
)

// patchKind applies a patch file of the project to the sources staged
// before it in the same element (buildstream-plugins' patch source). The
// patch is applied in Go (source.ParsePatch), not by the host's patch.
type patchKind struct{}

func (patchKind) Name() string         { return "patch" }
func (patchKind) ConfigKeys() []string { return []string{"path", "strip-level"} }

func (patchKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	p, err := cfg.GetScalar("path", false)
	if err != nil {
		return nil, err
	}
	rel, err := ctx.ProjectPath(p)
	if err != nil {
		return nil, err
	}
	full := filepath.Join(ctx.ProjectDir(), rel)
	if st, err := os.Stat(full); err == nil && !st.Mode().IsRegular() {
		return nil, node.Errorf(p.Prov(), node.ProjPathInvalidKind, "specified path '%s' must be a regular file", p.Value())
	}
	strip, err := cfg.GetInt("strip-level", 1)
	if err != nil {
		return nil, err
	}
	if strip < 0 {
		return nil, node.Errorf(cfg.KeyProv("strip-level"), node.InvalidData, "strip-level must not be negative")
	}
	return &patchSource{Path: rel, full: full, Strip: strip, prov: p.Prov()}, nil
}

type patchSource struct {
	Path  string
	Strip int
	full  string
	prov  node.Provenance

	once sync.Once
	sum  string
	err  error
}

var (
	_ source.KeyLoader      = (*patchSource)(nil)
	_ source.PreviousStager = (*patchSource)(nil)
)

// Resolved: a patch is a file of the project, always there.
func (s *patchSource) Resolved() bool { return true }

// LoadKey hashes the patch file.
func (s *patchSource) LoadKey() error {
	s.once.Do(func() {
		data, err := os.ReadFile(s.full)
		if err != nil {
			s.err = node.Errorf(s.prov, node.MissingFile, "reading patch '%s': %v", s.Path, err)
			return
		}
		sum := sha256.Sum256(data)
		s.sum = hex.EncodeToString(sum[:])
	})
	return s.err
}

// UniqueKey is [path, sha256 of the file, strip-level].
func (s *patchSource) UniqueKey() any {
	if s.LoadKey() != nil {
		return nil
	}
	return []any{s.Path, s.sum, s.Strip}
}

// StageOnto applies the patch to the previous sources.
func (s *patchSource) StageOnto(ctx context.Context, fc *source.FetchContext, previous cas.Digest) (cas.Digest, error) {
	dir, err := fc.Store.ReadDirectory(ctx, previous)
	if err != nil {
		return cas.Digest{}, err
	}
	if len(dir.Files)+len(dir.Directories)+len(dir.Symlinks) == 0 {
		return cas.Digest{}, fc.Errorf("nothing to patch: no sources are staged before the patch '%s' [patch-no-files]", s.Path)
	}
	data, err := os.ReadFile(s.full)
	if err != nil {
		return cas.Digest{}, fc.Errorf("reading patch '%s': %v", s.Path, err)
	}
	if err := s.LoadKey(); err != nil {
		return cas.Digest{}, err
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != s.sum {
		return cas.Digest{}, fc.Errorf("patch '%s' changed while bst was running", s.Path)
	}
	fc.Status("Applying local patch: %s", s.Path)
	p, err := source.ParsePatch(data)
	if err != nil {
		return cas.Digest{}, fc.Errorf("failed to apply patch %s: %v", s.Path, err)
	}
	d, err := p.Apply(ctx, fc.Store, previous, s.Strip)
	if err != nil {
		return cas.Digest{}, fc.Errorf("failed to apply patch %s: %v", s.Path, err)
	}
	return d, nil
}
