package loader

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Reading many small files through io_uring.
//
// Opening, reading and closing a file costs three system calls, and on the
// virtual machines bst is measured on entering and leaving the kernel is
// most of what reading an element file costs (9 µs a file, where the
// kernel's own work is 2 to 3 µs). An io_uring takes the three operations
// of many files in one call: each file is opened into a slot of the ring's
// own file table, read from it and closed, the three linked so that they
// run in order.
//
// Only what the loader needs is here: one ring per reader, submissions and
// completions in batches of at most ringFiles files, no polling thread.
// Where the kernel refuses io_uring (too old, disabled by
// kernel.io_uring_disabled, filtered by seccomp), files are read one by
// one as before.

const (
	ringFiles = 32 // files per submission, and slots of the file table
	ringSlot  = 4096

	opOpenat = 18 // IORING_OP_OPENAT
	opClose  = 19 // IORING_OP_CLOSE
	opRead   = 22 // IORING_OP_READ

	sqeFixedFile = 1 << 0 // IOSQE_FIXED_FILE
	sqeLink      = 1 << 2 // IOSQE_IO_LINK
	sqeHardLink  = 1 << 3 // IOSQE_IO_HARDLINK

	enterGetEvents   = 1 << 0 // IORING_ENTER_GETEVENTS
	registerFiles2   = 13     // IORING_REGISTER_FILES2
	rsrcSparse       = 1 << 0 // IORING_RSRC_REGISTER_SPARSE
	offSQRing        = 0      // IORING_OFF_SQ_RING
	offCQRing        = 0x8000000
	offSQEs          = 0x10000000
	featSingleMmap   = 1 << 0 // IORING_FEAT_SINGLE_MMAP
	ringSubmissionSz = 64
	ringCompletionSz = 16
)

// The kernel's structures (include/uapi/linux/io_uring.h).
type (
	uringSQOffsets struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	uringCQOffsets struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
	uringParams struct {
		sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
		resv                                                                   [3]uint32
		sqOff                                                                  uringSQOffsets
		cqOff                                                                  uringCQOffsets
	}
	uringSQE struct {
		opcode    uint8
		flags     uint8
		ioprio    uint16
		fd        int32
		off       uint64
		addr      uint64
		len       uint32
		opFlags   uint32
		userData  uint64
		bufIndex  uint16
		personal  uint16
		fileIndex uint32
		addr3     uint64
		pad       uint64
	}
	uringCQE struct {
		userData uint64
		res      int32
		flags    uint32
	}
	uringRsrcRegister struct {
		nr, flags  uint32
		resv2      uint64
		data, tags uint64
	}
)

// uringRefused is set once the kernel refused a ring: later readers do not
// ask again.
var uringRefused atomic.Bool

// uringTest lets tests turn rings off (to compare with the plain reads).
var uringTest struct {
	sync.Mutex
	off bool
}

// uring is one ring with its file table and the buffers its reads fill.
type uring struct {
	fd             int
	sqMem, cqMem   []byte
	sqeMem         []byte
	sqes           []uringSQE
	sqTail, sqMask *uint32
	sqArray        []uint32
	cqHead, cqTail *uint32
	cqMask         *uint32
	cqes           []uringCQE
	bufs           []byte // ringFiles slots of ringSlot bytes
	names          []byte // the NUL-terminated names being opened
}

// newURing sets up a ring, or returns nil where the kernel has none to
// give.
func newURing() *uring {
	if uringRefused.Load() {
		return nil
	}
	uringTest.Lock()
	off := uringTest.off
	uringTest.Unlock()
	if off {
		return nil
	}
	r, err := setupURing()
	if err != nil {
		uringRefused.Store(true)
		return nil
	}
	return r
}

func setupURing() (*uring, error) {
	var p uringParams
	fd, _, errno := syscall.Syscall(unix.SYS_IO_URING_SETUP, 4*ringFiles, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, errno
	}
	r := &uring{fd: int(fd)}
	fail := func(err error) (*uring, error) {
		r.close()
		return nil, err
	}
	if p.features&featSingleMmap == 0 || p.sqEntries < 3*ringFiles || p.cqEntries < 3*ringFiles {
		return fail(errors.New("io_uring: kernel too old"))
	}
	syscall.CloseOnExec(r.fd)
	var err error
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*ringCompletionSz)
	if r.sqMem, err = syscall.Mmap(r.fd, offSQRing, sqSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE); err != nil {
		return fail(err)
	}
	if r.cqMem, err = syscall.Mmap(r.fd, offCQRing, cqSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE); err != nil {
		return fail(err)
	}
	if r.sqeMem, err = syscall.Mmap(r.fd, offSQEs, int(p.sqEntries)*ringSubmissionSz, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE); err != nil {
		return fail(err)
	}
	r.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.sqTail = (*uint32)(unsafe.Pointer(&r.sqMem[p.sqOff.tail]))
	r.sqMask = (*uint32)(unsafe.Pointer(&r.sqMem[p.sqOff.ringMask]))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Pointer(&r.sqMem[p.sqOff.array])), p.sqEntries)
	r.cqHead = (*uint32)(unsafe.Pointer(&r.cqMem[p.cqOff.head]))
	r.cqTail = (*uint32)(unsafe.Pointer(&r.cqMem[p.cqOff.tail]))
	r.cqMask = (*uint32)(unsafe.Pointer(&r.cqMem[p.cqOff.ringMask]))
	r.cqes = unsafe.Slice((*uringCQE)(unsafe.Pointer(&r.cqMem[p.cqOff.cqes])), p.cqEntries)
	reg := uringRsrcRegister{nr: ringFiles, flags: rsrcSparse}
	if _, _, errno := syscall.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerFiles2, uintptr(unsafe.Pointer(&reg)), unsafe.Sizeof(reg), 0, 0); errno != 0 {
		return fail(errno)
	}
	r.bufs = make([]byte, ringFiles*ringSlot)
	return r, nil
}

// close releases the ring.
func (r *uring) close() {
	for _, m := range [][]byte{r.sqeMem, r.cqMem, r.sqMem} {
		if m != nil {
			_ = syscall.Munmap(m)
		}
	}
	if r.fd > 0 {
		syscall.Close(r.fd)
	}
	r.fd = -1
}

// push queues one submission.
func (r *uring) push(s uringSQE) {
	tail := *r.sqTail
	i := tail & *r.sqMask
	r.sqes[i] = s
	r.sqArray[i] = i
	atomic.StoreUint32(r.sqTail, tail+1)
}

// ringRead is the outcome of reading one file through a ring.
type ringRead struct {
	data []byte // in the ring's buffers, until the next batch
	op   string // the operation that failed: "open" or "read"
	err  syscall.Errno
	full bool // the file filled its slot: it may be longer
}

// readAll opens, reads and closes the files base[i] in the directories
// dirs[i] (descriptors), at most ringFiles of them, and fills out[i]. On
// error some operations may still be in flight: the ring, with the
// buffers and names they use, must then be kept until it is closed.
func (r *uring) readAll(dirs []int, bases []string, out []ringRead) error {
	n := len(bases)
	size := 0
	for _, b := range bases {
		size += len(b) + 1
	}
	if cap(r.names) < size {
		r.names = make([]byte, 0, size)
	}
	// Sized first, so that no name moves while the kernel reads it.
	names := r.names[:0]
	for i := range n {
		at := len(names)
		names = append(append(names, bases[i]...), 0)
		slot := r.bufs[i*ringSlot : (i+1)*ringSlot]
		// The open puts the file in slot i of the ring's table; the read
		// runs only if it succeeded; the close runs after the read
		// whatever the read returned (a short read breaks a plain link).
		r.push(uringSQE{opcode: opOpenat, flags: sqeLink, fd: int32(dirs[i]),
			addr: uint64(uintptr(unsafe.Pointer(&names[at]))), opFlags: syscall.O_RDONLY,
			fileIndex: uint32(i + 1), userData: uint64(i)<<2 | 0})
		r.push(uringSQE{opcode: opRead, flags: sqeHardLink | sqeFixedFile, fd: int32(i),
			addr: uint64(uintptr(unsafe.Pointer(&slot[0]))), len: ringSlot, userData: uint64(i)<<2 | 1})
		r.push(uringSQE{opcode: opClose, fileIndex: uint32(i + 1), userData: uint64(i)<<2 | 2})
		out[i] = ringRead{}
	}
	want := 3 * n
	submit := want
	for done := 0; done < want; {
		got, _, errno := syscall.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(submit), uintptr(want-done), enterGetEvents, 0, 0)
		switch errno {
		case 0:
		case syscall.EINTR, syscall.EAGAIN, syscall.EBUSY:
			continue // interrupted, or short of resources for a moment
		default:
			return errno
		}
		submit -= int(got)
		head := *r.cqHead
		for tail := atomic.LoadUint32(r.cqTail); head != tail; head++ {
			c := r.cqes[head&*r.cqMask]
			i, op := int(c.userData>>2), c.userData&3
			done++
			switch {
			case op == 0 && c.res < 0:
				out[i].op, out[i].err = "open", syscall.Errno(-c.res)
			case op == 1 && out[i].op == "":
				if c.res < 0 {
					out[i].op, out[i].err = "read", syscall.Errno(-c.res)
					break
				}
				out[i].data = r.bufs[i*ringSlot : i*ringSlot+int(c.res)]
				out[i].full = c.res == ringSlot
			}
		}
		atomic.StoreUint32(r.cqHead, head)
	}
	runtime.KeepAlive(names)
	return nil
}
