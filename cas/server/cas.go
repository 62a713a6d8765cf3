package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/bazelbuild/remote-apis/build/bazel/semver"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bstgo/bst/cas"
)

type casService struct {
	repb.UnimplementedContentAddressableStorageServer
	s *Server
}

// checkDigestFunction refuses digest functions other than SHA-256.
func checkDigestFunction(f repb.DigestFunction_Value) error {
	if f != repb.DigestFunction_UNKNOWN && f != repb.DigestFunction_SHA256 {
		return status.Errorf(codes.InvalidArgument, "only SHA-256 digests are supported, not %s", f)
	}
	return nil
}

func digestArg(p *repb.Digest) (cas.Digest, error) {
	d, err := cas.DigestFromProto(p)
	if err != nil {
		return d, status.Error(codes.InvalidArgument, err.Error())
	}
	return d, nil
}

func (c casService) FindMissingBlobs(ctx context.Context, req *repb.FindMissingBlobsRequest) (*repb.FindMissingBlobsResponse, error) {
	if err := checkDigestFunction(req.DigestFunction); err != nil {
		return nil, err
	}
	resp := &repb.FindMissingBlobsResponse{}
	for _, p := range req.BlobDigests {
		d, err := digestArg(p)
		if err != nil {
			return nil, err
		}
		if !c.s.blobs.has(d) {
			resp.MissingBlobDigests = append(resp.MissingBlobDigests, p)
		}
	}
	return resp, nil
}

// blobStatus renders an error of one blob of a batch.
func blobStatus(err error) *spb.Status {
	if err == nil {
		return &spb.Status{}
	}
	var mm *cas.BlobMismatchError
	var ce *cas.CorruptError
	switch {
	case errors.Is(err, cas.ErrNotFound):
		return &spb.Status{Code: int32(codes.NotFound), Message: "blob not found"}
	case errors.As(err, &mm):
		return &spb.Status{Code: int32(codes.InvalidArgument), Message: err.Error()}
	case errors.Is(err, errTooLarge):
		return &spb.Status{Code: int32(codes.ResourceExhausted), Message: err.Error()}
	case errors.As(err, &ce):
		return &spb.Status{Code: int32(codes.DataLoss), Message: fmt.Sprintf("blob %s was corrupted on the server and has been removed", ce.Digest)}
	}
	var de *cas.DiskFullError
	if errors.As(err, &de) {
		return &spb.Status{Code: int32(codes.ResourceExhausted), Message: "the server's disk is full"}
	}
	return &spb.Status{Code: int32(codes.Internal), Message: err.Error()}
}

func (c casService) BatchUpdateBlobs(ctx context.Context, req *repb.BatchUpdateBlobsRequest) (*repb.BatchUpdateBlobsResponse, error) {
	if err := checkDigestFunction(req.DigestFunction); err != nil {
		return nil, err
	}
	resp := &repb.BatchUpdateBlobsResponse{}
	var total int64
	for _, r := range req.Requests {
		total += int64(len(r.Data))
	}
	if total > MaxBatchBytes+MaxBatchBytes/4 {
		return nil, status.Errorf(codes.InvalidArgument, "the batch holds %d bytes, more than the %d announced", total, MaxBatchBytes)
	}
	for _, r := range req.Requests {
		d, err := digestArg(r.Digest)
		if err != nil {
			return nil, err
		}
		if r.Compressor != repb.Compressor_IDENTITY {
			resp.Responses = append(resp.Responses, &repb.BatchUpdateBlobsResponse_Response{Digest: r.Digest,
				Status: &spb.Status{Code: int32(codes.InvalidArgument), Message: "compressed uploads are not supported"}})
			continue
		}
		err = c.s.blobs.put(ctx, d, bytes.NewReader(r.Data))
		resp.Responses = append(resp.Responses, &repb.BatchUpdateBlobsResponse_Response{Digest: r.Digest, Status: blobStatus(err)})
	}
	return resp, nil
}

func (c casService) BatchReadBlobs(ctx context.Context, req *repb.BatchReadBlobsRequest) (*repb.BatchReadBlobsResponse, error) {
	if err := checkDigestFunction(req.DigestFunction); err != nil {
		return nil, err
	}
	resp := &repb.BatchReadBlobsResponse{}
	var total int64
	for _, p := range req.Digests {
		d, err := digestArg(p)
		if err != nil {
			return nil, err
		}
		total += d.Size()
	}
	if total > MaxBatchBytes {
		return nil, status.Errorf(codes.InvalidArgument, "the batch asks for %d bytes, more than the %d announced", total, MaxBatchBytes)
	}
	for _, p := range req.Digests {
		d, _ := cas.DigestFromProto(p)
		data, err := c.s.blobs.read(ctx, d)
		resp.Responses = append(resp.Responses, &repb.BatchReadBlobsResponse_Response{Digest: p, Data: data, Status: blobStatus(err)})
	}
	return resp, nil
}

// GetTree streams every Directory of the tree, breadth first, in
// messages of at most page_size directories (1000 by default). Parts of
// the tree that are missing are left out, as the API allows.
func (c casService) GetTree(req *repb.GetTreeRequest, stream grpc.ServerStreamingServer[repb.GetTreeResponse]) error {
	if err := checkDigestFunction(req.DigestFunction); err != nil {
		return err
	}
	if req.PageToken != "" {
		return status.Error(codes.InvalidArgument, "page tokens are not supported: the whole tree comes in one call")
	}
	root, err := digestArg(req.RootDigest)
	if err != nil {
		return err
	}
	ctx := stream.Context()
	page := int(req.PageSize)
	if page <= 0 || page > 1000 {
		page = 1000
	}
	resp := &repb.GetTreeResponse{}
	seen := map[cas.Digest]bool{root: true}
	level := []cas.Digest{root}
	found := false
	for len(level) > 0 {
		var next []cas.Digest
		for _, d := range level {
			dir, err := c.s.blobs.readDirectory(ctx, d)
			if err != nil {
				if errors.Is(err, cas.ErrNotFound) || d == root {
					continue
				}
				var ce *cas.CorruptError
				if errors.As(err, &ce) {
					continue
				}
				return status.Error(codes.Internal, err.Error())
			}
			found = true
			resp.Directories = append(resp.Directories, dir)
			if len(resp.Directories) >= page {
				if err := stream.Send(resp); err != nil {
					return err
				}
				resp = &repb.GetTreeResponse{}
			}
			for _, sd := range dir.Directories {
				cd, err := cas.DigestFromProto(sd.Digest)
				if err == nil && !seen[cd] {
					seen[cd] = true
					next = append(next, cd)
				}
			}
		}
		level = next
	}
	if !found {
		return status.Errorf(codes.NotFound, "directory %s not found", root)
	}
	if len(resp.Directories) > 0 {
		return stream.Send(resp)
	}
	return nil
}

func (casService) SplitBlob(context.Context, *repb.SplitBlobRequest) (*repb.SplitBlobResponse, error) {
	return nil, status.Error(codes.Unimplemented, "blob splitting is not supported")
}

func (casService) SpliceBlob(context.Context, *repb.SpliceBlobRequest) (*repb.SpliceBlobResponse, error) {
	return nil, status.Error(codes.Unimplemented, "blob splicing is not supported")
}

func (casService) GetChunkMapping(*repb.GetChunkMappingRequest, grpc.ServerStreamingServer[repb.GetChunkMappingResponse]) error {
	return status.Error(codes.Unimplemented, "chunking is not supported")
}

func (casService) RegisterChunkMapping(grpc.ClientStreamingServer[repb.RegisterChunkMappingRequest, repb.RegisterChunkMappingResponse]) error {
	return status.Error(codes.Unimplemented, "chunking is not supported")
}

type capsService struct {
	repb.UnimplementedCapabilitiesServer
	s *Server
}

// GetCapabilities announces a cache (no execution): SHA-256, the batch
// limit, and whether the caller may update the action cache.
func (c capsService) GetCapabilities(ctx context.Context, req *repb.GetCapabilitiesRequest) (*repb.ServerCapabilities, error) {
	return &repb.ServerCapabilities{
		CacheCapabilities: &repb.CacheCapabilities{
			DigestFunctions: []repb.DigestFunction_Value{repb.DigestFunction_SHA256},
			ActionCacheUpdateCapabilities: &repb.ActionCacheUpdateCapabilities{
				UpdateEnabled: callerAccess(ctx) >= PushAccess,
			},
			MaxBatchTotalSizeBytes:      MaxBatchBytes,
			SymlinkAbsolutePathStrategy: repb.SymlinkAbsolutePathStrategy_ALLOWED,
		},
		LowApiVersion:  &semver.SemVer{Major: 2, Minor: 0},
		HighApiVersion: &semver.SemVer{Major: 2, Minor: 3},
	}, nil
}
