package server

import (
	"bytes"
	"context"
	"errors"
	"io/fs"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/bstgo/bst/cas"
)

type acService struct {
	repb.UnimplementedActionCacheServer
	s *Server
}

func acKey(instance string, d cas.Digest) string { return indexKey("ac", instance, d.String()) }

// GetActionResult answers only when every output the result names is
// still stored (and marks them used); otherwise the entry is dropped and
// the answer is NOT_FOUND, so a client never gets a result it cannot
// download.
func (a acService) GetActionResult(ctx context.Context, req *repb.GetActionResultRequest) (*repb.ActionResult, error) {
	if err := checkDigestFunction(req.DigestFunction); err != nil {
		return nil, err
	}
	d, err := digestArg(req.ActionDigest)
	if err != nil {
		return nil, err
	}
	key := acKey(req.InstanceName, d)
	res := &repb.ActionResult{}
	if _, err := a.s.ac.get(key, res); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			a.s.metrics.acMisses.Add(1)
			return nil, status.Errorf(codes.NotFound, "no action result for %s", d)
		}
		return nil, status.Error(codes.Internal, err.Error())
	}
	complete, err := a.s.resultComplete(ctx, res)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if !complete {
		a.s.ac.remove(key)
		a.s.metrics.incomplete.Add(1)
		a.s.metrics.acMisses.Add(1)
		return nil, status.Errorf(codes.NotFound, "no action result for %s", d)
	}
	a.s.metrics.acHits.Add(1)
	if err := a.s.inline(ctx, req, res); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return res, nil
}

// resultComplete reports whether everything an action result names is
// stored: output files, output directories (Tree messages and every file
// in them), stdout and stderr.
func (s *Server) resultComplete(ctx context.Context, res *repb.ActionResult) (bool, error) {
	var ds []*repb.Digest
	for _, f := range res.OutputFiles {
		ds = append(ds, f.Digest)
	}
	if res.StdoutDigest != nil {
		ds = append(ds, res.StdoutDigest)
	}
	if res.StderrDigest != nil {
		ds = append(ds, res.StderrDigest)
	}
	for _, p := range ds {
		d, err := cas.DigestFromProto(p)
		if err != nil || !s.blobs.has(d) {
			return false, nil
		}
	}
	for _, od := range res.OutputDirectories {
		td, err := cas.DigestFromProto(od.TreeDigest)
		if err != nil {
			return false, nil
		}
		data, err := s.blobs.read(ctx, td)
		if err != nil {
			return false, nil
		}
		tree := &repb.Tree{}
		if err := proto.Unmarshal(data, tree); err != nil {
			return false, nil
		}
		for _, dir := range append([]*repb.Directory{tree.Root}, tree.Children...) {
			for _, f := range dir.GetFiles() {
				d, err := cas.DigestFromProto(f.Digest)
				if err != nil || !s.blobs.has(d) {
					return false, nil
				}
			}
		}
	}
	return true, nil
}

// inline adds stdout, stderr and output files the request asks to have
// inlined, while they stay small.
func (s *Server) inline(ctx context.Context, req *repb.GetActionResultRequest, res *repb.ActionResult) error {
	budget := int64(MaxBatchBytes / 4)
	get := func(p *repb.Digest) []byte {
		d, err := cas.DigestFromProto(p)
		if err != nil || d.Size() > budget {
			return nil
		}
		data, err := s.blobs.read(ctx, d)
		if err != nil {
			return nil
		}
		budget -= d.Size()
		return data
	}
	if req.InlineStdout && res.StdoutDigest != nil {
		res.StdoutRaw = get(res.StdoutDigest)
	}
	if req.InlineStderr && res.StderrDigest != nil {
		res.StderrRaw = get(res.StderrDigest)
	}
	if len(req.InlineOutputFiles) > 0 {
		want := map[string]bool{}
		for _, p := range req.InlineOutputFiles {
			want[p] = true
		}
		for _, f := range res.OutputFiles {
			if want[f.Path] {
				f.Contents = get(f.Digest)
			}
		}
	}
	return nil
}

// UpdateActionResult records a result once everything it names is
// stored (and synced).
func (a acService) UpdateActionResult(ctx context.Context, req *repb.UpdateActionResultRequest) (*repb.ActionResult, error) {
	if err := checkDigestFunction(req.DigestFunction); err != nil {
		return nil, err
	}
	d, err := digestArg(req.ActionDigest)
	if err != nil {
		return nil, err
	}
	if req.ActionResult == nil {
		return nil, status.Error(codes.InvalidArgument, "no action result")
	}
	res := proto.Clone(req.ActionResult).(*repb.ActionResult)
	// Inlined content goes to the CAS; the entry keeps only digests.
	for _, f := range res.OutputFiles {
		if len(f.Contents) > 0 {
			fd, err := digestArg(f.Digest)
			if err != nil {
				return nil, err
			}
			if err := a.s.blobs.put(ctx, fd, bytes.NewReader(f.Contents)); err != nil {
				return nil, writeError(fd, err)
			}
			f.Contents = nil
		}
	}
	for _, raw := range []struct {
		data []byte
		dst  **repb.Digest
	}{{res.StdoutRaw, &res.StdoutDigest}, {res.StderrRaw, &res.StderrDigest}} {
		if len(raw.data) > 0 {
			rd := cas.NewDigest(raw.data)
			if err := a.s.blobs.put(ctx, rd, bytes.NewReader(raw.data)); err != nil {
				return nil, writeError(rd, err)
			}
			*raw.dst = rd.Proto()
		}
	}
	res.StdoutRaw, res.StderrRaw = nil, nil
	complete, err := a.s.resultComplete(ctx, res)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if !complete {
		return nil, status.Error(codes.FailedPrecondition, "the action result names blobs that are not stored: upload them first")
	}
	if err := a.s.blobs.sync(); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if err := a.s.ac.put(acKey(req.InstanceName, d), res); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return req.ActionResult, nil
}
