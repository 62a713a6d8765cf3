package server

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/bstgo/bst/cas"
)

// blobStore is the server's CAS: blobs in a cas.LocalStore (which checks
// every upload against its digest and every read too), with a
// least-recently-used order of all blobs kept in memory, so that the
// store stays within its quota. Uses are: uploads, reads, FindMissing
// hits, and answering an action result or an asset that names the blob.
//
// The order is rebuilt at start from the objects' change times. The
// mutex covers the order, and is held while a blob is looked up and
// touched and while blobs are evicted, so a blob a client was just told
// is present is never the one expired.
type blobStore struct {
	local   *cas.LocalStore
	quota   int64 // bytes; 0: no quota
	low     int64 // evict down to this
	metrics *metrics

	mu      sync.Mutex
	lru     list.List // of cas.Digest, most recent first
	entries map[cas.Digest]*list.Element
	size    int64
}

type storeStats struct{ bytes, blobs, quota int64 }

func openBlobStore(dir string, quota int64, low float64, m *metrics) (*blobStore, error) {
	local, err := cas.OpenLocal(dir)
	if err != nil {
		return nil, err
	}
	if low <= 0 || low > 1 {
		low = 0.9
	}
	b := &blobStore{local: local, quota: quota, low: int64(float64(quota) * low), metrics: m,
		entries: map[cas.Digest]*list.Element{}}
	if err := b.scan(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.evictLocked()
	b.mu.Unlock()
	return b, nil
}

// scan lists the stored blobs, oldest change first.
func (b *blobStore) scan() error {
	type found struct {
		d     cas.Digest
		ctime time.Time
	}
	var all []found
	objects := filepath.Join(b.local.Root(), "cas", "objects")
	subs, err := os.ReadDir(objects)
	if err != nil {
		return fmt.Errorf("reading the store: %w", err)
	}
	for _, sub := range subs {
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(objects, sub.Name()))
		if err != nil {
			return fmt.Errorf("reading the store: %w", err)
		}
		for _, e := range ents {
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() {
				continue
			}
			d, err := cas.ParseDigest(sub.Name() + e.Name() + "/" + strconv.FormatInt(info.Size(), 10))
			if err != nil {
				continue // an executable twin, or not ours
			}
			ct := info.ModTime()
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				ct = time.Unix(st.Ctim.Unix())
			}
			all = append(all, found{d, ct})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ctime.Before(all[j].ctime) })
	for _, f := range all {
		b.entries[f.d] = b.lru.PushFront(f.d)
		b.size += f.d.Size()
	}
	return nil
}

func (b *blobStore) stats() storeStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return storeStats{bytes: b.size, blobs: int64(len(b.entries)), quota: b.quota}
}

// has reports whether blob d is stored, and if so marks it used. The
// empty blob is always there.
func (b *blobStore) has(d cas.Digest) bool {
	if d == cas.EmptyDigest {
		return true
	}
	if !b.touch(d) {
		return false
	}
	if !b.local.Has(d) { // removed behind our back
		b.forget(d)
		return false
	}
	return true
}

func (b *blobStore) dropLocked(d cas.Digest, el *list.Element) {
	b.lru.Remove(el)
	delete(b.entries, d)
	b.size -= d.Size()
}

// forget drops d from the order once its file is gone.
func (b *blobStore) forget(d cas.Digest) {
	b.mu.Lock()
	if el, ok := b.entries[d]; ok {
		b.dropLocked(d, el)
	}
	b.mu.Unlock()
}

// added records a new blob, and evicts if the quota is exceeded.
func (b *blobStore) added(d cas.Digest) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if el, ok := b.entries[d]; ok {
		b.lru.MoveToFront(el)
		return
	}
	b.entries[d] = b.lru.PushFront(d)
	b.size += d.Size()
	b.evictLocked()
}

// evictLocked removes least recently used blobs until the store is
// within the low watermark of its quota.
func (b *blobStore) evictLocked() {
	if b.quota <= 0 || b.size <= b.quota {
		return
	}
	for b.size > b.low && b.lru.Len() > 1 {
		el := b.lru.Back()
		d := el.Value.(cas.Digest)
		p := b.local.ObjectPath(d)
		os.Remove(p)
		os.Remove(p + ".x")
		b.dropLocked(d, el)
		b.metrics.evictedBlobs.Add(1)
		b.metrics.evictedBytes.Add(d.Size())
	}
}

// ErrTooLarge is an upload bigger than the whole quota.
var errTooLarge = errors.New("the blob is larger than the server's quota")

// put stores blob d from r, verified against d. A blob stored already
// is not read again.
func (b *blobStore) put(ctx context.Context, d cas.Digest, r io.Reader) error {
	if b.has(d) {
		return nil
	}
	if b.quota > 0 && d.Size() > b.low {
		return errTooLarge
	}
	if err := b.local.PutUnsynced(ctx, d, r); err != nil {
		var mm *cas.BlobMismatchError
		if errors.As(err, &mm) {
			b.metrics.rejected.Add(1)
		}
		return err
	}
	b.metrics.bytesReceived.Add(d.Size())
	b.added(d)
	return nil
}

// open returns a reader of blob d that fails at the end if the stored
// content is corrupted (and then removes it).
func (b *blobStore) open(ctx context.Context, d cas.Digest) (io.ReadCloser, error) {
	if d == cas.EmptyDigest {
		return io.NopCloser(eofReader{}), nil
	}
	if !b.has(d) {
		return nil, fmt.Errorf("blob %s: %w", d, cas.ErrNotFound)
	}
	rc, err := b.local.Open(ctx, d)
	if err != nil {
		if errors.Is(err, cas.ErrNotFound) {
			b.forget(d)
		}
		return nil, err
	}
	return &watchedReader{ReadCloser: rc, b: b, d: d}, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// watchedReader counts what is sent and notices corruption.
type watchedReader struct {
	io.ReadCloser
	b *blobStore
	d cas.Digest
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.ReadCloser.Read(p)
	w.b.metrics.bytesSent.Add(int64(n))
	if err != nil && err != io.EOF {
		w.b.noteReadError(w.d, err)
	}
	return n, err
}

// noteReadError forgets a blob found corrupted (cas removed it).
func (b *blobStore) noteReadError(d cas.Digest, err error) {
	var ce *cas.CorruptError
	if errors.As(err, &ce) {
		b.metrics.corrupt.Add(1)
		b.forget(d)
	} else if errors.Is(err, cas.ErrNotFound) {
		b.forget(d)
	}
}

// touch marks d used if it is indexed, without looking at its file.
func (b *blobStore) touch(d cas.Digest) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	el, ok := b.entries[d]
	if ok {
		b.lru.MoveToFront(el)
	}
	return ok
}

// read returns blob d, verified.
func (b *blobStore) read(ctx context.Context, d cas.Digest) ([]byte, error) {
	if d == cas.EmptyDigest {
		return nil, nil
	}
	if !b.touch(d) {
		return nil, fmt.Errorf("blob %s: %w", d, cas.ErrNotFound)
	}
	data, err := b.local.ReadBlob(ctx, d)
	if err != nil {
		b.noteReadError(d, err)
		return nil, err
	}
	b.metrics.bytesSent.Add(int64(len(data)))
	return data, nil
}

// readDirectory returns the Directory d, verified and checked.
func (b *blobStore) readDirectory(ctx context.Context, d cas.Digest) (*repb.Directory, error) {
	if d == cas.EmptyDigest {
		return &repb.Directory{}, nil
	}
	if !b.has(d) {
		return nil, fmt.Errorf("directory %s: %w", d, cas.ErrNotFound)
	}
	dir, err := b.local.ReadDirectory(ctx, d)
	if err != nil {
		b.noteReadError(d, err)
	}
	return dir, err
}

// treeComplete reports whether the Directory tree root and every file
// it names are stored, marking them all used.
func (b *blobStore) treeComplete(ctx context.Context, root cas.Digest, seen map[cas.Digest]bool) (bool, error) {
	if seen[root] {
		return true, nil
	}
	seen[root] = true
	dir, err := b.readDirectory(ctx, root)
	if errors.Is(err, cas.ErrNotFound) {
		return false, nil
	}
	var ce *cas.CorruptError
	if errors.As(err, &ce) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, f := range dir.Files {
		d, err := cas.DigestFromProto(f.Digest)
		if err != nil || !b.has(d) {
			return false, nil
		}
	}
	for _, sd := range dir.Directories {
		d, err := cas.DigestFromProto(sd.Digest)
		if err != nil {
			return false, nil
		}
		if ok, err := b.treeComplete(ctx, d, seen); !ok || err != nil {
			return ok, err
		}
	}
	return true, nil
}

// sync makes every upload durable.
func (b *blobStore) sync() error { return b.local.Sync() }
