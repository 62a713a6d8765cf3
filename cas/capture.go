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

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"golang.org/x/sys/unix"
)

// CaptureTree stores the file tree at hostPath and returns the digest of
// its root Directory; a hostPath that is a single file gives a directory
// holding that file, as DirectoryDigest does. Regular files keep their content and
// the owner's executable bit, symbolic links their target; ownership,
// times and other permission bits are not recorded, as in BuildStream.
// Other file types (devices, sockets, pipes) are an error.
//
// Files are hashed and copied by several workers. Objects are not synced
// one by one: the whole file system is synced once before CaptureTree
// returns, so that when a caller records the digest (in an artifact ref,
// say) everything it names is durable.
func (s *LocalStore) CaptureTree(ctx context.Context, hostPath string) (Digest, error) {
	release, err := s.Hold()
	if err != nil {
		return Digest{}, err
	}
	defer release()
	c := &capture{s: s, ctx: ctx}
	var root *captureDir
	if st, err := os.Lstat(hostPath); err == nil && !st.IsDir() {
		root, err = c.scanOne(hostPath, st)
		if err != nil {
			return Digest{}, err
		}
	} else if root, err = c.scan(hostPath); err != nil {
		return Digest{}, err
	}
	if err := c.storeFiles(); err != nil {
		return Digest{}, err
	}
	d, err := c.storeDirs(root)
	if err != nil {
		return Digest{}, err
	}
	if err := s.sync(); err != nil {
		return Digest{}, err
	}
	return d, nil
}

// capture is the state of one CaptureTree.
type capture struct {
	s     *LocalStore
	ctx   context.Context
	files []*captureFile
}

type captureDir struct {
	path    string
	files   []*captureFile
	dirs    []*captureDir
	names   []string // of dirs
	links   []*repb.SymlinkNode
	fileIdx int
}

type captureFile struct {
	path   string
	name   string
	exec   bool
	digest Digest
}

// scanOne makes a directory of the one file p.
func (c *capture) scanOne(p string, st fs.FileInfo) (*captureDir, error) {
	d := &captureDir{path: filepath.Dir(p)}
	if err := c.add(d, p, st.Name(), st.Mode()); err != nil {
		return nil, err
	}
	return d, nil
}

// scan lists the tree, without reading file contents.
func (c *capture) scan(p string) (*captureDir, error) {
	if err := c.ctx.Err(); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("capturing %s: %w", p, err)
	}
	d := &captureDir{path: p}
	for _, e := range ents { // ReadDir sorts by name
		full := filepath.Join(p, e.Name())
		if e.IsDir() {
			sub, err := c.scan(full)
			if err != nil {
				return nil, err
			}
			d.dirs = append(d.dirs, sub)
			d.names = append(d.names, e.Name())
			continue
		}
		mode := e.Type()
		if mode.IsRegular() {
			info, err := e.Info()
			if err != nil {
				return nil, fmt.Errorf("capturing %s: %w", full, err)
			}
			mode = info.Mode()
		}
		if err := c.add(d, full, e.Name(), mode); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// add records the file or symlink full in d.
func (c *capture) add(d *captureDir, full, name string, mode fs.FileMode) error {
	switch {
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return fmt.Errorf("capturing %s: %w", full, err)
		}
		d.links = append(d.links, &repb.SymlinkNode{Name: name, Target: target})
	case mode.IsRegular():
		f := &captureFile{path: full, name: name, exec: mode&0o100 != 0}
		d.files = append(d.files, f)
		c.files = append(c.files, f)
	default:
		return fmt.Errorf("capturing %s: unsupported file type %s", full, mode.Type())
	}
	return nil
}

// storeFiles hashes and stores every file, on several workers.
func (c *capture) storeFiles() error {
	workers := min(runtime.GOMAXPROCS(0)*2, len(c.files))
	next := make(chan *captureFile)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 128<<10)
			for f := range next {
				d, err := c.s.storeFile(ctx, f.path, buf)
				if err != nil {
					errs <- err
					cancel()
					return
				}
				f.digest = d
			}
		}()
	}
feed:
	for _, f := range c.files {
		select {
		case next <- f:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return c.ctx.Err()
}

// storeDirs stores the Directory messages bottom-up.
func (c *capture) storeDirs(d *captureDir) (Digest, error) {
	dir := &repb.Directory{Symlinks: d.links}
	for _, f := range d.files {
		dir.Files = append(dir.Files, &repb.FileNode{Name: f.name, Digest: f.digest.Proto(), IsExecutable: f.exec})
	}
	for i, sub := range d.dirs {
		sd, err := c.storeDirs(sub)
		if err != nil {
			return Digest{}, err
		}
		dir.Directories = append(dir.Directories, &repb.DirectoryNode{Name: d.names[i], Digest: sd.Proto()})
	}
	return c.s.PutDirectory(c.ctx, dir)
}

// storeFile copies the file at path into the store while hashing it, and
// returns its digest. When the object exists already the copy is dropped.
func (s *LocalStore) storeFile(ctx context.Context, path string, buf []byte) (Digest, error) {
	if err := ctx.Err(); err != nil {
		return Digest{}, err
	}
	src, err := os.Open(path)
	if err != nil {
		return Digest{}, fmt.Errorf("capturing %s: %w", path, err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(s.tmp, "obj-")
	if err != nil {
		return Digest{}, storeError("creating a temporary file", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(tmp, h), src, buf)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == src.Name() {
			return Digest{}, fmt.Errorf("capturing %s: %w", path, err)
		}
		return Digest{}, storeError("writing object for "+path, err)
	}
	d := DigestOf([32]byte(h.Sum(nil)), n)
	if s.Has(d) {
		return d, nil // the deferred cleanup drops the copy
	}
	if err := tmp.Chmod(0o444); err != nil {
		return Digest{}, storeError("writing object "+d.String(), err)
	}
	tv := unix.NsecToTimeval(SealTime.UnixNano())
	if err := unix.Futimes(int(tmp.Fd()), []unix.Timeval{tv, tv}); err != nil {
		return Digest{}, storeError("sealing object "+d.String(), err)
	}
	if err := tmp.Close(); err != nil {
		return Digest{}, storeError("writing object "+d.String(), err)
	}
	if err := s.install(tmp.Name(), d); err != nil {
		return Digest{}, err
	}
	ok = true
	return d, nil
}

// install renames a finished temporary file into place as object d.
func (s *LocalStore) install(tmp string, d Digest) error {
	dst := s.objectPath(d)
	err := os.Rename(tmp, dst)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
			err = os.Rename(tmp, dst)
		}
	}
	if err != nil {
		return storeError("storing object "+d.String(), err)
	}
	s.quota.added(d.Size())
	return nil
}

// sync makes everything written to the store durable.
func (s *LocalStore) sync() error {
	f, err := os.Open(s.tmp)
	if err != nil {
		return fmt.Errorf("local cache: %w", err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return storeError("syncing", err)
	}
	return nil
}
