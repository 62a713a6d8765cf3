package cas

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"github.com/bstgo/bst/cas/artifactpb"
)

// RemoteArtifactCache is the local artifact cache backed by remote
// artifact caches, speaking BuildStream 2's protocol: an artifact ref
// "<project>/<normal-name>/<key>" is the Remote Asset blob
// urn:fdc:buildstream.build:2020:artifact:<ref>, naming the digest of the
// serialized Artifact message, stored in the CAS with everything it
// names. Pushes record the URN for the artifact's strong and weak keys.
//
//	pull:  index remotes   FetchBlob(urn)            -> artifact digest
//	       storage remotes BatchRead/ByteStream      -> Artifact message
//	                       GetTree + BatchRead       -> files, build tree, sources, build root
//	                       BatchRead                 -> metadata, public data, logs
//	       local           sync, then the ref file (the message's bytes)
//
//	push:  storage remotes FindMissingBlobs, BatchUpdate/ByteStream of what is missing
//	       index remotes   FetchBlob(urns) (skip if the same) then PushBlob(urns, digest,
//	                       references_blobs: meta, logs, public data;
//	                       references_directories: files, build tree, sources, build root, sub-sandboxes)
type RemoteArtifactCache struct {
	local   *ArtifactCache
	remotes *Remotes
}

// NewRemoteArtifactCache returns the artifact cache local backed by
// remotes.
func NewRemoteArtifactCache(local *ArtifactCache, remotes *Remotes) *RemoteArtifactCache {
	return &RemoteArtifactCache{local: local, remotes: remotes}
}

// Local returns the local artifact cache.
func (c *RemoteArtifactCache) Local() *ArtifactCache { return c.local }

// Remotes returns the remotes.
func (c *RemoteArtifactCache) Remotes() *Remotes { return c.remotes }

// refProject returns the project of a ref.
func refProject(ref string) string {
	p, _, _ := strings.Cut(ref, "/")
	return p
}

// Pull fetches the artifact of ref from the first index remote that knows
// it and the first storage remote that has all of it, verifies every
// blob against its digest, and records it locally under ref (and the
// refs of its strong and weak keys). It reports whether the artifact was
// pulled; false with a nil error means no remote has it. Errors are
// *RemoteError values (joined when several remotes failed), to be shown
// as warnings; errors of the local cache are returned as they are.
//
// Every tree the artifact names is pulled, the build tree too: the local
// cache keeps only complete artifacts.
func (c *RemoteArtifactCache) Pull(ctx context.Context, ref string) (bool, error) {
	if err := checkRef(ref); err != nil {
		return false, err
	}
	index, storage := c.remotes.usable(ctx, refProject(ref), false)
	urn := ArtifactURN(ref)
	var errs []error
	var digest Digest
	found := false
	for _, r := range index {
		d, ok, err := r.FetchBlob(ctx, urn)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			digest, found = d, true
			break
		}
	}
	if !found {
		return false, errors.Join(errs...)
	}
	errs = nil
	for _, r := range storage {
		err := c.pullFrom(ctx, r, ref, digest)
		var nf *BlobNotFoundError
		switch {
		case err == nil:
			return true, nil
		case errors.As(err, &nf):
			continue // this remote does not have all of it; try the next
		default:
			var re *RemoteError
			if !errors.As(err, &re) {
				return false, err // the local cache failed
			}
			errs = append(errs, err)
		}
	}
	return false, errors.Join(errs...)
}

// pullFrom pulls the artifact whose message is blob digest from r.
func (c *RemoteArtifactCache) pullFrom(ctx context.Context, r *Remote, ref string, digest Digest) error {
	store := c.local.store
	release, err := store.Hold()
	if err != nil {
		return err
	}
	defer release()
	if err := r.Download(ctx, store, []Digest{digest}); err != nil {
		return err
	}
	data, err := store.ReadBlob(ctx, digest)
	if err != nil {
		return err
	}
	a := &artifactpb.Artifact{}
	if err := proto.Unmarshal(data, a); err != nil {
		return remoteErr(r.name, "pulling artifact "+ref, fmt.Errorf("the artifact message %s is unreadable: %w", digest, err))
	}
	trees, blobs, err := artifactParts(a)
	if err != nil {
		return remoteErr(r.name, "pulling artifact "+ref, err)
	}
	for _, t := range trees {
		if err := r.DownloadTree(ctx, store, t); err != nil {
			return err
		}
	}
	if err := r.Download(ctx, store, blobs); err != nil {
		return err
	}
	if err := store.Sync(); err != nil {
		return err
	}
	// Everything was stored just now, and expiry waits for the hold:
	// no need to look at it all again.
	return c.local.putRaw(ctx, data, a, false, pulledRefs(ref, a)...)
}

// pulledRefs are the refs a pulled artifact is recorded under: the one
// asked for, and those of its strong and weak keys.
func pulledRefs(ref string, a *artifactpb.Artifact) []string {
	refs := []string{ref}
	i := strings.LastIndexByte(ref, '/')
	for _, k := range []string{a.StrongKey, a.WeakKey} {
		if k == "" || CheckName(k) != nil {
			continue
		}
		if other := ref[:i+1] + k; other != refs[0] && (len(refs) < 2 || other != refs[1]) {
			refs = append(refs, other)
		}
	}
	return refs
}

// artifactParts returns the trees and the blobs an artifact names, every
// digest checked: an artifact from a remote is untrusted.
func artifactParts(a *artifactpb.Artifact) (trees, blobs []Digest, err error) {
	// BuildStream's order (_artifactcache.py _push_artifact_proto).
	treeProtos := append([]*repb.Digest{a.GetFiles(), a.GetBuildtree(), a.GetSources(), a.GetBuildroot()},
		a.GetBuildsandbox().GetSubsandboxDigests()...)
	blobProtos := []*repb.Digest{a.GetLowDiversityMeta(), a.GetHighDiversityMeta()}
	for _, l := range a.GetLogs() {
		blobProtos = append(blobProtos, l.GetDigest())
	}
	blobProtos = append(blobProtos, a.GetPublicData())
	for _, p := range treeProtos {
		if p.GetHash() == "" {
			continue
		}
		d, err := DigestFromProto(p)
		if err != nil {
			return nil, nil, fmt.Errorf("the artifact names an invalid tree: %w", err)
		}
		trees = append(trees, d)
	}
	for _, p := range blobProtos {
		if p.GetHash() == "" {
			continue
		}
		d, err := DigestFromProto(p)
		if err != nil {
			return nil, nil, fmt.Errorf("the artifact names an invalid blob: %w", err)
		}
		blobs = append(blobs, d)
	}
	return trees, blobs, nil
}

// putRaw records the serialized artifact data (whose message is a) under
// refs, as they came: the bytes stay those of the remote, so that pushing
// the artifact again gives the same digest. Everything a names must be
// stored, as for Put; with check, putRaw makes sure of it.
func (c *ArtifactCache) putRaw(ctx context.Context, data []byte, a *artifactpb.Artifact, check bool, refs ...string) error {
	for _, ref := range refs {
		if err := checkRef(ref); err != nil {
			return err
		}
	}
	if !check {
		return c.writeRefs(data, refs)
	}
	var missing []Digest
	if err := c.objects(ctx, a, map[Digest]bool{}, func(d Digest) {
		if !c.store.Has(d) {
			missing = append(missing, d)
		}
	}); err != nil {
		return fmt.Errorf("recording artifact: %w", err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("recording artifact: %d objects it names are not stored, such as %s", len(missing), missing[0])
	}
	return c.writeRefs(data, refs)
}

func (c *ArtifactCache) writeRefs(data []byte, refs []string) error {
	for _, ref := range refs {
		if err := writeFileAtomic(c.refPath(ref), c.store.tmp, data); err != nil {
			return storeError("recording artifact "+ref, err)
		}
	}
	return nil
}

// getRaw returns the serialized artifact of ref and its message.
func (c *ArtifactCache) getRaw(ref string) ([]byte, *artifactpb.Artifact, error) {
	if err := checkRef(ref); err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(c.refPath(ref))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("artifact %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("local cache: %w", err)
	}
	a := &artifactpb.Artifact{}
	if err := proto.Unmarshal(data, a); err != nil {
		return nil, nil, fmt.Errorf("artifact %s: unreadable: %w", ref, err)
	}
	return data, a, nil
}

// ErrWorkspaced is returned by Push for an artifact built from a
// workspace: BuildStream never pushes those.
var ErrWorkspaced = errors.New("the artifact was built from a workspace and is not pushed")

// Push sends the local artifact of ref to the project's push remotes:
// its blobs to every storage remote, then its URNs (for the artifact's
// strong and weak keys) to every index remote, as BuildStream 2 does. It
// reports whether an index remote was updated: false with a nil error
// means every remote had it already (or none accepts pushes). A ref that
// is not cached is ErrNotFound; an artifact built from a workspace is
// ErrWorkspaced. Failures of remotes are *RemoteError values (joined),
// to be shown as warnings; if a storage remote failed, no index is
// updated, so that no index names content that is not stored.
func (c *RemoteArtifactCache) Push(ctx context.Context, ref string) (bool, error) {
	data, a, err := c.local.getRaw(ref)
	if err != nil {
		return false, err
	}
	if a.WasWorkspaced {
		return false, ErrWorkspaced
	}
	digest := NewDigest(data)
	trees, blobs, err := artifactParts(a)
	if err != nil {
		return false, fmt.Errorf("artifact %s: %w", ref, err)
	}
	index, storage := c.remotes.usable(ctx, refProject(ref), true)
	if len(index) == 0 || len(storage) == 0 {
		return false, nil // nothing to push to (the reasons were warned about)
	}
	var errs []error
	for _, r := range storage {
		if err := c.uploadArtifact(ctx, r, trees, blobs, digest, data); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return false, errors.Join(errs...)
	}
	uris := artifactURNs(ref, a)
	pushed := false
	for _, r := range index {
		has, err := hasAll(ctx, r, uris, digest)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if has {
			continue // the remote has this artifact already
		}
		if err := r.PushBlob(ctx, uris, digest, blobs, trees); err != nil {
			errs = append(errs, err)
			continue
		}
		pushed = true
	}
	return pushed, errors.Join(errs...)
}

// hasAll reports whether every one of uris names blob d on r. Each URN
// is asked for separately: a server may have dropped one of them.
func hasAll(ctx context.Context, r *Remote, uris []string, d Digest) (bool, error) {
	for _, u := range uris {
		got, ok, err := r.FetchBlob(ctx, u)
		if err != nil || !ok || got != d {
			return false, err
		}
	}
	return true, nil
}

// uploadArtifact sends the artifact's trees, blobs and message to r.
func (c *RemoteArtifactCache) uploadArtifact(ctx context.Context, r *Remote, trees, blobs []Digest, digest Digest, data []byte) error {
	ds, err := c.local.store.TreeDigests(ctx, trees...)
	if err != nil {
		return fmt.Errorf("pushing: %w", err)
	}
	_, err = r.Upload(ctx, c.local.store, append(ds, blobs...), map[Digest][]byte{digest: data})
	return err
}

// artifactURNs are the URNs an artifact is pushed under: those of its
// strong and weak keys (the ref's own key when the message has none).
func artifactURNs(ref string, a *artifactpb.Artifact) []string {
	i := strings.LastIndexByte(ref, '/')
	var keys []string
	for _, k := range []string{a.StrongKey, a.WeakKey} {
		if k != "" && CheckName(k) == nil && (len(keys) == 0 || keys[0] != k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		keys = []string{ref[i+1:]}
	}
	uris := make([]string, len(keys))
	for j, k := range keys {
		uris[j] = ArtifactURN(ref[:i+1] + k)
	}
	return uris
}

// Contains asks the project's index remotes whether one of them knows
// the artifact of ref.
func (c *RemoteArtifactCache) Contains(ctx context.Context, ref string) (bool, error) {
	index, _ := c.remotes.usable(ctx, refProject(ref), false)
	var errs []error
	for _, r := range index {
		_, ok, err := r.FetchBlob(ctx, ArtifactURN(ref))
		if ok {
			return true, nil
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return false, errors.Join(errs...)
}
