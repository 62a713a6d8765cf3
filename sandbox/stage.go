package sandbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/bstgo/bst/cas"
)

// stagedRoot is one root tree staged on the host, shared by the commands
// that run on it: in the sandbox's directory, or from its RootCache.
type stagedRoot struct {
	digest  cas.Digest
	path    string
	release func() // gives a RootCache's root back; nil for one of ours

	ready chan struct{} // closed when staging ended
	err   error

	refs     int
	lastUsed int64
}

// acquire returns the staged root for d, staging it if needed.
func (s *Sandbox) acquire(ctx context.Context, d cas.Digest) (*stagedRoot, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("sandbox: closed")
	}
	r := s.roots[d]
	if r == nil {
		n := s.seq.Add(1)
		r = &stagedRoot{
			digest: d,
			path:   filepath.Join(s.dir, fmt.Sprintf("root-%d-%s", n, d.Hash()[:12])),
			ready:  make(chan struct{}),
		}
		s.roots[d] = r
		r.refs++
		s.mu.Unlock()
		r.err = s.stage(ctx, r)
		s.mu.Lock()
		if s.roots[d] != r && r.err == nil {
			// Closed meanwhile, before this root was ready.
			r.err = errors.New("sandbox: closed")
		}
		if r.err != nil && s.roots[d] == r {
			delete(s.roots, d)
		}
		s.mu.Unlock()
		if r.err != nil {
			s.dispose(r)
		}
		close(r.ready)
	} else {
		r.refs++
		s.mu.Unlock()
		select {
		case <-r.ready:
		case <-ctx.Done():
			s.release(r)
			return nil, ctx.Err()
		}
	}
	if r.err != nil {
		s.release(r)
		return nil, r.err
	}
	return r, nil
}

func (s *Sandbox) stage(ctx context.Context, r *stagedRoot) error {
	if s.cache != nil {
		p, release, err := s.cache.AcquireStaged(ctx, r.digest)
		if err != nil {
			return fmt.Errorf("sandbox: staging root %s: %w", r.digest, err)
		}
		r.path, r.release = p, release
		return nil
	}
	if err := s.stager.StageTree(ctx, r.digest, r.path, cas.StageOptions{}); err != nil {
		return fmt.Errorf("sandbox: staging root %s: %w", r.digest, err)
	}
	return nil
}

// dispose removes a root of the sandbox's own, or gives one back to the
// RootCache.
func (s *Sandbox) dispose(r *stagedRoot) {
	if r.release != nil {
		r.release()
		return
	}
	if s.cache == nil {
		removeTree(r.path)
	}
}

// release drops a reference to r and removes the least recently used idle
// roots beyond the number kept.
func (s *Sandbox) release(r *stagedRoot) {
	s.mu.Lock()
	r.refs--
	s.tick++
	r.lastUsed = s.tick
	var idle []*stagedRoot
	for _, x := range s.roots {
		if x.refs == 0 {
			idle = append(idle, x)
		}
	}
	var drop []*stagedRoot
	if s.closed {
		drop = idle
	} else if len(idle) > s.keep {
		sort.Slice(idle, func(i, j int) bool { return idle[i].lastUsed < idle[j].lastUsed })
		drop = idle[:len(idle)-s.keep]
	}
	for _, x := range drop {
		delete(s.roots, x.digest)
	}
	s.mu.Unlock()
	for _, x := range drop {
		s.dispose(x)
	}
}
