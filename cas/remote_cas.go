package cas

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"sync"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// transferConcurrency is how many batch or ByteStream calls run at once
// for one transfer.
const transferConcurrency = 8

// BlobStore is the narrow CAS interface both the local store and a remote
// implement: which blobs are missing, reading one blob (verified against
// its digest, the error coming at the end of the content at the latest),
// and storing one (refused unless the content is its digest's).
type BlobStore interface {
	FindMissing(ctx context.Context, ds []Digest) ([]Digest, error)
	Open(ctx context.Context, d Digest) (io.ReadCloser, error)
	Put(ctx context.Context, d Digest, r io.Reader) error
}

var (
	_ BlobStore = (*LocalStore)(nil)
	_ BlobStore = (*Remote)(nil)
)

// FindMissing returns the digests of ds the remote does not have, in
// order. The empty blob is never missing.
func (r *Remote) FindMissing(ctx context.Context, ds []Digest) ([]Digest, error) {
	ds = uniqueDigests(ds)
	var mu sync.Mutex
	missing := map[Digest]bool{}
	var jobs []func(context.Context) error
	for start := 0; start < len(ds); start += maxDigestsPerCall {
		chunk := ds[start:min(start+maxDigestsPerCall, len(ds))]
		jobs = append(jobs, func(ctx context.Context) error {
			req := &repb.FindMissingBlobsRequest{InstanceName: r.spec.InstanceName, DigestFunction: repb.DigestFunction_SHA256}
			for _, d := range chunk {
				req.BlobDigests = append(req.BlobDigests, d.Proto())
			}
			resp, err := r.cas.FindMissingBlobs(ctx, req)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, p := range resp.MissingBlobDigests {
				d, err := DigestFromProto(p)
				if err != nil {
					return fmt.Errorf("the server answered with an invalid digest: %w", err)
				}
				missing[d] = true
			}
			return nil
		})
	}
	if err := runParallel(ctx, transferConcurrency, jobs); err != nil {
		return nil, remoteErr(r.name, "finding missing blobs", err)
	}
	var out []Digest
	for _, d := range ds {
		if missing[d] && d != EmptyDigest {
			out = append(out, d)
		}
	}
	return out, nil
}

// uniqueDigests drops repeated digests, keeping the order.
func uniqueDigests(ds []Digest) []Digest {
	seen := make(map[Digest]bool, len(ds))
	out := make([]Digest, 0, len(ds))
	for _, d := range ds {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// runParallel runs jobs, at most n at once, and returns the first error;
// the others are cancelled then.
func runParallel(ctx context.Context, n int, jobs []func(context.Context) error) error {
	if len(jobs) == 1 {
		return jobs[0](ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan func(context.Context) error)
	)
	for range min(n, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range next {
				if err := job(ctx); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
feed:
	for _, job := range jobs {
		select {
		case next <- job:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// resourceName is the ByteStream name of blob d for reading.
func (r *Remote) resourceName(d Digest) string {
	name := "blobs/" + d.Hash() + "/" + strconv.FormatInt(d.Size(), 10)
	if r.spec.InstanceName != "" {
		name = r.spec.InstanceName + "/" + name
	}
	return name
}

// uploadName is the ByteStream name of a new upload of blob d.
func (r *Remote) uploadName(d Digest) string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
	name := "uploads/" + id + "/blobs/" + d.Hash() + "/" + strconv.FormatInt(d.Size(), 10)
	if r.spec.InstanceName != "" {
		name = r.spec.InstanceName + "/" + name
	}
	return name
}

// Open reads blob d through ByteStream. The reader fails with a
// *BlobMismatchError at the end if the content is not d's.
func (r *Remote) Open(ctx context.Context, d Digest) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := r.bs.Read(ctx, &bspb.ReadRequest{ResourceName: r.resourceName(d)})
	if err != nil {
		cancel()
		return nil, remoteErr(r.name, "reading blob "+d.String(), err)
	}
	rr := &remoteReader{r: r, d: d, stream: stream, cancel: cancel, h: sha256.New()}
	// Read the first message now, so that a missing blob is an error of
	// Open.
	var none [0]byte
	if _, err := rr.fill(none[:]); err != nil && err != io.EOF {
		cancel()
		return nil, remoteErr(r.name, "reading blob "+d.String(), err)
	}
	return rr, nil
}

type remoteReader struct {
	r      *Remote
	d      Digest
	stream bspb.ByteStream_ReadClient
	cancel context.CancelFunc
	buf    []byte
	h      hash.Hash
	n      int64
	err    error
}

func (rr *remoteReader) Read(p []byte) (int, error) { return rr.fill(p) }

// fill copies buffered content into p, receiving a message first when
// none is buffered.
func (rr *remoteReader) fill(p []byte) (int, error) {
	for len(rr.buf) == 0 {
		if rr.err != nil {
			return 0, rr.err
		}
		resp, err := rr.stream.Recv()
		switch {
		case err == io.EOF:
			rr.err = io.EOF
			if got := DigestOf([32]byte(rr.h.Sum(nil)), rr.n); got != rr.d {
				rr.err = &BlobMismatchError{Digest: rr.d, Got: got}
			}
		case isNotFound(err):
			rr.err = &BlobNotFoundError{Digest: rr.d}
		case err != nil:
			rr.err = err
		default:
			rr.h.Write(resp.Data)
			rr.n += int64(len(resp.Data))
			if rr.n > rr.d.Size() {
				rr.err = &BlobMismatchError{Digest: rr.d, Got: DigestOf([32]byte(rr.h.Sum(nil)), rr.n)}
			} else {
				rr.buf = resp.Data
			}
		}
	}
	n := copy(p, rr.buf)
	rr.buf = rr.buf[n:]
	return n, nil
}

func (rr *remoteReader) Close() error {
	rr.cancel()
	return nil
}

// Put uploads blob d read from rd: small blobs in one batch request,
// others through ByteStream.
func (r *Remote) Put(ctx context.Context, d Digest, rd io.Reader) error {
	if d.Size() <= r.batchBlobMax() {
		data, err := io.ReadAll(io.LimitReader(rd, d.Size()+1))
		if err != nil {
			return err
		}
		if got := NewDigest(data); got != d {
			return &BlobMismatchError{Digest: d, Got: got}
		}
		return remoteErr(r.name, "uploading blob "+d.String(), r.batchUpdate(ctx, []blobData{{d, data}}))
	}
	return remoteErr(r.name, "uploading blob "+d.String(), r.writeStream(ctx, d, rd))
}

// batchBlobMax is the largest blob sent or fetched in batches.
func (r *Remote) batchBlobMax() int64 { return r.maxBatch - batchEnvelope }

type blobData struct {
	d    Digest
	data []byte
}

// batchUpdate sends blobs in one BatchUpdateBlobs call.
func (r *Remote) batchUpdate(ctx context.Context, blobs []blobData) error {
	req := &repb.BatchUpdateBlobsRequest{InstanceName: r.spec.InstanceName, DigestFunction: repb.DigestFunction_SHA256}
	for _, b := range blobs {
		req.Requests = append(req.Requests, &repb.BatchUpdateBlobsRequest_Request{Digest: b.d.Proto(), Data: b.data})
	}
	resp, err := r.cas.BatchUpdateBlobs(ctx, req)
	if err != nil {
		return err
	}
	for _, res := range resp.Responses {
		if c := codes.Code(res.GetStatus().GetCode()); c != codes.OK {
			msg := res.GetStatus().GetMessage()
			if msg == "" {
				msg = fmt.Sprintf("uploading blob %s/%d", res.GetDigest().GetHash(), res.GetDigest().GetSizeBytes())
			}
			return status.Error(c, msg)
		}
	}
	return nil
}

// writeStream uploads blob d with ByteStream Write, from rd. The last
// message (finish_write) is only sent once rd has given all of d without
// error, so a local object that turns out corrupted is never committed.
func (r *Remote) writeStream(ctx context.Context, d Digest, rd io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := r.bs.Write(ctx)
	if err != nil {
		return err
	}
	name := r.uploadName(d)
	buf := make([]byte, min(bytestreamChunk, d.Size()))
	var off int64
	for {
		n, err := io.ReadFull(rd, buf[:min(int64(len(buf)), d.Size()-off)])
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return fmt.Errorf("blob %s: its content ended after %d bytes", d, off+int64(n))
			}
			return err
		}
		last := off+int64(n) == d.Size()
		if last {
			// Read to the end, so that a verifying reader checks the
			// content before the upload is committed.
			var one [1]byte
			if m, err := rd.Read(one[:]); m > 0 {
				return fmt.Errorf("blob %s: its content is longer than its digest says", d)
			} else if err != nil && err != io.EOF {
				return err
			}
		}
		req := &bspb.WriteRequest{WriteOffset: off, Data: buf[:n], FinishWrite: last}
		if off == 0 {
			req.ResourceName = name
		}
		if err := stream.Send(req); err != nil {
			if err == io.EOF {
				break // the server ended the stream: it has the blob, or an error follows
			}
			return err
		}
		off += int64(n)
		if last {
			break
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return err
	}
	if c := resp.GetCommittedSize(); c != d.Size() && c != -1 {
		return fmt.Errorf("blob %s: the server committed %d bytes", d, c)
	}
	return nil
}

// Download fetches the blobs ds into the local store dst, verifying each
// against its digest; those dst has are skipped. The objects are not
// synced: call dst.Sync before recording anything that names them. A blob
// the remote does not have is a *BlobNotFoundError inside the
// *RemoteError; a blob whose content does not match is a
// *BlobMismatchError, and is not stored.
func (r *Remote) Download(ctx context.Context, dst *LocalStore, ds []Digest) error {
	return remoteErr(r.name, "downloading blobs", r.download(ctx, dst, ds))
}

func (r *Remote) download(ctx context.Context, dst *LocalStore, ds []Digest) error {
	var small, large []Digest
	for _, d := range uniqueDigests(ds) {
		switch {
		case dst.Has(d):
		case d == EmptyDigest:
			if _, err := dst.PutBytes(ctx, nil); err != nil {
				return localErr{err}
			}
		case d.Size() <= r.batchBlobMax():
			small = append(small, d)
		default:
			large = append(large, d)
		}
	}
	var jobs []func(context.Context) error
	for _, batch := range r.batches(small) {
		jobs = append(jobs, func(ctx context.Context) error { return r.batchRead(ctx, dst, batch) })
	}
	for _, d := range large {
		jobs = append(jobs, func(ctx context.Context) error {
			return r.withRetry(ctx, func(ctx context.Context) error { return r.readStream(ctx, dst, d) })
		})
	}
	if len(jobs) == 0 {
		return nil
	}
	return runParallel(ctx, transferConcurrency, jobs)
}

// batches groups small blobs into requests of at most batchBlobMax bytes
// of content, biggest first so that the batches come out even.
func (r *Remote) batches(ds []Digest) [][]Digest {
	ds = slices.Clone(ds)
	slices.SortStableFunc(ds, func(a, b Digest) int { return int(b.Size() - a.Size()) })
	limit := r.batchBlobMax()
	var out [][]Digest
	var cur []Digest
	var size int64
	for _, d := range ds {
		// Each entry also costs its digest and status in the message.
		cost := d.Size() + 128
		if len(cur) > 0 && (size+cost > limit || len(cur) >= maxDigestsPerCall) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, d)
		size += cost
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// batchRead fetches one batch of blobs into dst.
func (r *Remote) batchRead(ctx context.Context, dst *LocalStore, ds []Digest) error {
	req := &repb.BatchReadBlobsRequest{InstanceName: r.spec.InstanceName, DigestFunction: repb.DigestFunction_SHA256}
	for _, d := range ds {
		req.Digests = append(req.Digests, d.Proto())
	}
	resp, err := r.cas.BatchReadBlobs(ctx, req)
	if err != nil {
		return err
	}
	got := make(map[Digest]bool, len(ds))
	for _, res := range resp.Responses {
		d, err := DigestFromProto(res.GetDigest())
		if err != nil {
			return fmt.Errorf("the server answered with an invalid digest: %w", err)
		}
		switch c := codes.Code(res.GetStatus().GetCode()); c {
		case codes.OK:
		case codes.NotFound:
			return &BlobNotFoundError{Digest: d}
		default:
			msg := res.GetStatus().GetMessage()
			if msg == "" {
				msg = "reading blob " + d.String()
			}
			return status.Error(c, msg)
		}
		if res.Compressor != repb.Compressor_IDENTITY {
			return fmt.Errorf("blob %s came compressed, which was not asked for", d)
		}
		if err := dst.putBytesUnsynced(ctx, d, res.Data); err != nil {
			var mm *BlobMismatchError
			if errors.As(err, &mm) {
				return err
			}
			return localErr{err}
		}
		got[d] = true
	}
	for _, d := range ds {
		if !got[d] {
			return fmt.Errorf("the server did not answer for blob %s", d)
		}
	}
	return nil
}

// readStream fetches one blob with ByteStream Read into dst.
func (r *Remote) readStream(ctx context.Context, dst *LocalStore, d Digest) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := r.bs.Read(ctx, &bspb.ReadRequest{ResourceName: r.resourceName(d)})
	if err != nil {
		return err
	}
	rr := &remoteReader{r: r, d: d, stream: stream, cancel: cancel, h: sha256.New()}
	err = dst.PutUnsynced(ctx, d, rr)
	if err == nil && rr.err != nil && rr.err != io.EOF {
		err = rr.err
	}
	if err != nil {
		// Prefer what the stream said (not found, a transient error)
		// over the store's view of a short read.
		var mm *BlobMismatchError
		switch {
		case errors.As(err, &mm):
			return err
		case rr.err != nil && rr.err != io.EOF:
			return rr.err
		}
		return localErr{err}
	}
	return nil
}

// Upload sends the blobs ds the remote does not have, read from the
// local store src (and verified on the way), or from extra for blobs
// that are not stored locally (a message just made). It returns how many
// blobs were sent.
func (r *Remote) Upload(ctx context.Context, src *LocalStore, ds []Digest, extra map[Digest][]byte) (int, error) {
	all := slices.Clone(ds)
	for d := range extra {
		all = append(all, d)
	}
	missing, err := r.FindMissing(ctx, all)
	if err != nil {
		return 0, err
	}
	var small, large []Digest
	for _, d := range missing {
		if d.Size() <= r.batchBlobMax() {
			small = append(small, d)
		} else {
			large = append(large, d)
		}
	}
	read := func(ctx context.Context, d Digest) ([]byte, error) {
		if data, ok := extra[d]; ok {
			return data, nil
		}
		return src.ReadBlob(ctx, d)
	}
	var jobs []func(context.Context) error
	for _, batch := range r.batches(small) {
		jobs = append(jobs, func(ctx context.Context) error {
			blobs := make([]blobData, 0, len(batch))
			for _, d := range batch {
				data, err := read(ctx, d)
				if err != nil {
					return localErr{err}
				}
				blobs = append(blobs, blobData{d, data})
			}
			return r.batchUpdate(ctx, blobs)
		})
	}
	for _, d := range large {
		jobs = append(jobs, func(ctx context.Context) error {
			return r.withRetry(ctx, func(ctx context.Context) error {
				var rd io.ReadCloser
				if data, ok := extra[d]; ok {
					rd = io.NopCloser(bytes.NewReader(data))
				} else {
					f, err := src.Open(ctx, d)
					if err != nil {
						return localErr{err}
					}
					rd = f
				}
				defer rd.Close()
				err := r.writeStream(ctx, d, rd)
				var ce *CorruptError
				if errors.As(err, &ce) {
					return localErr{err}
				}
				return err
			})
		})
	}
	if len(jobs) == 0 {
		return 0, nil
	}
	if err := runParallel(ctx, transferConcurrency, jobs); err != nil {
		var le localErr
		if errors.As(err, &le) {
			return 0, le.err // a problem of the local cache, not of the remote
		}
		return 0, remoteErr(r.name, "uploading blobs", err)
	}
	return len(missing), nil
}

// localErr marks an error of the local store met during a transfer.
type localErr struct{ err error }

func (e localErr) Error() string { return e.err.Error() }
func (e localErr) Unwrap() error { return e.err }

// TreeDigests returns every blob of the Directory tree root in the local
// store: the Directory messages, then the files.
func (s *LocalStore) TreeDigests(ctx context.Context, roots ...Digest) ([]Digest, error) {
	var out []Digest
	seen := map[Digest]bool{}
	for _, root := range roots {
		if err := s.Reachable(ctx, root, seen, func(d Digest) { out = append(out, d) }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DownloadTree fetches the Directory tree root and every file it names
// into dst, skipping what dst has. The Directory messages come from
// GetTree when the server has it (each one checked against the digest
// its parent names, as every blob is), and are read by digest otherwise.
// Nothing is synced.
func (r *Remote) DownloadTree(ctx context.Context, dst *LocalStore, root Digest) error {
	return remoteErr(r.name, "downloading tree "+root.String(), r.downloadTree(ctx, dst, root))
}

func (r *Remote) downloadTree(ctx context.Context, dst *LocalStore, root Digest) error {
	var fromTree map[Digest][]byte
	if !dst.Has(root) {
		var err error
		if fromTree, err = r.getTree(ctx, root); err != nil {
			return err
		}
	}
	var files []Digest
	level := []Digest{root}
	seen := map[Digest]bool{root: true}
	for len(level) > 0 {
		var fetch []Digest
		for _, d := range level {
			if dst.Has(d) {
				continue
			}
			if data, ok := fromTree[d]; ok {
				if err := dst.putBytesUnsynced(ctx, d, data); err != nil {
					return err
				}
				continue
			}
			fetch = append(fetch, d)
		}
		if err := r.download(ctx, dst, fetch); err != nil {
			return err
		}
		var next []Digest
		for _, d := range level {
			dir, err := dst.ReadDirectory(ctx, d)
			if err != nil {
				var ce *CorruptError
				if errors.As(err, &ce) {
					return localErr{err}
				}
				return fmt.Errorf("directory %s: %w", d, err)
			}
			for _, f := range dir.Files {
				fd, _ := DigestFromProto(f.Digest)
				files = append(files, fd)
			}
			for _, sd := range dir.Directories {
				dd, _ := DigestFromProto(sd.Digest)
				if !seen[dd] {
					seen[dd] = true
					next = append(next, dd)
				}
			}
		}
		level = next
	}
	return r.download(ctx, dst, files)
}

// getTree asks for every Directory under root with GetTree, and returns
// them by the digest of their encoding. A server without GetTree, or
// missing part of the tree, gives fewer (or none); they are fetched by
// digest instead.
func (r *Remote) getTree(ctx context.Context, root Digest) (map[Digest][]byte, error) {
	out := map[Digest][]byte{}
	token := ""
	for {
		var next string
		err := r.withRetry(ctx, func(ctx context.Context) error {
			stream, err := r.cas.GetTree(ctx, &repb.GetTreeRequest{
				InstanceName: r.spec.InstanceName, RootDigest: root.Proto(), PageToken: token,
				DigestFunction: repb.DigestFunction_SHA256,
			})
			if err != nil {
				return err
			}
			for {
				resp, err := stream.Recv()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
				for _, dir := range resp.Directories {
					data, err := proto.MarshalOptions{Deterministic: true}.Marshal(dir)
					if err != nil {
						return err
					}
					out[NewDigest(data)] = data
				}
				next = resp.NextPageToken
			}
		})
		switch status.Code(err) {
		case codes.OK:
		case codes.Unimplemented, codes.NotFound:
			return out, nil
		default:
			return nil, err
		}
		if next == "" || next == token {
			return out, nil
		}
		token = next
	}
}

// UploadTree sends the Directory trees roots, and the files they name,
// that the remote does not have. It returns how many blobs were sent.
func (r *Remote) UploadTree(ctx context.Context, src *LocalStore, roots ...Digest) (int, error) {
	ds, err := src.TreeDigests(ctx, roots...)
	if err != nil {
		return 0, err
	}
	return r.Upload(ctx, src, ds, nil)
}
