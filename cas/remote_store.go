package cas

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
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

// putBytesUnsynced stores data as blob d, which it must be, unsynced.
// It is the pull's hot path, so it does less than write: callers have
// checked that d is missing, and the file is created read-only at once.
func (s *LocalStore) putBytesUnsynced(ctx context.Context, d Digest, data []byte) error {
	if got := NewDigest(data); got != d {
		return &BlobMismatchError{Digest: d, Got: got}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	release, err := s.Hold()
	if err != nil {
		return err
	}
	defer release()
	var f *os.File
	for {
		f, err = os.OpenFile(filepath.Join(s.tmp, "pull-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(tmpSeq.Add(1), 36)),
			os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return storeError("creating a temporary file", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		t := unix.NsecToTimeval(SealTime.UnixNano())
		err = unix.Futimes(int(f.Fd()), []unix.Timeval{t, t})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return storeError("writing object "+d.String(), err)
	}
	if err := s.install(tmp, d); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// tmpSeq numbers the temporary files of this process.
var tmpSeq atomic.Uint64
