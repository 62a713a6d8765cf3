package cas

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// StageOptions say how StageTree materialises files.
type StageOptions struct {
	// Copy gives writable copies (mode 0644, or 0755 for executables)
	// instead of hardlinks to the store's read-only objects. Anything that
	// may be written to — a build directory, a user's checkout — must be
	// staged with Copy, since writing through a hardlink would modify the
	// stored object. Copies are verified against their digests as they are
	// made.
	Copy bool
}

// StageTree materialises the Directory root at dest, which must not exist
// or be an empty directory. Without opts.Copy, files are hardlinks to the
// store's objects (mode 0444, or 0555 for executables), falling back to
// read-only copies where a hardlink is impossible (another file system);
// each object's size and seal are checked first, and an unsealed object
// is hashed, so a corrupted object is reported and never staged.
// Directories are created with mode 0755.
//
// On failure dest may hold part of the tree; the caller removes it.
func (s *LocalStore) StageTree(ctx context.Context, root Digest, dest string, opts StageOptions) error {
	if err := prepareDest(dest); err != nil {
		return err
	}
	st := &stager{s: s, ctx: ctx, opts: opts}
	if err := st.plan(root, dest); err != nil {
		return err
	}
	return st.run()
}

func prepareDest(dest string) error {
	ents, err := os.ReadDir(dest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dest, 0o755); err != nil {
			return fmt.Errorf("staging: %w", err)
		}
	case err != nil:
		return fmt.Errorf("staging: %w", err)
	case len(ents) > 0:
		return fmt.Errorf("staging: %s is not empty", dest)
	}
	return nil
}

type stager struct {
	s     *LocalStore
	ctx   context.Context
	opts  StageOptions
	files []stageFile
}

type stageFile struct {
	dst    string
	digest Digest
	exec   bool
}

// plan creates the directories and symlinks and lists the files.
func (st *stager) plan(d Digest, dst string) error {
	dir, err := st.s.ReadDirectory(st.ctx, d)
	if err != nil {
		return err
	}
	for _, f := range dir.Files {
		fd, _ := DigestFromProto(f.Digest)
		st.files = append(st.files, stageFile{dst: filepath.Join(dst, f.Name), digest: fd, exec: f.IsExecutable})
	}
	for _, l := range dir.Symlinks {
		if err := os.Symlink(l.Target, filepath.Join(dst, l.Name)); err != nil {
			return fmt.Errorf("staging: %w", err)
		}
	}
	for _, sd := range dir.Directories {
		p := filepath.Join(dst, sd.Name)
		if err := os.Mkdir(p, 0o755); err != nil {
			return fmt.Errorf("staging: %w", err)
		}
		dd, _ := DigestFromProto(sd.Digest)
		if err := st.plan(dd, p); err != nil {
			return err
		}
	}
	return nil
}

// run stages the files on several workers.
func (st *stager) run() error {
	workers := min(runtime.GOMAXPROCS(0)*2, len(st.files))
	if workers <= 1 {
		for _, f := range st.files {
			if err := st.stageFile(f); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		first   error
		next    = make(chan stageFile)
		ctx, cc = context.WithCancel(st.ctx)
	)
	defer cc()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				if err := st.stageFile(f); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					cc()
				}
			}
		}()
	}
feed:
	for _, f := range st.files {
		select {
		case next <- f:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	return st.ctx.Err()
}

func (st *stager) stageFile(f stageFile) error {
	if err := st.ctx.Err(); err != nil {
		return err
	}
	if st.opts.Copy {
		mode := os.FileMode(0o644)
		if f.exec {
			mode = 0o755
		}
		return st.s.copyObject(f.digest, f.dst, mode)
	}
	obj, err := st.s.linkable(f.digest, f.exec)
	if err != nil {
		return err
	}
	err = os.Link(obj, f.dst)
	if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EMLINK) || errors.Is(err, unix.EPERM) {
		mode := os.FileMode(0o444)
		if f.exec {
			mode = 0o555
		}
		return st.s.copyObject(f.digest, f.dst, mode)
	}
	if err != nil {
		return fmt.Errorf("staging %s: %w", f.dst, err)
	}
	return nil
}

// linkable returns a checked object file for d with the right mode: the
// object itself, or its executable twin, made when first needed.
func (s *LocalStore) linkable(d Digest, exec bool) (string, error) {
	obj := s.objectPath(d)
	if err := s.checkObject(d, obj); err != nil {
		return "", err
	}
	if !exec {
		return obj, nil
	}
	twin := obj + ".x"
	sound := func() bool {
		st, err := os.Lstat(twin)
		return err == nil && st.Mode().IsRegular() && st.Size() == d.Size() && st.ModTime().Equal(SealTime)
	}
	if sound() {
		return twin, nil
	}
	tmp, err := os.CreateTemp(s.tmp, "exe-")
	if err != nil {
		return "", storeError("creating a temporary file", err)
	}
	defer os.Remove(tmp.Name())
	if err := s.copyVerified(d, obj, tmp); err != nil {
		tmp.Close()
		return "", err
	}
	tv := unix.NsecToTimeval(SealTime.UnixNano())
	err = tmp.Chmod(0o555)
	if err == nil {
		err = unix.Futimes(int(tmp.Fd()), []unix.Timeval{tv, tv})
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	// Published with link, not rename: a rename over a twin another
	// stager made meanwhile would unlink the inode that stager may be
	// linking into its tree, and link(2) of an inode with no links left
	// fails with ENOENT. The first sound twin stays; a damaged one is
	// replaced, and where hard links are refused the twin is renamed into
	// place as before.
	if err == nil {
		switch lerr := os.Link(tmp.Name(), twin); {
		case lerr == nil:
		case errors.Is(lerr, fs.ErrExist) && sound():
		default:
			err = os.Rename(tmp.Name(), twin)
		}
	}
	if err != nil {
		return "", storeError("writing the executable copy of "+d.String(), err)
	}
	return twin, nil
}

// copyObject writes a verified copy of object d at dst with mode.
func (s *LocalStore) copyObject(d Digest, dst string, mode os.FileMode) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("staging: %w", err)
	}
	if err := s.copyVerified(d, s.objectPath(d), out); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Chmod(mode); err != nil {
		out.Close()
		return fmt.Errorf("staging: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("staging: %w", err)
	}
	return nil
}

// copyVerified copies the object file at obj into w, failing with a
// *CorruptError (and removing the object) when it does not hold d.
func (s *LocalStore) copyVerified(d Digest, obj string, w io.Writer) error {
	in, err := os.Open(obj)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("local cache: %w", err)
	}
	defer in.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), in)
	if err != nil {
		return fmt.Errorf("staging %s: %w", d, err)
	}
	if got := DigestOf([32]byte(h.Sum(nil)), n); got != d {
		return s.corrupt(d, obj, fmt.Sprintf("its content hashes to %s", got))
	}
	return nil
}

// Staged roots are trees staged with hardlinks for read-only use (the
// sandbox's roots), kept in the cache directory so that later builds, in
// this process or another, reuse them instead of linking thousands of
// files again:
//
//	cas/staged/generation           bumped when objects a staged tree may link are removed
//	cas/staged/<hash>-<size>.<gen>  a whole staged tree of Directory <hash>/<size>
//	cas/staged/<name>.lock          its lock; its modification time is its last use
//	cas/staged/.tmp-<name>-*        a tree being staged, never used
//	cas/staged/.trash-*             a tree being removed
//
// A tree is staged under a temporary name and renamed into place once
// whole, so a process killed while staging leaves only a .tmp- directory,
// which nothing uses and a later clean-up removes. Users hold the tree's
// lock shared; staging and removal hold it exclusively. A tree is only
// used when its name carries the current generation: expiry and the
// removal of a corrupted object bump it whenever an object they remove is
// still linked from elsewhere, so a staged tree never keeps removed data
// alive for more than the builds already using it, and is removed as
// soon as none does. At most SetMaxStaged's number of trees of the
// current generation are kept, the least recently used idle ones being removed beyond that.

// DefaultMaxStaged is how many staged roots a store keeps by default.
const DefaultMaxStaged = 8

// SetMaxStaged sets how many staged roots are kept (DefaultMaxStaged when
// 0; none is kept once idle when negative).
func (s *LocalStore) SetMaxStaged(n int) { s.maxStaged = n }

func (s *LocalStore) stagedMax() int {
	switch {
	case s.maxStaged == 0:
		return DefaultMaxStaged
	case s.maxStaged < 0:
		return 0
	}
	return s.maxStaged
}

// StagedDir is the directory holding the staged roots.
func (s *LocalStore) StagedDir() string { return filepath.Join(s.root, "cas", "staged") }

// AcquireStaged returns the path of a staged tree of root, hardlinked to
// the store's objects, that must only be read (mounted read-only), and
// the release to call once it is no longer used. It reuses the tree a
// former call (of any process sharing the store) staged, or stages it.
// Until released, the tree is neither removed nor changed by bst, except
// that callers may create empty mount points in it.
func (s *LocalStore) AcquireStaged(ctx context.Context, root Digest) (string, func(), error) {
	dir, err := s.stagedDir()
	if err != nil {
		return "", nil, err
	}
	for {
		gen, err := s.stagedGeneration()
		if err != nil {
			return "", nil, err
		}
		name := fmt.Sprintf("%s-%d.%d", root.Hash(), root.Size(), gen)
		tree := filepath.Join(dir, name)
		l, err := lockEntry(ctx, tree+".lock", unix.LOCK_SH)
		if err != nil {
			return "", nil, err
		}
		if isDir(tree) {
			return tree, s.used(l, dir, name, gen), nil
		}
		// Not staged: stage it, holding the lock exclusively, unless
		// another user stages it meanwhile (and then holds it shared).
		if err := l.relockUnless(ctx, unix.LOCK_EX, func() bool { return isDir(tree) }); err != nil {
			l.close()
			if errors.Is(err, errLockGone) || errors.Is(err, errStaged) {
				continue
			}
			return "", nil, err
		}
		staged := false
		if !isDir(tree) {
			if err := s.stageEntry(ctx, root, dir, name); err != nil {
				os.Remove(l.f.Name()) // under the lock, as removeEntry does
				l.close()
				return "", nil, err
			}
			staged = true
		}
		if err := l.relock(ctx, unix.LOCK_SH); err != nil {
			l.close()
			if errors.Is(err, errLockGone) {
				continue
			}
			return "", nil, err
		}
		if !isDir(tree) {
			l.close() // removed while the lock was converted
			continue
		}
		release := s.used(l, dir, name, gen)
		if staged {
			s.TrimStaged(name)
		}
		return tree, release, nil
	}
}

// used records a use of the staged root name, locked by l, and returns
// its release, which removes the root if it became stale meanwhile and no
// one else uses it.
func (s *LocalStore) used(l *entryLock, dir, name string, gen uint64) func() {
	now := time.Now()
	os.Chtimes(l.f.Name(), now, now)
	var once sync.Once
	return func() {
		once.Do(func() {
			l.close()
			if g, err := s.stagedGeneration(); err == nil && g != gen {
				s.removeEntry(dir, name, name)
			}
		})
	}
}

// stageEntry stages root as dir/name, through a temporary name.
func (s *LocalStore) stageEntry(ctx context.Context, root Digest, dir, name string) error {
	// What a killed process was staging for name (its lock is ours now).
	if old, err := filepath.Glob(filepath.Join(dir, ".tmp-"+name+"-*")); err == nil {
		for _, p := range old {
			RemoveTree(p)
		}
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-"+name+"-")
	if err != nil {
		return storeError("staging a root", err)
	}
	if err := s.StageTree(ctx, root, tmp, StageOptions{}); err != nil {
		RemoveTree(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		RemoveTree(tmp)
		return storeError("staging a root", err)
	}
	// Whole on disk before it has its name, even after a power cut.
	if err := s.sync(); err != nil {
		RemoveTree(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		RemoveTree(tmp)
		return storeError("staging a root", err)
	}
	return nil
}

// TrimStaged removes what no one uses of the staged roots: trees of an
// older generation, the least recently used ones beyond the number kept
// (never keep, a name in the current generation), and what killed
// processes left. Trees in use stay.
func (s *LocalStore) TrimStaged(keep string) {
	dir, err := s.stagedDir()
	if err != nil {
		return
	}
	gen, err := s.stagedGeneration()
	if err != nil {
		return
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type entry struct {
		name string
		used time.Time
	}
	var current []entry
	suffix := "." + strconv.FormatUint(gen, 10)
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, ".trash-"):
			RemoveTree(filepath.Join(dir, n))
		case strings.HasPrefix(n, ".tmp-"):
			// A tree being staged by a live process has its lock held.
			if i := strings.LastIndexByte(n, '-'); i > len(".tmp-") {
				s.removeEntry(dir, n[len(".tmp-"):i], n)
			}
		case strings.HasSuffix(n, ".lock"):
			// The lock of a root that is no longer (or not yet) there.
			if entry := strings.TrimSuffix(n, ".lock"); !isDir(filepath.Join(dir, entry)) {
				if l, err := tryLockEntry(filepath.Join(dir, n)); err == nil {
					if !isDir(filepath.Join(dir, entry)) {
						os.Remove(l.f.Name())
					}
					l.close()
				}
			}
		case !e.IsDir():
		case !strings.HasSuffix(n, suffix):
			s.removeEntry(dir, n, n)
		case n != keep:
			used := time.Time{}
			if st, err := os.Stat(filepath.Join(dir, n+".lock")); err == nil {
				used = st.ModTime()
			}
			current = append(current, entry{n, used})
		}
	}
	max := s.stagedMax()
	if keep != "" && max > 0 {
		max--
	}
	if len(current) <= max {
		return
	}
	sort.Slice(current, func(i, j int) bool { return current[i].used.Before(current[j].used) })
	for _, e := range current[:len(current)-max] {
		s.removeEntry(dir, e.name, e.name)
	}
}

// CleanStaged removes every staged root no one uses.
func (s *LocalStore) CleanStaged() error {
	if err := s.bumpStagedGeneration(); err != nil {
		return err
	}
	s.TrimStaged("")
	return nil
}

// removeEntry removes dir/victim (the entry name, or a temporary tree
// staged for it) when name's lock is free, with the lock when it is the
// entry itself.
func (s *LocalStore) removeEntry(dir, name, victim string) {
	lockPath := filepath.Join(dir, name+".lock")
	l, err := tryLockEntry(lockPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && victim != name {
			RemoveTree(filepath.Join(dir, victim)) // its stager is gone
		}
		return
	}
	defer l.close()
	// Renamed onto a new empty directory, so that a former removal of the
	// same name, killed half-way, is not in the way.
	trash, err := os.MkdirTemp(dir, ".trash-")
	if err != nil {
		return
	}
	// (os.Rename refuses to replace a directory; rename(2) does.)
	if unix.Rename(filepath.Join(dir, victim), trash) != nil {
		os.Remove(trash)
		return
	}
	if victim == name {
		os.Remove(lockPath) // under the lock: waiters see it gone and retry
	}
	RemoveTree(trash)
}

func (s *LocalStore) stagedDir() (string, error) {
	dir := s.StagedDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", storeError("creating the staged roots' directory", err)
	}
	// Roots are mounted: no symlinks in their paths.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return dir, nil
}

func (s *LocalStore) stagedGeneration() (uint64, error) {
	b, err := os.ReadFile(filepath.Join(s.StagedDir(), "generation"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("local cache: staged roots: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("local cache: staged roots: bad generation %q", b)
	}
	return n, nil
}

// bumpStagedGeneration makes every staged root stale: none is used again.
func (s *LocalStore) bumpStagedGeneration() error {
	dir, err := s.stagedDir()
	if err != nil {
		return err
	}
	gen, err := s.stagedGeneration()
	if err != nil {
		gen = 0 // rewritten below
	}
	f, err := os.CreateTemp(dir, ".generation-")
	if err != nil {
		return storeError("staged roots: generation", err)
	}
	_, err = fmt.Fprintf(f, "%d\n", gen+1)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, "generation"))
	}
	if err != nil {
		os.Remove(f.Name())
		return storeError("staged roots: generation", err)
	}
	return nil
}

// linkedElsewhere reports whether the object file at p has other links
// than its own (a staged root, a hardlinked checkout).
func linkedElsewhere(info fs.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && st.Nlink > 1
}

// stagedUsage is the disk space of the staged roots' own inodes (their
// directories and symlinks; their files are the store's objects).
func (s *LocalStore) stagedUsage() int64 {
	var total int64
	top := s.StagedDir()
	filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == top || d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			total += diskSize(info)
		}
		return nil
	})
	return total
}

func isDir(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.IsDir()
}

// RemoveTree removes the tree at p, as os.RemoveAll does, also where
// what ran in it (a build, a staged root) left directories read-only:
// those are made writable first. A tree already gone is no error.
func RemoveTree(p string) error {
	err := os.RemoveAll(p)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(q, 0o755)
		}
		return nil
	})
	if err := os.RemoveAll(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// entryLock is a flock on a staged root's lock file.
type entryLock struct {
	f *os.File
}

var errLockGone = errors.New("the lock file was removed")

// lockEntry opens (creating) the lock file at p and locks it how, waiting
// while ctx lasts; it retries when the file was removed meanwhile.
func lockEntry(ctx context.Context, p string, how int) (*entryLock, error) {
	for {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, storeError("locking a staged root", err)
		}
		l := &entryLock{f: f}
		err = l.relock(ctx, how)
		if err == nil {
			return l, nil
		}
		f.Close()
		if !errors.Is(err, errLockGone) {
			return nil, err
		}
	}
}

// tryLockEntry locks an existing lock file exclusively, failing at once
// when someone holds it.
func tryLockEntry(p string) (*entryLock, error) {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	l := &entryLock{f: f}
	if !l.current() {
		f.Close()
		return nil, errLockGone
	}
	return l, nil
}

// relock takes (or converts to) how, polling so that ctx can end the
// wait, and checks the file is still the one at its path.
func (l *entryLock) relock(ctx context.Context, how int) error {
	return l.relockUnless(ctx, how, nil)
}

// errStaged: the root was staged while waiting for the lock.
var errStaged = errors.New("staged meanwhile")

// relockUnless is relock, giving up with errStaged when staged reports
// true while it waits. (A failed conversion has dropped the lock held.)
func (l *entryLock) relockUnless(ctx context.Context, how int, staged func() bool) error {
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := unix.Flock(int(l.f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("local cache: locking a staged root: %w", err)
		}
		if staged != nil && staged() {
			return errStaged
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
	if !l.current() {
		return errLockGone
	}
	return nil
}

// current reports whether the locked file is still the one at its path
// (a remover unlinks it while holding it).
func (l *entryLock) current() bool {
	a, err := l.f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(l.f.Name())
	return err == nil && os.SameFile(a, b)
}

func (l *entryLock) close() { l.f.Close() }
