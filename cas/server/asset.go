package server

import (
	"context"
	"errors"
	"io/fs"
	"sort"
	"time"

	rapb "github.com/bazelbuild/remote-apis/build/bazel/remote/asset/v1"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/bstgo/bst/cas"
)

// Remote Asset entries are kept one per URI, keyed by instance, kind
// (blob or directory), URI and qualifiers, each holding a PushBlobRequest
// with that one URI (for a directory, blob_digest is the root
// Directory's digest). Fetches only answer entries whose content, and
// everything they reference, is still stored; pushes are only accepted
// for content that is stored.

type assetKind string

const (
	blobAsset      assetKind = "blob"
	directoryAsset assetKind = "directory"
)

// qualifierKey renders qualifiers in a canonical order; a name given
// twice is refused.
func qualifierKey(qs []*rapb.Qualifier) (string, error) {
	sorted := make([]*rapb.Qualifier, len(qs))
	copy(sorted, qs)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	key := ""
	for i, q := range sorted {
		if i > 0 && sorted[i-1].Name == q.Name {
			return "", status.Errorf(codes.InvalidArgument, "qualifier %q is given twice", q.Name)
		}
		key += q.Name + "=" + q.Value + "\x00"
	}
	return key, nil
}

func assetKey(instance string, kind assetKind, uri, qualifiers string) string {
	return indexKey("asset", instance, string(kind), uri, qualifiers)
}

type fetchService struct {
	rapb.UnimplementedFetchServer
	s *Server
}

// lookup returns the first of uris with a complete entry.
func (s *Server) lookupAsset(ctx context.Context, instance string, kind assetKind, uris []string, qs []*rapb.Qualifier, oldest *timestamppb.Timestamp) (*rapb.PushBlobRequest, string, error) {
	if len(uris) == 0 {
		return nil, "", status.Error(codes.InvalidArgument, "no URIs given")
	}
	qk, err := qualifierKey(qs)
	if err != nil {
		return nil, "", err
	}
	for _, uri := range uris {
		key := assetKey(instance, kind, uri, qk)
		rec := &rapb.PushBlobRequest{}
		written, err := s.assets.get(key, rec)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", status.Error(codes.Internal, err.Error())
		}
		if exp := rec.GetExpireAt(); exp != nil && exp.AsTime().Before(time.Now()) {
			s.assets.remove(key)
			continue
		}
		if oldest != nil && written.Before(oldest.AsTime()) {
			continue
		}
		ok, err := s.assetComplete(ctx, kind, rec)
		if err != nil {
			return nil, "", status.Error(codes.Internal, err.Error())
		}
		if !ok {
			s.assets.remove(key)
			s.metrics.incomplete.Add(1)
			continue
		}
		return rec, uri, nil
	}
	return nil, "", nil
}

// assetComplete reports whether an entry's content and references are
// all stored, marking them used.
func (s *Server) assetComplete(ctx context.Context, kind assetKind, rec *rapb.PushBlobRequest) (bool, error) {
	d, err := cas.DigestFromProto(rec.BlobDigest)
	if err != nil {
		return false, nil
	}
	seen := map[cas.Digest]bool{}
	if kind == directoryAsset {
		if ok, err := s.blobs.treeComplete(ctx, d, seen); !ok || err != nil {
			return ok, err
		}
	} else if !s.blobs.has(d) {
		return false, nil
	}
	for _, p := range rec.ReferencesBlobs {
		rd, err := cas.DigestFromProto(p)
		if err != nil || !s.blobs.has(rd) {
			return false, nil
		}
	}
	for _, p := range rec.ReferencesDirectories {
		rd, err := cas.DigestFromProto(p)
		if err != nil {
			return false, nil
		}
		if ok, err := s.blobs.treeComplete(ctx, rd, seen); !ok || err != nil {
			return ok, err
		}
	}
	return true, nil
}

var notFoundStatus = &spb.Status{Code: int32(codes.NotFound), Message: "not found"}

func (f fetchService) FetchBlob(ctx context.Context, req *rapb.FetchBlobRequest) (*rapb.FetchBlobResponse, error) {
	rec, uri, err := f.s.lookupAsset(ctx, req.InstanceName, blobAsset, req.Uris, req.Qualifiers, req.OldestContentAccepted)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		f.s.metrics.assetMisses.Add(1)
		return &rapb.FetchBlobResponse{Status: notFoundStatus}, nil
	}
	f.s.metrics.assetHits.Add(1)
	return &rapb.FetchBlobResponse{Status: &spb.Status{}, Uri: uri, Qualifiers: rec.Qualifiers, ExpiresAt: rec.ExpireAt,
		BlobDigest: rec.BlobDigest, DigestFunction: repb.DigestFunction_SHA256}, nil
}

func (f fetchService) FetchDirectory(ctx context.Context, req *rapb.FetchDirectoryRequest) (*rapb.FetchDirectoryResponse, error) {
	rec, uri, err := f.s.lookupAsset(ctx, req.InstanceName, directoryAsset, req.Uris, req.Qualifiers, req.OldestContentAccepted)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		f.s.metrics.assetMisses.Add(1)
		return &rapb.FetchDirectoryResponse{Status: notFoundStatus}, nil
	}
	f.s.metrics.assetHits.Add(1)
	return &rapb.FetchDirectoryResponse{Status: &spb.Status{}, Uri: uri, Qualifiers: rec.Qualifiers, ExpiresAt: rec.ExpireAt,
		RootDirectoryDigest: rec.BlobDigest, DigestFunction: repb.DigestFunction_SHA256}, nil
}

type pushService struct {
	rapb.UnimplementedPushServer
	s *Server
}

// pushAsset records rec under each of its URIs once its content is
// stored and synced.
func (s *Server) pushAsset(ctx context.Context, kind assetKind, rec *rapb.PushBlobRequest) error {
	if len(rec.Uris) == 0 {
		return status.Error(codes.InvalidArgument, "no URIs given")
	}
	if _, err := digestArg(rec.BlobDigest); err != nil {
		return err
	}
	qk, err := qualifierKey(rec.Qualifiers)
	if err != nil {
		return err
	}
	ok, err := s.assetComplete(ctx, kind, rec)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	if !ok {
		return status.Error(codes.FailedPrecondition, "the content or its references are not stored: upload them to the CAS first")
	}
	if err := s.blobs.sync(); err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	for _, uri := range rec.Uris {
		one := &rapb.PushBlobRequest{
			Uris: []string{uri}, Qualifiers: rec.Qualifiers, ExpireAt: rec.ExpireAt, BlobDigest: rec.BlobDigest,
			ReferencesBlobs: rec.ReferencesBlobs, ReferencesDirectories: rec.ReferencesDirectories,
		}
		if err := s.assets.put(assetKey(rec.InstanceName, kind, uri, qk), one); err != nil {
			return status.Error(codes.Internal, err.Error())
		}
	}
	return nil
}

func (p pushService) PushBlob(ctx context.Context, req *rapb.PushBlobRequest) (*rapb.PushBlobResponse, error) {
	if err := checkDigestFunction(req.DigestFunction); err != nil {
		return nil, err
	}
	if err := p.s.pushAsset(ctx, blobAsset, req); err != nil {
		return nil, err
	}
	return &rapb.PushBlobResponse{}, nil
}

func (p pushService) PushDirectory(ctx context.Context, req *rapb.PushDirectoryRequest) (*rapb.PushDirectoryResponse, error) {
	if err := checkDigestFunction(req.DigestFunction); err != nil {
		return nil, err
	}
	rec := &rapb.PushBlobRequest{
		InstanceName: req.InstanceName, Uris: req.Uris, Qualifiers: req.Qualifiers, ExpireAt: req.ExpireAt,
		BlobDigest: req.RootDirectoryDigest, ReferencesBlobs: req.ReferencesBlobs, ReferencesDirectories: req.ReferencesDirectories,
	}
	if err := p.s.pushAsset(ctx, directoryAsset, rec); err != nil {
		return nil, err
	}
	return &rapb.PushDirectoryResponse{}, nil
}
