package source

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/bstgo/bst/cas"
)

// Capture stores the directory dir, which must be inside the Env's
// temporary directory and is moved away, and returns its digest. It is
// CaptureTree with group commit: capturing ends with a sync of the whole
// file system, which costs about as much for twenty files as for twenty
// thousand, so captures asked for while one runs wait for it and are then
// done together, as one tree holding each of them, with one sync. One
// fetch at a time captures as before; ten at a time sync a few times
// instead of ten.
func (fc *FetchContext) Capture(ctx context.Context, dir string) (cas.Digest, error) {
	return fc.Env.batch.capture(ctx, fc.Env, dir)
}

type captureBatcher struct {
	mu      sync.Mutex
	pending []*captureReq
	busy    bool
}

type captureReq struct {
	dir  string
	done chan struct{}
	d    cas.Digest
	err  error
}

func (b *captureBatcher) capture(ctx context.Context, env *Env, dir string) (cas.Digest, error) {
	req := &captureReq{dir: dir, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, req)
	if !b.busy {
		// This caller captures, for itself and whoever queues meanwhile.
		b.busy = true
		for {
			batch := b.pending
			b.pending = nil
			if len(batch) == 0 {
				b.busy = false
				break
			}
			b.mu.Unlock()
			env.captureBatch(ctx, batch)
			b.mu.Lock()
		}
	}
	b.mu.Unlock()
	select {
	case <-req.done:
		return req.d, req.err
	case <-ctx.Done():
		return cas.Digest{}, ctx.Err()
	}
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
	if len(batch) == 1 {
		alone(batch[0])
		return
	}
	// The batch is made by renaming each directory into one parent, on
	// the file system of the first; the others are captured alone.
	base := env.tmp
	if env.scratch != "" && strings.HasPrefix(batch[0].dir, env.scratch+string(filepath.Separator)) {
		base = env.scratch
	}
	parent, err := os.MkdirTemp(base, "batch-")
	if err != nil {
		for _, r := range batch {
			alone(r)
		}
		return
	}
	defer env.removeLater(parent)
	var moved []*captureReq
	for _, r := range batch {
		to := filepath.Join(parent, strconv.Itoa(len(moved)))
		if os.Rename(r.dir, to) != nil {
			alone(r)
			continue
		}
		r.dir = to
		moved = append(moved, r)
	}
	root, err := env.Store.CaptureTree(ctx, parent)
	if err != nil {
		// One of them is at fault: capture each on its own, so the
		// others succeed and the fault is reported where it belongs.
		for _, r := range moved {
			alone(r)
		}
		return
	}
	top, err := env.Store.ReadDirectory(ctx, root)
	digests := map[string]cas.Digest{}
	if err == nil {
		for _, sd := range top.Directories {
			if d, derr := cas.DigestFromProto(sd.Digest); derr == nil {
				digests[sd.Name] = d
			}
		}
	}
	for i, r := range moved {
		d, ok := digests[strconv.Itoa(i)]
		if !ok {
			finish(r, cas.Digest{}, fmt.Errorf("capturing %s: not in the captured batch", r.dir))
			continue
		}
		finish(r, d, nil)
	}
}
