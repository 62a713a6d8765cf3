package cas

import (
	"context"
	"crypto/sha256"
	"io"
)

// PutUnsynced stores blob d read from r, like Put, but without syncing
// the file: for many blobs fetched at once (a pull, or a cache server's
// uploads), followed by one Sync before anything that names them is
// recorded. Content that is not d is refused with a *BlobMismatchError
// (or an error when r gives too few bytes) and nothing is stored.
func (s *LocalStore) PutUnsynced(ctx context.Context, d Digest, r io.Reader) error {
	if s.Has(d) {
		return nil
	}
	var mismatch error
	err := s.write(ctx, d, func(w io.Writer) error {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(r, d.Size()+1))
		if err != nil {
			return err
		}
		if got := DigestOf([32]byte(h.Sum(nil)), n); got != d {
			mismatch = &BlobMismatchError{Digest: d, Got: got}
			return mismatch
		}
		return nil
	}, false)
	if mismatch != nil {
		return mismatch
	}
	return err
}

// putBytesUnsynced stores data as blob d, which it must be.
func (s *LocalStore) putBytesUnsynced(ctx context.Context, d Digest, data []byte) error {
	if got := NewDigest(data); got != d {
		return &BlobMismatchError{Digest: d, Got: got}
	}
	if s.Has(d) {
		return nil
	}
	return s.write(ctx, d, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, false)
}
