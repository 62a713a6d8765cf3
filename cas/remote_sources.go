package cas

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/bstgo/bst/cas/artifactpb"
)

// SourceRefs is the local source cache as the remote side needs it: the
// tree recorded for a source ref ("<kind>/<sourcekey>") or an element's
// sources key, and recording one. *source.Cache implements it.
type SourceRefs interface {
	Source(ctx context.Context, ref string) (Digest, bool)
	PutSource(ctx context.Context, ref string, d Digest) error
	Element(ctx context.Context, key string) (Digest, bool)
	PutElement(ctx context.Context, key string, d Digest) error
}

// RemoteSourceCache is the local source cache backed by remote source
// caches, with BuildStream 2's two kinds of entries:
//
//   - one source, "<kind>/<sourcekey>": the Remote Asset directory
//     urn:fdc:buildstream.build:2020:source:<kind>/<sourcekey>
//     (FetchDirectory / PushDirectory of the staged tree, _sourcecache.py);
//   - an element's sources staged together, "<key>": the Remote Asset blob
//     urn:fdc:buildstream.build:2020:source:<key>, a buildstream.v2.Source
//     message naming the tree (FetchBlob / PushBlob, _elementsourcescache.py).
//
// Errors of remotes are *RemoteError values, to be shown as warnings.
type RemoteSourceCache struct {
	store   *LocalStore
	refs    SourceRefs
	remotes *Remotes
}

// NewRemoteSourceCache returns the source cache refs, whose objects are in
// store, backed by remotes.
func NewRemoteSourceCache(store *LocalStore, refs SourceRefs, remotes *Remotes) *RemoteSourceCache {
	return &RemoteSourceCache{store: store, refs: refs, remotes: remotes}
}

// Remotes returns the remotes.
func (c *RemoteSourceCache) Remotes() *Remotes { return c.remotes }

// PullSource fetches the tree of the source ref of a project's element
// from the remotes and records it locally. It reports whether it was
// pulled; false with a nil error means no remote has it.
func (c *RemoteSourceCache) PullSource(ctx context.Context, project, ref string) (bool, error) {
	index, storage := c.remotes.usable(ctx, project, false)
	var errs []error
	var tree Digest
	found := false
	for _, r := range index {
		d, ok, err := r.FetchDirectory(ctx, SourceURN(ref))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			tree, found = d, true
			break
		}
	}
	if !found {
		return false, errors.Join(errs...)
	}
	return c.pullTree(ctx, storage, errs, tree, func() error { return c.refs.PutSource(ctx, ref, tree) })
}

// pullTree fetches tree from the first storage remote that has all of
// it, syncs the store and calls record.
func (c *RemoteSourceCache) pullTree(ctx context.Context, storage []*Remote, errs []error, tree Digest, record func() error) (bool, error) {
	release, err := c.store.Hold()
	if err != nil {
		return false, err
	}
	defer release()
	for _, r := range storage {
		err := r.DownloadTree(ctx, c.store, tree)
		var nf *BlobNotFoundError
		var re *RemoteError
		switch {
		case err == nil:
			if err := c.store.Sync(); err != nil {
				return false, err
			}
			if err := record(); err != nil {
				return false, err
			}
			return true, nil
		case errors.As(err, &nf):
		case errors.As(err, &re):
			errs = append(errs, err)
		default:
			return false, err
		}
	}
	return false, errors.Join(errs...)
}

// PushSource sends the locally cached tree of the source ref to the
// project's push remotes. It reports whether an index was updated. A
// source that is not cached is ErrNotFound.
func (c *RemoteSourceCache) PushSource(ctx context.Context, project, ref string) (bool, error) {
	tree, ok := c.refs.Source(ctx, ref)
	if !ok {
		return false, fmt.Errorf("source %s: %w", ref, ErrNotFound)
	}
	index, storage := c.remotes.usable(ctx, project, true)
	if len(index) == 0 || len(storage) == 0 {
		return false, nil // nothing to push to (the reasons were warned about)
	}
	var errs []error
	for _, r := range storage {
		if _, err := r.UploadTree(ctx, c.store, tree); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return false, errors.Join(errs...)
	}
	urns := []string{SourceURN(ref)}
	pushed := false
	for _, r := range index {
		d, ok, err := r.FetchDirectory(ctx, urns...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok && d == tree {
			continue
		}
		if err := r.PushDirectory(ctx, urns, tree, nil, nil); err != nil {
			errs = append(errs, err)
			continue
		}
		pushed = true
	}
	return pushed, errors.Join(errs...)
}

// sourceMessage is the serialized Source message naming tree, as
// BuildStream writes it (no version).
func sourceMessage(tree Digest) []byte {
	data, _ := proto.Marshal(&artifactpb.Source{Files: tree.Proto()})
	return data
}

// PullElementSources fetches an element's staged sources, by their key
// (source.ElementKey), and records them locally.
func (c *RemoteSourceCache) PullElementSources(ctx context.Context, project, key string) (bool, error) {
	index, storage := c.remotes.usable(ctx, project, false)
	var errs []error
	var msg Digest
	found := false
	for _, r := range index {
		d, ok, err := r.FetchBlob(ctx, SourceURN(key))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			msg, found = d, true
			break
		}
	}
	if !found {
		return false, errors.Join(errs...)
	}
	release, err := c.store.Hold()
	if err != nil {
		return false, err
	}
	defer release()
	for _, r := range storage {
		tree, err := c.elementTree(ctx, r, msg)
		if err == nil {
			err = r.DownloadTree(ctx, c.store, tree)
		}
		var nf *BlobNotFoundError
		var re *RemoteError
		switch {
		case err == nil:
			if err := c.store.Sync(); err != nil {
				return false, err
			}
			if err := c.refs.PutElement(ctx, key, tree); err != nil {
				return false, err
			}
			return true, nil
		case errors.As(err, &nf):
		case errors.As(err, &re):
			errs = append(errs, err)
		default:
			return false, err
		}
	}
	return false, errors.Join(errs...)
}

// elementTree fetches the Source message msg from r and returns the tree
// it names.
func (c *RemoteSourceCache) elementTree(ctx context.Context, r *Remote, msg Digest) (Digest, error) {
	if err := r.Download(ctx, c.store, []Digest{msg}); err != nil {
		return Digest{}, err
	}
	data, err := c.store.ReadBlob(ctx, msg)
	if err != nil {
		return Digest{}, err
	}
	var sp artifactpb.Source
	if err := proto.Unmarshal(data, &sp); err != nil {
		return Digest{}, remoteErr(r.name, "pulling sources", fmt.Errorf("the source message %s is unreadable: %w", msg, err))
	}
	tree, err := DigestFromProto(sp.GetFiles())
	if err != nil {
		return Digest{}, remoteErr(r.name, "pulling sources", fmt.Errorf("the source message %s names an invalid tree: %w", msg, err))
	}
	return tree, nil
}

// PushElementSources sends an element's locally cached staged sources,
// by their key, to the project's push remotes: the tree and the Source
// message to storage remotes, then the URN to index remotes.
func (c *RemoteSourceCache) PushElementSources(ctx context.Context, project, key string) (bool, error) {
	tree, ok := c.refs.Element(ctx, key)
	if !ok {
		return false, fmt.Errorf("sources %s: %w", key, ErrNotFound)
	}
	data := sourceMessage(tree)
	msg := NewDigest(data)
	index, storage := c.remotes.usable(ctx, project, true)
	if len(index) == 0 || len(storage) == 0 {
		return false, nil // nothing to push to (the reasons were warned about)
	}
	var errs []error
	for _, r := range storage {
		ds, err := c.store.TreeDigests(ctx, tree)
		if err != nil {
			return false, err
		}
		if _, err := r.Upload(ctx, c.store, ds, map[Digest][]byte{msg: data}); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return false, errors.Join(errs...)
	}
	urns := []string{SourceURN(key)}
	pushed := false
	for _, r := range index {
		d, ok, err := r.FetchBlob(ctx, urns...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok && d == msg {
			continue
		}
		if err := r.PushBlob(ctx, urns, msg, nil, []Digest{tree}); err != nil {
			errs = append(errs, err)
			continue
		}
		pushed = true
	}
	return pushed, errors.Join(errs...)
}
