package main

import (
	"bytes"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Backing the heap with transparent huge pages.
//
// On virtual machines a page fault costs far more than on bare metal: 12 µs
// per 4 KiB page on the 2-core VMs bst is benchmarked on, so loading
// 100,000 elements spent about 2 s of its 6.5 s of CPU faulting in its
// 700 MB of heap. The Go runtime gets huge pages only where the system
// gives them to every mapping (transparent_hugepage/enabled = always);
// most distributions default to madvise, where a mapping must ask. So
// once an element graph's load has grown the heap past hugeHeapFrom, bst
// allocates one large block, which makes the runtime map it, asks the
// kernel to back it with huge pages, and drops it, collecting at once (the
// heap is still small) to give the memory back to the runtime, still
// untouched: the run's heap then grows into it. Pages never touched cost
// nothing; what it costs is the runtime's metadata for the block and the
// collection, a few milliseconds, paid by large projects only.
// BST_NO_HUGEPAGES=1 turns it off.
const (
	hugeBlockMax   = 1 << 30
	hugePage       = 2 << 20
	madvHugepage   = 14 // MADV_HUGEPAGE
	hugeBlockMin   = 64 << 20
	hugeHeapFrom   = 16 << 20 // heap objects before the block is mapped
	hugeRAMShare   = 4        // at most a quarter of the machine's memory
	hugeOvercommit = "/proc/sys/vm/overcommit_memory"
)

// hugeBlock is the size of the block to map in this process, 0 for none.
var hugeBlock = sync.OnceValue(func() int {
	if os.Getenv("BST_NO_HUGEPAGES") != "" {
		return 0
	}
	return hugeBlockSize()
})

// hugeMapped is set once the block is mapped: once per process.
var hugeMapped atomic.Bool

// watchHeapWhileLoading watches the heap while an element graph loads and
// maps the block once the heap has grown past hugeHeapFrom, so that small
// projects never pay. The function it returns ends the watch: call it
// when the load is over.
func watchHeapWhileLoading() (stop func()) {
	size := hugeBlock()
	if size == 0 || hugeMapped.Load() {
		return func() {}
	}
	done := make(chan struct{})
	go watchHeap(2*time.Millisecond, done, func(objects uint64) bool {
		if objects < hugeHeapFrom {
			return false
		}
		if hugeMapped.CompareAndSwap(false, true) {
			adviseHugeBlock(size)
		}
		return true
	})
	return sync.OnceFunc(func() { close(done) })
}

// hugeBlockSize returns the size of the block to map, or 0 when huge
// pages are not to be asked for: the kernel gives them to mappings that
// ask (madvise mode), and a large untouched mapping is safe, which it is
// not with strict overcommit accounting (it would count in full) or on a
// machine with little memory.
func hugeBlockSize() int {
	enabled, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !bytes.Contains(enabled, []byte("[madvise]")) {
		return 0
	}
	overcommit, err := os.ReadFile(hugeOvercommit)
	if err != nil || string(bytes.TrimSpace(overcommit)) == "2" {
		return 0
	}
	size := min(uint64(hugeBlockMax), totalMemory()/hugeRAMShare) &^ (hugePage - 1)
	if size < hugeBlockMin {
		return 0
	}
	return int(size)
}

// adviseHugeBlock maps a block of heap, asks for huge pages on it and lets
// it go back to the runtime unused.
func adviseHugeBlock(size int) {
	b := make([]byte, size)
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	begin := (start + hugePage - 1) &^ (hugePage - 1)
	end := (start + uintptr(len(b))) &^ (hugePage - 1)
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, begin, end-begin, madvHugepage)
	runtime.KeepAlive(b)
	b = nil
	// Left to the next collection, the block would count as live until
	// then and the heap would meanwhile grow elsewhere.
	runtime.GC()
}

// totalMemory is the machine's memory in bytes, 0 when unknown.
func totalMemory() uint64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}
