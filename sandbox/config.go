package sandbox

import (
	"io"

	"github.com/bstgo/bst/cas"
)

// Config describes one command to run in a sandbox. It is plain data: build
// it, check it with Validate (Run does too), run it with Sandbox.Run.
//
// Every path named Path or Destination is a path inside the sandbox; every
// HostPath or Source is a path on the host. Inside, the sandbox holds the
// tree Root (read-only unless RootWritable), the Writable directories and
// Mounts, a minimal /dev, /proc and an empty private /tmp, and nothing else
// from the host.
type Config struct {
	// Root is the REAPI Directory digest of the root file system, staged
	// from the CAS and mounted read-only.
	Root cas.Digest

	// RootWritable lets the command change anything in the root: create,
	// modify and delete files and directories anywhere, at the top too.
	// The stored objects are never written: the command writes to a
	// private layer over the staged root (see docs/sandbox.md). Exec
	// returns the root as the command left it; Run discards it.
	RootWritable bool

	// Writable are the directories a command may write to, such as
	// %{build-root} and %{install-root}: each is a host directory the
	// caller owns, bind-mounted read-write at a sandbox path. What the
	// command writes there is on the host directory afterwards.
	Writable []WritableDir

	// Mounts are further host files or directories bind-mounted into the
	// sandbox, read-only unless ReadWrite is set.
	Mounts []Mount

	// Env is the whole environment of the command, "NAME=value" entries in
	// order; nothing is inherited from the caller.
	Env []string

	// Cwd is the working directory, an absolute sandbox path; "/" when
	// empty. When it does not exist in the root it is created as a mount
	// point's directory is (see Sandbox.Run).
	Cwd string

	// Args is the command and its arguments. Args[0] is looked up in the
	// PATH of Env when it has no slash.
	Args []string

	// UID and GID are the ids the command runs as inside; 0/0 by default.
	// The calling user is always mapped to 0 inside; a non-zero UID or GID
	// can only be mapped when bst runs as root on the host (see Run).
	UID, GID int

	// Network shares the host's network namespace with the command. Off
	// (the default for builds), the sandbox has its own network namespace
	// with only a loopback interface.
	Network bool

	// Stdin, Stdout and Stderr are the command's standard streams; nil
	// means /dev/null. An *os.File is handed to the command as it is; any
	// other Stdin is copied in through a pipe (Run does not wait for it to
	// end), any other Stdout or Stderr is copied out until the sandbox's
	// last process has exited.
	Stdin          io.Reader
	Stdout, Stderr io.Writer

	// Tty gives the command a pseudo-terminal as its controlling terminal
	// and its standard streams: input from Stdin goes to it, its output
	// goes to Stdout (Stderr is not used).
	Tty bool
}

// WritableDir is a host directory bind-mounted read-write into the sandbox.
type WritableDir struct {
	// Path is where it appears inside, an absolute sandbox path.
	Path string
	// HostPath is the directory on the host; it must exist and belong to
	// the calling user (or, when bst runs as root with a non-zero UID, to
	// that uid, which is the same on the host).
	HostPath string
}

// Mount is a host file or directory bind-mounted into the sandbox.
type Mount struct {
	// Source is the host path, absolute; it must exist.
	Source string
	// Destination is where it appears inside, an absolute sandbox path.
	Destination string
	// ReadWrite mounts it writable; the default is read-only.
	ReadWrite bool
}
