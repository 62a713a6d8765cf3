//go:build unix

package element

import "syscall"

// mapMemory maps n bytes of zeroed memory, or returns nil.
func mapMemory(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil
	}
	return b
}

func unmapMemory(b []byte) { syscall.Munmap(b) }
