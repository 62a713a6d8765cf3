package plugins

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/source"
)

// The remote source's I/O: it downloads one file and stages it as
// `filename` (0755 when `executable`, else 0644).

var (
	_ source.Fetcher       = (*remoteSource)(nil)
	_ source.Tracker       = (*remoteSource)(nil)
	_ source.FetchedStager = (*remoteSource)(nil)
	_ source.Stager        = (*remoteSource)(nil)
)

func (s *remoteSource) IsCached(fc *source.FetchContext) bool { return s.isCached(fc, "remote") }

func (s *remoteSource) Fetch(ctx context.Context, fc *source.FetchContext) error {
	return s.fetch(ctx, fc, "remote")
}

func (s *remoteSource) Track(ctx context.Context, fc *source.FetchContext) (*source.RefUpdate, error) {
	return s.track(ctx, fc, "remote")
}

// StageFetched stores the downloaded file, whose checksum is the ref, and
// a Directory holding it under its file name.
func (s *remoteSource) StageFetched(ctx context.Context, fc *source.FetchContext) (cas.Digest, error) {
	p := s.mirrorFile(fc, "remote")
	d, err := storeDownload(ctx, fc.Store, p, s.Ref)
	if err != nil {
		return cas.Digest{}, fc.Errorf("staging the remote file: %v", err)
	}
	return fc.Store.PutDirectory(ctx, &repb.Directory{Files: []*repb.FileNode{{
		Name: s.Filename, Digest: d.Proto(), IsExecutable: s.Executable,
	}}})
}

// Stage gives the tree the source cache holds for the source: the
// build's way in, once the source is fetched.
func (s *remoteSource) Stage(ctx context.Context, store *cas.LocalStore) (cas.Digest, error) {
	return source.StageCached(ctx, store, "remote", s.UniqueKey())
}

// storeDownload stores the file at p, whose SHA-256 is sum, in the store;
// Put checks the content against it.
func storeDownload(ctx context.Context, store *cas.LocalStore, p, sum string) (cas.Digest, error) {
	raw, err := hex.DecodeString(sum)
	if err != nil || len(raw) != 32 {
		return cas.Digest{}, fmt.Errorf("invalid sha256 ref %q", sum)
	}
	f, err := os.Open(p)
	if err != nil {
		return cas.Digest{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return cas.Digest{}, err
	}
	d := cas.DigestOf([32]byte(raw), st.Size())
	if err := store.Put(ctx, d, f); err != nil {
		return cas.Digest{}, fmt.Errorf("the download %s does not match its ref: %w", p, err)
	}
	return d, nil
}
