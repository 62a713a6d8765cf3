package plugins

import (
	"context"
	"io"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/source"
)

// zipKind downloads and unpacks a zip archive: BuildStream 1's core zip
// source, which BuildStream 2 projects get from plugin collections with
// the same configuration (url, ref, base-dir) and key.
type zipKind struct{}

func (zipKind) Name() string { return "zip" }
func (zipKind) ConfigKeys() []string {
	return append(append([]string(nil), downloadableKeys...), "base-dir")
}

func (zipKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	d, err := configureDownloadable(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &zipSource{downloadable: d}
	if s.BaseDir, err = cfg.GetString("base-dir", "*"); err != nil {
		return nil, err
	}
	return s, nil
}

type zipSource struct {
	downloadable
	BaseDir string
}

// UniqueKey is the downloadable key and the base directory, as for tar.
func (s *zipSource) UniqueKey() any { return append(s.key(), s.BaseDir) }

var (
	_ source.Fetcher       = (*zipSource)(nil)
	_ source.Tracker       = (*zipSource)(nil)
	_ source.FetchedStager = (*zipSource)(nil)
	_ source.Stager        = (*zipSource)(nil)
)

func (s *zipSource) IsCached(fc *source.FetchContext) bool { return s.isCached(fc, "zip") }

func (s *zipSource) Fetch(ctx context.Context, fc *source.FetchContext) error {
	return s.fetch(ctx, fc, "zip")
}

func (s *zipSource) Track(ctx context.Context, fc *source.FetchContext) (*source.RefUpdate, error) {
	return s.track(ctx, fc, "zip")
}

// StageFetched extracts the archive (see source.ExtractZip) and stores it.
func (s *zipSource) StageFetched(ctx context.Context, fc *source.FetchContext) (cas.Digest, error) {
	p := s.mirrorFile(fc, "zip")
	// A zip is read from its end: check the whole file first.
	if err := source.VerifyDownload(p, s.Ref, func(io.Reader) error { return nil }); err != nil {
		return cas.Digest{}, fc.Errorf("error staging source %s: %v", source.Redact(s.URL), err)
	}
	d, err := fc.ExtractAndCapture(ctx, "zip-", fileSize(p), func(tmp string) (string, error) {
		return tmp, source.ExtractZip(ctx, p, tmp, source.ExtractOptions{
			BaseDir: s.BaseDir,
			Warn:    func(msg string) { fc.Warn("", "%s", msg) },
		})
	})
	if err != nil {
		if ctx.Err() != nil {
			return cas.Digest{}, ctx.Err()
		}
		return cas.Digest{}, fc.Errorf("error staging source %s: %v", source.Redact(s.URL), err)
	}
	return d, nil
}

func (s *zipSource) Stage(ctx context.Context, store *cas.LocalStore) (cas.Digest, error) {
	return source.StageCached(ctx, store, "zip", s.UniqueKey())
}
