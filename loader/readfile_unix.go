//go:build unix

package loader

import (
	"io/fs"
	"path/filepath"
	"syscall"
)

// fileReader reads files in as few system calls as the kernel allows:
// element files are small and there can be a hundred thousand of them, so
// the stat, the non-blocking set-up and the poller registration that an
// *os.File costs, the path lookup from / for every file and the read that
// only finds the end of the file cost more than the reading. Its errors are
// those of os.ReadFile. A fileReader is not safe for concurrent use.
type fileReader struct {
	buf  []byte
	dirs map[string]int // open directories, by path
	// Files read ahead through a ring (see prefetch), by path, and the
	// ring; ringTried is set once one was asked for, ringBroken once the
	// ring failed.
	ring       *uring
	ringTried  bool
	ringBroken bool
	fetched    []string
	results    [ringFiles]ringRead
	dirFDs     []int
	bases      []string
}

// maxDirs bounds the directories a fileReader keeps open.
const maxDirs = 64

// read returns the content of the file at path, in storage that the next
// read reuses.
func (r *fileReader) read(path string) ([]byte, error) {
	for i, f := range r.fetched {
		if f != path {
			continue
		}
		res := r.results[i]
		r.fetched[i] = "" // read once
		if res.op != "" {
			return nil, &fs.PathError{Op: res.op, Path: path, Err: res.err}
		}
		if !res.full {
			return res.data, nil
		}
		break // longer than a slot, perhaps: read it whole below
	}
	dir, base := filepath.Split(path)
	fd, err := r.open(dir, base)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	buf := r.buf[:0]
	for {
		if cap(buf)-len(buf) < 512 {
			buf = append(buf, make([]byte, 4096)...)[:len(buf)]
		}
		free := cap(buf) - len(buf)
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		buf = buf[:len(buf)+n]
		// A read of a regular file returns less than asked for only at
		// its end, which saves the read that would return 0.
		if n == 0 || n < free {
			r.buf = buf
			return buf, nil
		}
	}
}

// prefetch reads the files at paths (at most ringFiles) ahead of their
// read, in one system call where the kernel has io_uring: read then
// returns them from the ring's buffers, valid until the next prefetch.
func (r *fileReader) prefetch(paths []string) {
	r.fetched = r.fetched[:0]
	if len(paths) < 2 || len(paths) > ringFiles {
		return
	}
	if !r.ringTried {
		r.ringTried, r.ring = true, newURing()
	}
	if r.ring == nil || r.ringBroken {
		return
	}
	r.dirFDs, r.bases = r.dirFDs[:0], r.bases[:0]
	for _, p := range paths {
		dir, base := filepath.Split(p)
		dfd, ok := r.dir(dir)
		if !ok {
			dfd, base = atFDCWD, p
		}
		r.dirFDs, r.bases = append(r.dirFDs, dfd), append(r.bases, base)
	}
	if err := r.ring.readAll(r.dirFDs, r.bases, r.results[:len(paths)]); err != nil {
		// Read one by one from now on. The ring stays until close:
		// operations still in flight use its buffers.
		r.ringBroken = true
		return
	}
	r.fetched = append(r.fetched, paths...)
}

// atFDCWD is AT_FDCWD: paths relative to the working directory.
const atFDCWD = -100

// dir returns a descriptor of directory dir, kept open for the files
// next to it, if there is room for one more.
func (r *fileReader) dir(dir string) (int, bool) {
	dfd, ok := r.dirs[dir]
	if !ok && dir != "" && len(r.dirs) < maxDirs {
		var err error
		dfd, err = retryEINTR(func() (int, error) {
			return syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		})
		if err == nil {
			if r.dirs == nil {
				r.dirs = map[string]int{}
			}
			r.dirs[dir] = dfd
			ok = true
		}
	}
	return dfd, ok
}

// open opens base in directory dir, through a descriptor of dir kept open
// for the files next to it.
func (r *fileReader) open(dir, base string) (int, error) {
	dfd, ok := r.dir(dir)
	if !ok {
		return retryEINTR(func() (int, error) {
			return syscall.Open(dir+base, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		})
	}
	return retryEINTR(func() (int, error) {
		return syscall.Openat(dfd, base, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	})
}

func retryEINTR(f func() (int, error)) (int, error) {
	for {
		fd, err := f()
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// close closes the directories r keeps open.
func (r *fileReader) close() {
	for _, fd := range r.dirs {
		syscall.Close(fd)
	}
	r.dirs = nil
	if r.ring != nil {
		r.ring.close()
		r.ring = nil
	}
	r.fetched = r.fetched[:0]
}
