package cas

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// SealTime is the modification time of every stored object (BuildStream's
// magic timestamp, 2011-11-11 11:11:11 UTC). Writing to a file changes its
// modification time, so an object whose time differs was modified after
// it was stored and is hashed again before it is used.
var SealTime = time.Unix(1321009871, 0)

// ErrNotFound is returned for a blob or reference that is not stored.
var ErrNotFound = errors.New("not found in the local cache")

// CorruptError reports a stored object whose content does not match its
// digest. The object has been removed, so that fetching it again repairs
// the cache.
type CorruptError struct {
	Digest Digest
	Path   string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupted object %s in the local cache (%s): %s; it was removed", e.Digest, e.Path, e.Reason)
}

// LocalStore is the on-disk content-addressed store under a cache
// directory:
//
//	<root>/cas/objects/<2 hex>/<62 hex>     blobs, read-only, sealed mtime
//	<root>/cas/objects/<2 hex>/<62 hex>.x   an executable twin, made on demand
//	<root>/cas/tmp/                         files being written
//	<root>/cas/lock                         taken exclusively by expiry
//	<root>/cas/staged/                      staged roots (see AcquireStaged)
//
// Objects are written to a temporary file and renamed into place, so a
// reader never sees a partial object, and several bst processes can share
// one store. Readers check sizes and seals, and hash what is unsealed.
type LocalStore struct {
	root    string // the cache directory
	objects string
	tmp     string
	lock    *fileLock
	quota   *Quota
	spaces  []RefSpace
	// maxStaged bounds the staged roots kept (see AcquireStaged).
	maxStaged int
}

// OpenLocal opens (creating it if needed) the store under the cache
// directory dir.
func OpenLocal(dir string) (*LocalStore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &LocalStore{
		root:    abs,
		objects: filepath.Join(abs, "cas", "objects"),
		tmp:     filepath.Join(abs, "cas", "tmp"),
	}
	for _, d := range []string{s.objects, s.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("opening the local cache: %w", err)
		}
	}
	s.lock = newFileLock(filepath.Join(abs, "cas", "lock"))
	return s, nil
}

// Root returns the cache directory.
func (s *LocalStore) Root() string { return s.root }

// objectPath returns where the blob d lives.
func (s *LocalStore) objectPath(d Digest) string {
	h := d.Hash()
	return filepath.Join(s.objects, h[:2], h[2:])
}

// ObjectPath returns the file holding blob d, which must not be written
// to. It is for callers that hand stored files to other programs.
func (s *LocalStore) ObjectPath(d Digest) string { return s.objectPath(d) }

// Has reports whether blob d is stored with the right size.
func (s *LocalStore) Has(d Digest) bool {
	st, err := os.Lstat(s.objectPath(d))
	return err == nil && st.Mode().IsRegular() && st.Size() == d.Size()
}

// FindMissing returns the digests of ds that are not stored, in order.
func (s *LocalStore) FindMissing(ctx context.Context, ds []Digest) ([]Digest, error) {
	var missing []Digest
	for _, d := range ds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !s.Has(d) {
			missing = append(missing, d)
		}
	}
	return missing, nil
}

// PutBytes stores data and returns its digest.
func (s *LocalStore) PutBytes(ctx context.Context, data []byte) (Digest, error) {
	d := NewDigest(data)
	if s.Has(d) {
		return d, nil
	}
	err := s.write(ctx, d, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, true)
	return d, err
}

// PutBytesUnsynced stores data like PutBytes without syncing it: for
// callers that store several blobs and then call Sync once before
// recording anything that names them.
func (s *LocalStore) PutBytesUnsynced(ctx context.Context, data []byte) (Digest, error) {
	d := NewDigest(data)
	if s.Has(d) {
		return d, nil
	}
	err := s.write(ctx, d, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, false)
	return d, err
}

// Sync makes everything stored so far durable (one syncfs of the store's
// file system).
func (s *LocalStore) Sync() error { return s.sync() }

// Put stores the blob d read from r, checking that r gives exactly the
// content d names. Nothing is stored when it does not.
func (s *LocalStore) Put(ctx context.Context, d Digest, r io.Reader) error {
	if s.Has(d) {
		return nil
	}
	return s.write(ctx, d, func(w io.Writer) error {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(r, d.Size()+1))
		if err != nil {
			return err
		}
		if got := DigestOf([32]byte(h.Sum(nil)), n); got != d {
			return fmt.Errorf("content does not match digest %s: got %s", d, got)
		}
		return nil
	}, true)
}

// write stores blob d with the content fill writes: into a temporary file,
// sealed, optionally synced, then renamed into place. On any failure the
// temporary file is removed and the store is unchanged.
func (s *LocalStore) write(ctx context.Context, d Digest, fill func(io.Writer) error, sync bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	release, err := s.Hold()
	if err != nil {
		return err
	}
	defer release()
	f, err := os.CreateTemp(s.tmp, "obj-")
	if err != nil {
		return storeError("creating a temporary file", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return storeError("writing object "+d.String(), err)
	}
	if err := f.Chmod(0o444); err != nil {
		return storeError("writing object "+d.String(), err)
	}
	if err := unix.Futimes(int(f.Fd()), []unix.Timeval{unix.NsecToTimeval(SealTime.UnixNano()), unix.NsecToTimeval(SealTime.UnixNano())}); err != nil {
		return storeError("sealing object "+d.String(), err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			return storeError("syncing object "+d.String(), err)
		}
	}
	if err := f.Close(); err != nil {
		return storeError("writing object "+d.String(), err)
	}
	if err := s.install(tmp, d); err != nil {
		return err
	}
	ok = true
	return nil
}

// storeError names what failed, and says so plainly when the disk is full.
func storeError(what string, err error) error {
	if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
		return &DiskFullError{What: what, Err: err}
	}
	return fmt.Errorf("local cache: %s: %w", what, err)
}

// DiskFullError is a write that failed because the disk (or the user's
// disk quota) is full.
type DiskFullError struct {
	What string
	Err  error
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("local cache: %s: the disk is full (%v); free some space or lower cache.quota", e.What, e.Err)
}

func (e *DiskFullError) Unwrap() error { return e.Err }

// ReadBlob returns the content of blob d, verified against d.
func (s *LocalStore) ReadBlob(ctx context.Context, d Digest) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := s.objectPath(d)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("local cache: reading %s: %w", d, err)
	}
	if got := NewDigest(data); got != d {
		return nil, s.corrupt(d, p, fmt.Sprintf("its content hashes to %s", got))
	}
	return data, nil
}

// Open returns a reader of blob d that fails with a *CorruptError at the
// end if the content does not match d.
func (s *LocalStore) Open(ctx context.Context, d Digest) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := s.objectPath(d)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("local cache: opening %s: %w", d, err)
	}
	return &verifyingReader{s: s, f: f, d: d, h: sha256.New()}, nil
}

type verifyingReader struct {
	s *LocalStore
	f *os.File
	d Digest
	h hash.Hash
	n int64
}

func (r *verifyingReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if err == io.EOF {
		if got := DigestOf([32]byte(r.h.Sum(nil)), r.n); got != r.d {
			return n, r.s.corrupt(r.d, r.f.Name(), fmt.Sprintf("its content hashes to %s", got))
		}
	}
	return n, err
}

func (r *verifyingReader) Close() error { return r.f.Close() }

// corrupt removes a corrupted object and describes it.
func (s *LocalStore) corrupt(d Digest, path, reason string) error {
	linked := false
	for _, p := range []string{path, path + ".x"} {
		if info, err := os.Lstat(p); err == nil && linkedElsewhere(info) {
			linked = true
		}
		os.Remove(p)
	}
	if linked {
		// A staged root may link it: none is used again.
		s.bumpStagedGeneration()
	}
	return &CorruptError{Digest: d, Path: path, Reason: reason}
}

// checkObject makes sure the stored file at path holds blob d: its size
// must match, and unless it is sealed its content is hashed (and, when
// right, sealed again). A corrupted object is removed and reported.
func (s *LocalStore) checkObject(d Digest, path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("local cache: %w", err)
	}
	if !st.Mode().IsRegular() {
		return s.corrupt(d, path, "it is not a regular file")
	}
	if st.Size() != d.Size() {
		return s.corrupt(d, path, fmt.Sprintf("it has %d bytes instead of %d", st.Size(), d.Size()))
	}
	if st.ModTime().Equal(SealTime) {
		return nil
	}
	got, err := fileDigest(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", d, ErrNotFound) // removed meanwhile, as corrupt
	}
	if err != nil {
		return fmt.Errorf("local cache: %w", err)
	}
	if got != d {
		return s.corrupt(d, path, fmt.Sprintf("its content hashes to %s", got))
	}
	return os.Chtimes(path, SealTime, SealTime)
}
