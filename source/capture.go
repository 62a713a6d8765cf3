package source

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"github.com/bstgo/bst/cas"
)

// Capture stores the directory dir, which must be inside the Env's
// temporary or scratch directory and is moved away, and returns its
// digest: what CaptureTree would return for it.
//
// Storing many small trees one CaptureTree at a time is slow for two
// reasons: every capture ends with a sync of the whole file system, and
// every Directory message it writes is synced on its own. So Capture does
// group commit: captures asked for while one runs wait for it and are then
// done together; and it builds the Directory messages itself, writes them
// as files next to the trees' files in one flat directory, and stores that
// directory with one CaptureTree — blobs are blobs, so a message stored as
// a file's content is the very object PutDirectory would store — for one
// sync in all. One fetch at a time captures alone; ten at a time share a
// few syncs.
func (fc *FetchContext) Capture(ctx context.Context, dir string) (cas.Digest, error) {
	return fc.Env.batch.capture(ctx, fc.Env, dir)
}

type captureBatcher struct {
	mu      sync.Mutex
	pending []*captureReq
	running int // batches being captured
}

// maxCaptures is how many batches are captured at once: two keep the
// disk busy while one syncs.
const maxCaptures = 2

type captureReq struct {
	dir  string
	done chan struct{}
	lead chan struct{} // told to capture the next batch
	led  bool          // lead was sent
	d    cas.Digest
	err  error
}

func (b *captureBatcher) capture(ctx context.Context, env *Env, dir string) (cas.Digest, error) {
	req := &captureReq{dir: dir, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, req)
	if b.running < maxCaptures {
		b.running++
		b.mu.Unlock()
		b.lead(ctx, env)
	} else {
		b.mu.Unlock()
	}
	for {
		select {
		case <-req.done:
			// A lead handed to this request while another batch took
			// it must still be taken up.
			select {
			case <-req.lead:
				b.lead(ctx, env)
			default:
			}
			return req.d, req.err
		case <-req.lead:
			b.lead(ctx, env)
		case <-ctx.Done():
			b.mu.Lock()
			for i, r := range b.pending {
				if r == req {
					b.pending = append(b.pending[:i:i], b.pending[i+1:]...)
					break
				}
			}
			b.mu.Unlock()
			select {
			case <-req.lead:
				b.lead(ctx, env) // hand the lead on even when cancelled
			default:
			}
			return cas.Digest{}, ctx.Err()
		}
	}
}

// lead captures everything pending as one batch, then hands the lead to
// the first request that queued meanwhile, so no caller captures for
// others for longer than one batch.
func (b *captureBatcher) lead(ctx context.Context, env *Env) {
	b.mu.Lock()
	batch := b.pending
	b.pending = nil
	b.mu.Unlock()
	if len(batch) > 0 {
		env.captureBatch(ctx, batch)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.pending {
		if !r.led {
			r.led = true
			r.lead <- struct{}{} // buffered: never blocks, sent once
			return
		}
	}
	b.running--
}

func (env *Env) captureBatch(ctx context.Context, batch []*captureReq) {
	finish := func(r *captureReq, d cas.Digest, err error) {
		r.d, r.err = d, err
		close(r.done)
	}
	alone := func(r *captureReq) {
		d, err := env.Store.CaptureTree(ctx, r.dir)
		finish(r, d, err)
	}
	// The flat directory is on the file system of the first tree; trees
	// elsewhere are captured alone.
	base := env.tmp
	if env.scratch != "" && strings.HasPrefix(batch[0].dir, env.scratch+string(filepath.Separator)) {
		base = env.scratch
	}
	flat, err := os.MkdirTemp(base, "batch-")
	if err != nil {
		for _, r := range batch {
			alone(r)
		}
		return
	}
	defer env.removeLater(flat)
	fl := &flattener{dir: flat}
	var done []*captureReq
	for _, r := range batch {
		d, err := fl.tree(r.dir)
		if err != nil {
			finish(r, cas.Digest{}, fmt.Errorf("capturing %s: %w", r.dir, err))
			continue
		}
		r.d = d
		done = append(done, r)
	}
	if len(done) == 0 {
		return
	}
	if _, err := env.Store.CaptureTree(ctx, flat); err != nil {
		for _, r := range done {
			finish(r, cas.Digest{}, err)
		}
		return
	}
	for _, r := range done {
		finish(r, r.d, nil)
	}
}

// flattener moves the files of trees into one flat directory, beside the
// Directory messages describing the trees, computing their digests as
// CaptureTree does: entries in name order, regular files with their
// content digest and the owner's executable bit, symbolic links with their
// target, nothing else allowed.
type flattener struct {
	dir string
	n   int
	buf []byte
}

func (fl *flattener) next() string {
	fl.n++
	return filepath.Join(fl.dir, strconv.Itoa(fl.n))
}

func (fl *flattener) tree(p string) (cas.Digest, error) {
	ents, err := os.ReadDir(p)
	if err != nil {
		return cas.Digest{}, err
	}
	dir := &repb.Directory{}
	for _, e := range ents {
		full := filepath.Join(p, e.Name())
		switch t := e.Type(); {
		case t.IsDir():
			d, err := fl.tree(full)
			if err != nil {
				return cas.Digest{}, err
			}
			dir.Directories = append(dir.Directories, &repb.DirectoryNode{Name: e.Name(), Digest: d.Proto()})
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(full)
			if err != nil {
				return cas.Digest{}, err
			}
			dir.Symlinks = append(dir.Symlinks, &repb.SymlinkNode{Name: e.Name(), Target: target})
		case t.IsRegular():
			info, err := e.Info()
			if err != nil {
				return cas.Digest{}, err
			}
			d, err := fl.hash(full)
			if err != nil {
				return cas.Digest{}, err
			}
			if err := os.Rename(full, fl.next()); err != nil {
				return cas.Digest{}, err
			}
			dir.Files = append(dir.Files, &repb.FileNode{Name: e.Name(), Digest: d.Proto(), IsExecutable: info.Mode()&0o100 != 0})
		default:
			return cas.Digest{}, fmt.Errorf("unsupported file type %s", t)
		}
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(dir)
	if err != nil {
		return cas.Digest{}, err
	}
	if err := os.WriteFile(fl.next(), data, 0o644); err != nil {
		return cas.Digest{}, err
	}
	return cas.NewDigest(data), nil
}

func (fl *flattener) hash(p string) (cas.Digest, error) {
	f, err := os.Open(p)
	if err != nil {
		return cas.Digest{}, err
	}
	defer f.Close()
	if fl.buf == nil {
		fl.buf = make([]byte, 128<<10)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, fl.buf)
	if err != nil {
		return cas.Digest{}, err
	}
	return cas.DigestOf([32]byte(h.Sum(nil)), n), nil
}
