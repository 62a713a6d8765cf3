package element

import "syscall"

// mapMemory maps n bytes of zeroed memory, or returns nil. Mappings of
// megabytes ask for huge pages, where the system gives them on request:
// a page fault then clears 2 MB rather than 4 KB.
func mapMemory(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil
	}
	if n >= 4<<20 {
		syscall.Madvise(b, syscall.MADV_HUGEPAGE)
	}
	return b
}

func unmapMemory(b []byte) { syscall.Munmap(b) }
