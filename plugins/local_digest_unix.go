//go:build unix

package plugins

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/bstgo/bst/cas"
)

// localDigest computes cas.DirectoryDigest(path), the key of a local
// source, with the same result, but faster: a junction's local sources
// can name a whole project (the freedesktop SDK's cross-compiler
// junctions name its elements, files and patches, some 1,500 files), and
// the junction's key is needed, holding the loader's junction lock, before
// its project can be opened. The tree is listed first, then its files are
// read on every core, each with one open, stat, read and close.
func localDigest(path string) (cas.Digest, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return cas.Digest{}, err
	}
	t := &digestTree{}
	var root *digestDir
	if st.IsDir() {
		if root, err = t.list(path); err != nil {
			return cas.Digest{}, err
		}
	} else {
		// A file or a link: a directory holding it alone.
		root = &digestDir{}
		if err := t.add(root, filepath.Dir(path), filepath.Base(path), st.Mode()); err != nil {
			return cas.Digest{}, err
		}
	}
	if err := t.hashFiles(); err != nil {
		return cas.Digest{}, err
	}
	return root.digest()
}

// digestTree is a tree being hashed: its directories, as listed, and the
// files to read.
type digestTree struct {
	files []*digestFile
}

// digestDir is a listed directory; its entries are in name order, as
// os.ReadDir gives them and cas.DirectoryDigest writes them.
type digestDir struct {
	files    []*digestFile
	dirs     []*digestDir
	dirNames []string
	links    []*repb.SymlinkNode
}

type digestFile struct {
	path   string
	name   string
	digest cas.Digest
	exec   bool
}

// list lists the directory at path and those below it.
func (t *digestTree) list(path string) (*digestDir, error) {
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	d := &digestDir{}
	for _, e := range entries {
		if err := t.add(d, path, e.Name(), e.Type()); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// add adds entry name of the directory at parent to d; mode needs only
// the type (which os.ReadDir always knows: it stats the entries whose type
// the file system does not give).
func (t *digestTree) add(d *digestDir, parent, name string, mode os.FileMode) error {
	full := filepath.Join(parent, name)
	switch {
	case mode.IsDir():
		sub, err := t.list(full)
		if err != nil {
			return err
		}
		d.dirs = append(d.dirs, sub)
		d.dirNames = append(d.dirNames, name)
	case mode.IsRegular():
		f := &digestFile{path: full, name: name}
		d.files = append(d.files, f)
		t.files = append(t.files, f)
	case mode&os.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		d.links = append(d.links, &repb.SymlinkNode{Name: name, Target: target})
	default:
		return fmt.Errorf("%s: unsupported file type %s", full, mode.Type())
	}
	return nil
}

// readBuffers holds the buffers files are read through: a project's local
// sources are many small trees, each hashed on every core.
var readBuffers = sync.Pool{New: func() any {
	b := make([]byte, 64<<10)
	return &b
}}

// hashFiles reads and hashes every file of the tree, on every core.
func (t *digestTree) hashFiles() error {
	workers := runtime.GOMAXPROCS(0)
	if workers > len(t.files) {
		workers = len(t.files)
	}
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := sha256.New()
			buf := readBuffers.Get().(*[]byte)
			defer readBuffers.Put(buf)
			for {
				mu.Lock()
				if next == len(t.files) || first != nil {
					mu.Unlock()
					return
				}
				f := t.files[next]
				next++
				mu.Unlock()
				if err := f.hash(h, *buf); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// hash reads the file and records its digest and executable bit.
func (f *digestFile) hash(h hash.Hash, buf []byte) error {
	fd, err := retryOpen(f.path)
	if err != nil {
		return &os.PathError{Op: "open", Path: f.path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: f.path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s: changed while it was hashed", f.path)
	}
	f.exec = st.Mode&0o100 != 0
	h.Reset()
	var n int64
	for {
		// A file whose size is known is read until then; one that
		// says it is empty (as some special files do) until the end.
		if st.Size > 0 && n >= st.Size {
			break
		}
		m, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "read", Path: f.path, Err: err}
		}
		if m == 0 {
			break
		}
		h.Write(buf[:m])
		n += int64(m)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	f.digest = cas.DigestOf(sum, n)
	return nil
}

func retryOpen(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// digest is the digest of d's REAPI Directory, as cas.DirectoryDigest
// computes it.
func (d *digestDir) digest() (cas.Digest, error) {
	dir := &repb.Directory{}
	for i, sub := range d.dirs {
		dd, err := sub.digest()
		if err != nil {
			return cas.Digest{}, err
		}
		dir.Directories = append(dir.Directories, &repb.DirectoryNode{Name: d.dirNames[i], Digest: dd.Proto()})
	}
	for _, f := range d.files {
		dir.Files = append(dir.Files, &repb.FileNode{Name: f.name, Digest: f.digest.Proto(), IsExecutable: f.exec})
	}
	dir.Symlinks = d.links
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(dir)
	if err != nil {
		return cas.Digest{}, err
	}
	return cas.NewDigest(data), nil
}
