package plugins

import (
	"context"
	"fmt"

	"github.com/bstgo/bst/cas"
)

// Stage stores the local files. The tree's digest is the source's key,
// so files that changed since the key was computed are an error rather
// than a build of other content under the same key.
func (s *localSource) Stage(ctx context.Context, store *cas.LocalStore) (cas.Digest, error) {
	d, err := store.CaptureTree(ctx, s.full)
	if err != nil {
		return cas.Digest{}, fmt.Errorf("staging local source '%s': %w", s.Path, err)
	}
	if key, ok := s.UniqueKey().(string); ok && key != d.Hash() {
		return cas.Digest{}, fmt.Errorf("staging local source '%s': its files changed while bst was running", s.Path)
	}
	return d, nil
}
