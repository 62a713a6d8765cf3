package source

import (
	"context"

	"github.com/bstgo/bst/cas"
)

// Stager is implemented by sources that can be staged: Stage puts the
// source's files in the store and returns the digest of their Directory,
// which the element's build finds at the source's `directory`. It runs
// only once the source is fetched (for kinds that fetch).
type Stager interface {
	Stage(ctx context.Context, store *cas.LocalStore) (cas.Digest, error)
}
