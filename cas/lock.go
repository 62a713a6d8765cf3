package cas

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// fileLock is a flock(2) lock on a file shared by every bst process using
// the same cache. Writers hold it shared while they store objects and
// record the refs that keep them; expiry holds it exclusively, so it never
// deletes objects a writer has stored but not yet referenced. Within one
// process, shared holds are counted, so only the first and last touch the
// file.
type fileLock struct {
	path string

	mu     sync.Mutex
	f      *os.File
	shared int
}

// errBusy: this process holds the lock shared, so it cannot expire now.
var errBusy = errors.New("local cache: busy storing")

func newFileLock(path string) *fileLock { return &fileLock{path: path} }

func (l *fileLock) open() error {
	if l.f != nil {
		return nil
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("local cache: opening the lock: %w", err)
	}
	l.f = f
	return nil
}

// lockShared takes the lock shared and returns its release.
func (l *fileLock) lockShared() (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.shared == 0 {
		if err := l.open(); err != nil {
			return nil, err
		}
		if err := unix.Flock(int(l.f.Fd()), unix.LOCK_SH); err != nil {
			return nil, fmt.Errorf("local cache: locking: %w", err)
		}
	}
	l.shared++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.shared--
			if l.shared == 0 {
				unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
			}
		})
	}, nil
}

// lockExclusive takes the lock exclusively, waiting for writers of other
// processes. It must not be called while this process holds it shared.
func (l *fileLock) lockExclusive() (func(), error) {
	l.mu.Lock()
	if err := l.open(); err != nil {
		l.mu.Unlock()
		return nil, err
	}
	if l.shared > 0 {
		l.mu.Unlock()
		return nil, errBusy
	}
	if err := unix.Flock(int(l.f.Fd()), unix.LOCK_EX); err != nil {
		l.mu.Unlock()
		return nil, fmt.Errorf("local cache: locking: %w", err)
	}
	return func() {
		unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
		l.mu.Unlock()
	}, nil
}

// Hold keeps objects stored from now on safe from expiry until release is
// called. Call it before storing the parts of something a ref will name,
// and release it once the ref is written.
func (s *LocalStore) Hold() (release func(), err error) { return s.lock.lockShared() }
