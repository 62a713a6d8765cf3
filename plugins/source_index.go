package plugins

import (
	"context"
	"io"
	"strings"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/source"
)

// pypi and cpan: a tarball (or zip) found on a package index, kept as a
// suffix relative to the index's root and its sha256. Fetching and
// staging are those of tar (zip for a .zip suffix), with the archive's
// top directory stripped. Tracking asks the index for the latest release,
// which bst does not do yet.

// indexedSource is what pypi and cpan share.
type indexedSource struct {
	kind string
	downloadable
	Suffix string
	guess  versionGuess
}

// UniqueKey is [suffix, sha256] and the version guess.
func (s *indexedSource) UniqueKey() any {
	var suffix, sum any = s.Suffix, nil
	if s.Ref != "" {
		sum = s.Ref
	}
	return s.guess.list([]any{suffix, sum})
}

func (s *indexedSource) Resolved() bool { return s.Ref != "" && s.Suffix != "" }

// setURL joins the index root and the suffix, alias included, and
// expands the alias.
func (s *indexedSource) setURL(ctx source.Context, root string, p node.Provenance) error {
	s.OriginalURL = root + s.Suffix
	var err error
	s.URL, err = ctx.TranslateURL(s.OriginalURL, p)
	return err
}

var (
	_ source.Fetcher       = (*indexedSource)(nil)
	_ source.FetchedStager = (*indexedSource)(nil)
	_ source.Stager        = (*indexedSource)(nil)
)

func (s *indexedSource) IsCached(fc *source.FetchContext) bool { return s.isCached(fc, s.kind) }

func (s *indexedSource) Fetch(ctx context.Context, fc *source.FetchContext) error {
	return s.fetch(ctx, fc, s.kind)
}

// StageFetched unpacks the archive without its top directory.
func (s *indexedSource) StageFetched(ctx context.Context, fc *source.FetchContext) (cas.Digest, error) {
	p := s.mirrorFile(fc, s.kind)
	opts := func() source.ExtractOptions {
		return source.ExtractOptions{BaseDir: "*", Warn: func(msg string) { fc.Warn("", "%s", msg) }}
	}
	var d cas.Digest
	var err error
	if strings.HasSuffix(s.Suffix, ".zip") {
		if err = source.VerifyDownload(p, s.Ref, func(io.Reader) error { return nil }); err == nil {
			d, err = fc.ExtractAndCapture(ctx, s.kind+"-", fileSize(p), func(tmp string) (string, error) {
				return tmp, source.ExtractZip(ctx, p, tmp, opts())
			})
		}
	} else {
		d, err = fc.ExtractAndCapture(ctx, s.kind+"-", fileSize(p), func(tmp string) (string, error) {
			var dir string
			err := source.VerifyDownload(p, s.Ref, func(r io.Reader) error {
				var err error
				dir, err = source.ExtractTar(ctx, r, tmp, opts())
				return err
			})
			return dir, err
		})
	}
	if err != nil {
		if ctx.Err() != nil {
			return cas.Digest{}, ctx.Err()
		}
		return cas.Digest{}, fc.Errorf("error staging source %s: %v", source.Redact(s.URL), err)
	}
	return d, nil
}

func (s *indexedSource) Stage(ctx context.Context, store *cas.LocalStore) (cas.Digest, error) {
	return source.StageCached(ctx, store, s.kind, s.UniqueKey())
}

// pypiKind: a Python sdist from PyPI's file storage.
type pypiKind struct{}

func (pypiKind) Name() string { return "pypi" }
func (pypiKind) ConfigKeys() []string {
	return []string{"url", "name", "ref", "prereleases", "include", "exclude", "version", "version-guess-pattern"}
}

func (pypiKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	s := &indexedSource{kind: "pypi"}
	if _, err := cfg.RequireString("name"); err != nil {
		return nil, err
	}
	if _, err := cfg.GetBool("prereleases", false); err != nil {
		return nil, err
	}
	for _, k := range []string{"include", "exclude"} {
		if _, err := cfg.GetStringList(k); err != nil {
			return nil, err
		}
	}
	root, err := cfg.GetString("url", "https://files.pythonhosted.org/packages/")
	if err != nil {
		return nil, err
	}
	if s.guess, err = configureVersionGuess(cfg); err != nil {
		return nil, err
	}
	ref, err := cfg.GetMapping("ref", true)
	if err != nil {
		return nil, err
	}
	if ref != nil && ref.Len() > 0 {
		if err := ref.ValidateKeys("suffix", "sha256sum"); err != nil {
			return nil, err
		}
		if s.Suffix, err = ref.RequireString("suffix"); err != nil {
			return nil, err
		}
		if s.Ref, err = ref.RequireString("sha256sum"); err != nil {
			return nil, err
		}
	}
	if err := s.setURL(ctx, root, cfg.KeyProv("url")); err != nil {
		return nil, err
	}
	return s, nil
}

// cpanKind: a Perl distribution from a CPAN mirror.
type cpanKind struct{}

func (cpanKind) Name() string { return "cpan" }
func (cpanKind) ConfigKeys() []string {
	return []string{"name", "suffix", "sha256sum", "index", "version", "version-guess-pattern"}
}

func (cpanKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	s := &indexedSource{kind: "cpan"}
	if _, err := cfg.RequireString("name"); err != nil {
		return nil, err
	}
	root, err := cfg.GetString("index", "https://cpan.metacpan.org/")
	if err != nil {
		return nil, err
	}
	if s.guess, err = configureVersionGuess(cfg); err != nil {
		return nil, err
	}
	if s.Suffix, err = cfg.GetString("suffix", ""); err != nil {
		return nil, err
	}
	if s.Ref, err = cfg.GetString("sha256sum", ""); err != nil {
		return nil, err
	}
	if err := s.setURL(ctx, root, cfg.KeyProv("index")); err != nil {
		return nil, err
	}
	return s, nil
}
