package plugins

import (
	"context"
	"io"
	"os"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/source"
)

// The tar source's I/O: it downloads a tarball (plain, gzip, bzip2, xz,
// zstd or lzip, recognised by its content and decompressed in Go) and
// stages its base directory.

var (
	_ source.Fetcher       = (*tarSource)(nil)
	_ source.Tracker       = (*tarSource)(nil)
	_ source.FetchedStager = (*tarSource)(nil)
	_ source.Stager        = (*tarSource)(nil)
)

func (s *tarSource) IsCached(fc *source.FetchContext) bool { return s.isCached(fc, "tar") }

func (s *tarSource) Fetch(ctx context.Context, fc *source.FetchContext) error {
	return s.fetch(ctx, fc, "tar")
}

func (s *tarSource) Track(ctx context.Context, fc *source.FetchContext) (*source.RefUpdate, error) {
	return s.track(ctx, fc, "tar")
}

// StageFetched extracts the tarball (safely: see source.ExtractTar) into
// a temporary directory and stores its base directory.
func (s *tarSource) StageFetched(ctx context.Context, fc *source.FetchContext) (cas.Digest, error) {
	p := s.mirrorFile(fc, "tar")
	d, err := fc.ExtractAndCapture(ctx, "tar-", fileSize(p), func(tmp string) (string, error) {
		var dir string
		err := source.VerifyDownload(p, s.Ref, func(r io.Reader) error {
			var err error
			dir, err = source.ExtractTar(ctx, r, tmp, source.ExtractOptions{
				BaseDir: s.BaseDir,
				Warn:    func(msg string) { fc.Warn("", "%s", msg) },
			})
			return err
		})
		return dir, err
	})
	if err != nil {
		if ctx.Err() != nil {
			return cas.Digest{}, ctx.Err()
		}
		return cas.Digest{}, fc.Errorf("error staging source %s: %v", source.Redact(s.URL), err)
	}
	return d, nil
}

// fileSize is the size of the file at p, or 0.
func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

func (s *tarSource) Stage(ctx context.Context, store *cas.LocalStore) (cas.Digest, error) {
	return source.StageCached(ctx, store, "tar", s.UniqueKey())
}
