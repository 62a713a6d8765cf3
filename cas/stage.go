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
	"sync"

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
	if st, err := os.Lstat(twin); err == nil && st.Mode().IsRegular() && st.Size() == d.Size() && st.ModTime().Equal(SealTime) {
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
	if err == nil {
		err = os.Rename(tmp.Name(), twin)
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
