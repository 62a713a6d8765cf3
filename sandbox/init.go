package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/exeseal"
	"golang.org/x/sys/unix"

	// nsenter's C constructor runs before the Go runtime in a container's
	// init: it joins and creates the namespaces (cgo).
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// libcontainer starts a container's init as "/proc/self/exe init" with its
// pipes named in the environment. "bst init" is also a user command
// (creating a project), so the environment, not the arguments, tells the
// two apart.
const initPipeEnv = "_LIBCONTAINER_INITPIPE"

// sealedFromEnv records, across the re-execution from the sealed copy, the
// path of the binary the process was started from. Its presence also stops
// a second attempt to seal if the first one did not give a sealed binary.
const sealedFromEnv = "_BST_SANDBOX_SEALED_FROM"

// MaybeInit makes this process a sandbox's init when libcontainer started
// it as one, and then never returns. Otherwise it returns at once. Call it
// first thing in main, on the main goroutine, before anything else runs:
// the init process must not start goroutines, open files or read flags of
// its own.
//
// Otherwise it locks the main goroutine to the main thread for good.
// libcontainer runs goroutines that lock their thread, move it into a new
// container's mount namespace and end without unlocking, so that Go ends
// the thread; but the main thread is never ended, only parked, and it
// would stay in that namespace, keeping it and its mounts alive, and make
// /proc/self show it. With the main goroutine on it, no other goroutine
// ever runs on the main thread.
func MaybeInit() {
	if os.Getenv(initPipeEnv) == "" {
		runtime.LockOSThread()
		sealedFrom()
		return
	}
	// Die with bst. libcontainer sets its ParentDeathSignal only on the
	// first of its init stages, not on this last one, whose parent is the
	// bst thread that started the container (Run keeps that thread alive
	// while the sandbox runs). libcontainer keeps this setting across the
	// switch to the command's ids, and execve keeps it (no_new_privs: no
	// setuid binary can clear it). If bst is already gone, the init fails
	// at once on its closed sync pipe.
	unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	// A writable root's overlay is mounted here, in the container's user
	// and mount namespaces, before libcontainer prepares the root.
	mountOverlayRoot()
	libcontainer.Init() // does not return
}

var (
	sealedOnce sync.Once
	sealedPath string
)

// sealedFrom returns the path Seal re-executed from, if it did, and removes
// the variable from the environment so that programs bst starts do not
// inherit it.
func sealedFrom() string {
	sealedOnce.Do(func() {
		sealedPath = os.Getenv(sealedFromEnv)
		if sealedPath == "" {
			return
		}
		os.Unsetenv(sealedFromEnv)
		// Started as /proc/self/fd/N, the process is named "N" (ps, top);
		// give it its own name back.
		name := filepath.Base(sealedPath)
		if len(name) > 15 { // the kernel's limit (TASK_COMM_LEN - 1)
			name = name[:15]
		}
		if p, err := unix.BytePtrFromString(name); err == nil {
			unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(p)), 0, 0, 0)
		}
	})
	return sealedPath
}

// Seal re-executes the running binary from a sealed in-memory copy of
// itself, once, so that sandboxes started later neither copy the binary
// each time (libcontainer does that for every container whose
// /proc/self/exe is not sealed) nor can ever reach the binary on disk
// through /proc/self/exe. The copy is a memfd: nothing is written to disk
// and nothing is left behind.
//
// Commands that create sandboxes call it before doing anything else, since
// the process starts again from main with the same arguments and
// environment; in the re-executed process Seal returns nil at once. When
// the binary cannot be sealed (no memfd), Seal returns nil without
// re-executing and libcontainer falls back to its per-sandbox copy.
func Seal() error {
	if exeseal.IsSelfExeCloned() {
		return nil
	}
	if sealedFrom() != "" {
		return nil // already tried; the copy could not be verified as sealed
	}
	orig, err := os.Executable()
	if err != nil {
		return fmt.Errorf("sealing the bst binary: %w", err)
	}
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return fmt.Errorf("sealing the bst binary: %w", err)
	}
	defer self.Close()
	st, err := self.Stat()
	if err != nil {
		return fmt.Errorf("sealing the bst binary: %w", err)
	}
	sealed, err := exeseal.CloneBinary(self, st.Size(), filepath.Base(orig), os.TempDir())
	if err != nil {
		return fmt.Errorf("sealing the bst binary: %w", err)
	}
	if !exeseal.IsCloned(sealed) {
		// Not a sealed memfd (an O_TMPFILE fallback): libcontainer would
		// not trust it, so re-executing would gain nothing.
		sealed.Close()
		return nil
	}
	env := append(os.Environ(), sealedFromEnv+"="+orig)
	path := fmt.Sprintf("/proc/self/fd/%d", sealed.Fd())
	err = syscall.Exec(path, os.Args, env)
	sealed.Close()
	return fmt.Errorf("sealing the bst binary: re-executing: %w", err)
}

// Sealed reports whether the running binary is a sealed copy.
func Sealed() bool { return exeseal.IsSelfExeCloned() }

// Executable returns the path of the binary on disk this process was
// started from, also after Seal has re-executed it from its sealed copy
// (when os.Executable names the memfd).
func Executable() (string, error) {
	if p := sealedFrom(); p != "" {
		return p, nil
	}
	return os.Executable()
}
