package server

import (
	"context"
	"errors"
	"io"
	"strings"

	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bstgo/bst/cas"
)

type bsService struct {
	s *Server
}

const readChunk = 1 << 20

// parseResource reads a ByteStream resource name: for reads
// "[instance/]blobs/<hash>/<size>", for writes
// "[instance/]uploads/<uuid>/blobs/<hash>/<size>[/anything]".
func parseResource(name string, write bool) (cas.Digest, error) {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if write && p == "uploads" && i+4 < len(parts) && parts[i+2] == "blobs" {
			return digestArgString(parts[i+3], parts[i+4])
		}
		if !write && p == "blobs" && i+2 < len(parts) && i+3 == len(parts) {
			return digestArgString(parts[i+1], parts[i+2])
		}
		if p == "compressed-blobs" {
			return cas.Digest{}, status.Error(codes.InvalidArgument, "compressed blobs are not supported")
		}
	}
	return cas.Digest{}, status.Errorf(codes.InvalidArgument, "invalid resource name %q", name)
}

func digestArgString(hash, size string) (cas.Digest, error) {
	d, err := cas.ParseDigest(hash + "/" + size)
	if err != nil {
		return d, status.Error(codes.InvalidArgument, err.Error())
	}
	return d, nil
}

// Read streams a blob, verifying it as it is read: a blob found
// corrupted ends the stream with DATA_LOSS and is removed.
func (b bsService) Read(req *bspb.ReadRequest, stream bspb.ByteStream_ReadServer) error {
	d, err := parseResource(req.ResourceName, false)
	if err != nil {
		return err
	}
	if req.ReadOffset < 0 || req.ReadOffset > d.Size() || req.ReadLimit < 0 {
		return status.Error(codes.OutOfRange, "read offset or limit out of range")
	}
	rc, err := b.s.blobs.open(stream.Context(), d)
	if err != nil {
		return readError(d, err)
	}
	defer rc.Close()
	if req.ReadOffset > 0 {
		if _, err := io.CopyN(io.Discard, rc, req.ReadOffset); err != nil {
			return readError(d, err)
		}
	}
	left := d.Size() - req.ReadOffset
	if req.ReadLimit > 0 && req.ReadLimit < left {
		left = req.ReadLimit
	}
	buf := make([]byte, min(readChunk, max(left, 1)))
	for {
		n, err := io.ReadFull(rc, buf[:min(int64(len(buf)), left)])
		if n > 0 {
			if serr := stream.Send(&bspb.ReadResponse{Data: buf[:n]}); serr != nil {
				return serr
			}
			left -= int64(n)
		}
		if left == 0 {
			if req.ReadLimit == 0 || req.ReadOffset+req.ReadLimit >= d.Size() {
				// Read to the end, where the content is verified.
				var one [1]byte
				if _, err := rc.Read(one[:]); err != nil && err != io.EOF {
					return readError(d, err)
				}
			}
			return nil
		}
		if err != nil {
			return readError(d, err)
		}
	}
}

func readError(d cas.Digest, err error) error {
	var ce *cas.CorruptError
	switch {
	case errors.Is(err, cas.ErrNotFound):
		return status.Errorf(codes.NotFound, "blob %s not found", d)
	case errors.As(err, &ce):
		return status.Errorf(codes.DataLoss, "blob %s was corrupted on the server and has been removed", d)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return status.Errorf(codes.DataLoss, "blob %s is truncated on the server", d)
	}
	return status.Errorf(codes.Internal, "reading blob %s: %v", d, err)
}

// Write stores one upload, verified against the digest in its resource
// name before it is committed. A blob the server has already ends the
// upload at once with its full size committed, as the API provides.
func (b bsService) Write(stream bspb.ByteStream_WriteServer) error {
	first, err := stream.Recv()
	if err == io.EOF {
		return status.Error(codes.InvalidArgument, "empty upload")
	}
	if err != nil {
		return err
	}
	d, err := parseResource(first.ResourceName, true)
	if err != nil {
		return err
	}
	if b.s.blobs.has(d) {
		return stream.SendAndClose(&bspb.WriteResponse{CommittedSize: d.Size()})
	}
	if first.WriteOffset != 0 {
		return status.Error(codes.InvalidArgument, "uploads must start at offset 0")
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := b.s.blobs.put(ctx, d, pr)
		pr.CloseWithError(errStored)
		done <- err
	}()
	msg := first
	var off int64
	finished := false
	for {
		if msg.WriteOffset != off {
			pw.CloseWithError(errAborted)
			<-done
			return status.Errorf(codes.InvalidArgument, "write offset %d, expected %d", msg.WriteOffset, off)
		}
		if _, err := pw.Write(msg.Data); err != nil {
			break // the store stopped reading: it is done, one way or the other
		}
		off += int64(len(msg.Data))
		if msg.FinishWrite {
			finished = true
			break
		}
		if msg, err = stream.Recv(); err != nil {
			pw.CloseWithError(errAborted)
			<-done
			if err == io.EOF {
				return status.Error(codes.InvalidArgument, "the upload ended without finish_write")
			}
			return err
		}
	}
	pw.Close()
	if err := <-done; err != nil {
		return writeError(d, err)
	}
	if !finished && off < d.Size() && !b.s.blobs.has(d) {
		return status.Error(codes.InvalidArgument, "the upload ended early")
	}
	return stream.SendAndClose(&bspb.WriteResponse{CommittedSize: d.Size()})
}

var (
	errStored  = errors.New("stored")
	errAborted = errors.New("upload aborted")
)

func writeError(d cas.Digest, err error) error {
	var mm *cas.BlobMismatchError
	var de *cas.DiskFullError
	switch {
	case errors.As(err, &mm):
		return status.Errorf(codes.InvalidArgument, "the uploaded content does not match its digest %s", d)
	case errors.Is(err, errTooLarge):
		return status.Error(codes.ResourceExhausted, err.Error())
	case errors.As(err, &de):
		return status.Error(codes.ResourceExhausted, "the server's disk is full")
	case errors.Is(err, errAborted):
		return status.Error(codes.Canceled, "the upload was abandoned")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return status.Errorf(codes.InvalidArgument, "the upload of %s is shorter than its digest says", d)
	}
	return status.Errorf(codes.Internal, "storing blob %s: %v", d, err)
}

// QueryWriteStatus reports uploads as complete when the blob is stored;
// partial uploads are not kept, so anything else starts again from 0.
func (b bsService) QueryWriteStatus(ctx context.Context, req *bspb.QueryWriteStatusRequest) (*bspb.QueryWriteStatusResponse, error) {
	d, err := parseResource(req.ResourceName, true)
	if err != nil {
		return nil, err
	}
	if b.s.blobs.has(d) {
		return &bspb.QueryWriteStatusResponse{CommittedSize: d.Size(), Complete: true}, nil
	}
	return &bspb.QueryWriteStatusResponse{}, nil
}
