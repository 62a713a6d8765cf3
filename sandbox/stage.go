package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/bstgo/bst/cas"
)

// stagedRoot is one root tree staged on the host, shared by the commands
// that run on it.
type stagedRoot struct {
	digest cas.Digest
	path   string
	// top lists the entries of the root's top directory: each directory
	// or file is bind-mounted on its own (read-only, nosuid, nodev), and
	// each symlink is re-created, in the sandbox's top directory.
	top []topEntry

	ready chan struct{} // closed when staging ended
	err   error

	refs     int
	lastUsed int64
}

type topEntry struct {
	name    string
	kind    os.FileMode // 0 (regular file), os.ModeDir or os.ModeSymlink
	target  string      // for symlinks
	present bool
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
		if r.err != nil {
			s.mu.Lock()
			if s.roots[d] == r {
				delete(s.roots, d)
			}
			s.mu.Unlock()
			removeTree(r.path)
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
	if err := s.stager.StageTree(ctx, r.digest, r.path, cas.StageOptions{}); err != nil {
		return fmt.Errorf("sandbox: staging root %s: %w", r.digest, err)
	}
	ents, err := os.ReadDir(r.path)
	if err != nil {
		return fmt.Errorf("sandbox: staging root %s: %w", r.digest, err)
	}
	for _, e := range ents {
		te := topEntry{name: e.Name(), kind: e.Type() & (os.ModeDir | os.ModeSymlink)}
		switch {
		case e.Type()&os.ModeSymlink != 0:
			t, err := os.Readlink(filepath.Join(r.path, e.Name()))
			if err != nil {
				return fmt.Errorf("sandbox: staging root %s: %w", r.digest, err)
			}
			te.target = t
		case e.IsDir(), e.Type().IsRegular():
		default:
			continue // the CAS holds no other kinds of file
		}
		r.top = append(r.top, te)
	}
	sort.Slice(r.top, func(i, j int) bool { return r.top[i].name < r.top[j].name })
	return nil
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
		removeTree(x.path)
	}
}

// lookupTop returns the top entry named name.
func (r *stagedRoot) lookupTop(name string) (topEntry, bool) {
	i := sort.Search(len(r.top), func(i int) bool { return r.top[i].name >= name })
	if i < len(r.top) && r.top[i].name == name {
		return r.top[i], true
	}
	return topEntry{}, false
}
