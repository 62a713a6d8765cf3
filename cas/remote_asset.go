package cas

import (
	"context"
	"fmt"

	rapb "github.com/bazelbuild/remote-apis/build/bazel/remote/asset/v1"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The Remote Asset URNs BuildStream 2 uses (src/_artifactcache.py,
// src/_sourcecache.py, src/_elementsourcescache.py).
const (
	artifactURNPrefix = "urn:fdc:buildstream.build:2020:artifact:"
	sourceURNPrefix   = "urn:fdc:buildstream.build:2020:source:"
)

// ArtifactURN is the Remote Asset name of an artifact ref
// ("<project>/<normal-name>/<key>").
func ArtifactURN(ref string) string { return artifactURNPrefix + ref }

// SourceURN is the Remote Asset name of a source ("<kind>/<sourcekey>",
// pushed as a Directory) or of an element's sources ("<key>", pushed as
// a Source message).
func SourceURN(ref string) string { return sourceURNPrefix + ref }

// FetchBlob asks the remote's Remote Asset service which blob one of uris
// names. ok is false when none is known.
func (r *Remote) FetchBlob(ctx context.Context, uris ...string) (d Digest, ok bool, err error) {
	resp, err := r.fetch.FetchBlob(ctx, &rapb.FetchBlobRequest{InstanceName: r.spec.InstanceName, Uris: uris})
	d, ok, err = assetAnswer(resp.GetStatus().GetCode(), resp.GetStatus().GetMessage(), resp.GetBlobDigest(), err)
	return d, ok, remoteErr(r.name, "fetching "+uris[0], err)
}

// FetchDirectory asks which Directory one of uris names.
func (r *Remote) FetchDirectory(ctx context.Context, uris ...string) (d Digest, ok bool, err error) {
	resp, err := r.fetch.FetchDirectory(ctx, &rapb.FetchDirectoryRequest{InstanceName: r.spec.InstanceName, Uris: uris})
	d, ok, err = assetAnswer(resp.GetStatus().GetCode(), resp.GetStatus().GetMessage(), resp.GetRootDirectoryDigest(), err)
	return d, ok, remoteErr(r.name, "fetching "+uris[0], err)
}

// assetAnswer reads a Fetch response: NOT_FOUND, as an error or as the
// response's status, means not known.
func assetAnswer(code int32, msg string, digest *repb.Digest, err error) (Digest, bool, error) {
	if err != nil {
		if isNotFound(err) {
			return Digest{}, false, nil
		}
		return Digest{}, false, err
	}
	switch codes.Code(code) {
	case codes.OK:
	case codes.NotFound:
		return Digest{}, false, nil
	default:
		return Digest{}, false, status.Error(codes.Code(code), msg)
	}
	d, err := DigestFromProto(digest)
	if err != nil {
		return Digest{}, false, fmt.Errorf("the server answered with an invalid digest: %w", err)
	}
	return d, true, nil
}

// PushBlob records that uris name blob d, which references the blobs
// refBlobs and the Directory trees refDirs (all already on the server).
func (r *Remote) PushBlob(ctx context.Context, uris []string, d Digest, refBlobs, refDirs []Digest) error {
	_, err := r.push.PushBlob(ctx, &rapb.PushBlobRequest{
		InstanceName:          r.spec.InstanceName,
		Uris:                  uris,
		BlobDigest:            d.Proto(),
		ReferencesBlobs:       protoDigests(refBlobs),
		ReferencesDirectories: protoDigests(refDirs),
	})
	return remoteErr(r.name, "pushing "+uris[0], err)
}

// PushDirectory records that uris name the Directory tree d.
func (r *Remote) PushDirectory(ctx context.Context, uris []string, d Digest, refBlobs, refDirs []Digest) error {
	_, err := r.push.PushDirectory(ctx, &rapb.PushDirectoryRequest{
		InstanceName:          r.spec.InstanceName,
		Uris:                  uris,
		RootDirectoryDigest:   d.Proto(),
		ReferencesBlobs:       protoDigests(refBlobs),
		ReferencesDirectories: protoDigests(refDirs),
	})
	return remoteErr(r.name, "pushing "+uris[0], err)
}

func protoDigests(ds []Digest) []*repb.Digest {
	if len(ds) == 0 {
		return nil
	}
	out := make([]*repb.Digest, len(ds))
	for i, d := range ds {
		out[i] = d.Proto()
	}
	return out
}
