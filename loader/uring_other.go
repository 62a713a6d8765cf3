//go:build unix && !linux

package loader

import "syscall"

// uring is Linux's; elsewhere files are read one by one.
type uring struct{}

type ringRead struct {
	data []byte
	op   string
	err  syscall.Errno
	full bool
}

const ringFiles = 32

func newURing() *uring { return nil }

func (r *uring) readAll(dirs []int, bases []string, out []ringRead) error { return syscall.ENOSYS }

func (r *uring) close() {}
