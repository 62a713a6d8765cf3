package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"

	"github.com/bstgo/bst/cas"
)

// Stager materialises a CAS directory tree on the host. *cas.LocalStore is
// one: the sandbox stages each root with hardlinks to the store's objects,
// which is safe because the staged root is only ever mounted read-only.
type Stager interface {
	StageTree(ctx context.Context, root cas.Digest, dest string, opts cas.StageOptions) error
}

// Options configure a Sandbox.
type Options struct {
	// Stager stages Config.Root; usually the local CAS.
	Stager Stager
	// Dir is the directory under which the sandbox keeps its state (a
	// temporary or cache directory of the caller's). The sandbox makes its
	// own directory there and removes it in Close.
	Dir string
	// KeepRoots is how many staged roots no running command uses are kept
	// for reuse by later commands with the same root; 2 when 0, none when
	// negative.
	KeepRoots int
}

// Sandbox runs commands in rootless libcontainer containers. It is safe for
// concurrent use; commands with the same Root share one staged copy of it.
type Sandbox struct {
	stager Stager
	dir    string
	keep   int
	seq    atomic.Int64

	mu     sync.Mutex
	roots  map[cas.Digest]*stagedRoot
	tick   int64 // logical clock for the least recently used idle root
	closed bool
}

// New makes a sandbox keeping its state in a new directory under
// opts.Dir.
func New(ctx context.Context, opts Options) (*Sandbox, error) {
	if opts.Stager == nil {
		return nil, errors.New("sandbox: no stager")
	}
	if opts.Dir == "" {
		return nil, errors.New("sandbox: no state directory")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("sandbox: state directory: %w", err)
	}
	dir, err := os.MkdirTemp(opts.Dir, "sandbox-")
	if err != nil {
		return nil, fmt.Errorf("sandbox: state directory: %w", err)
	}
	// libcontainer wants a root file system path without symlinks.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	keep := opts.KeepRoots
	switch {
	case keep == 0:
		keep = 2
	case keep < 0:
		keep = 0
	}
	quietLibcontainer()
	return &Sandbox{stager: opts.Stager, dir: dir, keep: keep, roots: map[cas.Digest]*stagedRoot{}}, nil
}

var (
	quietOnce sync.Once
	debug     = os.Getenv("BST_SANDBOX_DEBUG") == "1"
)

// quietLibcontainer stops libcontainer's logging (logrus, to stderr by
// default): everything that matters comes back as an error.
// BST_SANDBOX_DEBUG=1 shows it instead, at debug level.
func quietLibcontainer() {
	quietOnce.Do(func() {
		if debug {
			logrus.SetLevel(logrus.DebugLevel)
			logrus.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: "15:04:05.000000"})
			logrus.SetOutput(os.Stderr)
			return
		}
		logrus.SetOutput(io.Discard)
	})
}

// Dir returns the sandbox's own state directory.
func (s *Sandbox) Dir() string { return s.dir }

// Close removes every staged root and the state directory. Commands still
// running are not waited for; cancel them first.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	s.closed = true
	s.roots = map[cas.Digest]*stagedRoot{}
	s.mu.Unlock()
	if err := removeTree(s.dir); err != nil {
		return fmt.Errorf("sandbox: removing state: %w", err)
	}
	return nil
}

// Run runs cfg.Args in a new sandbox and waits for it to end. It returns
// the command's exit status (128+N when signal N ended it); a command that
// fails is not an error. The error reports what could not be done: an
// invalid Config (*ConfigError), staging the root, setting up the
// container. When ctx is done first, every process in the sandbox is
// killed, the container destroyed, and Run returns ctx's error.
//
// The root is mounted read-only. Mount points that are missing from it —
// /dev, /proc, /tmp, and those of Writable, Mounts and Cwd — are created
// empty in the sandbox's staged copy of the root before it is made
// read-only (and stay there for later commands on the same root); the
// store's objects are never touched.
func (s *Sandbox) Run(ctx context.Context, cfg Config) (exitCode int, err error) {
	if err := cfg.Validate(); err != nil {
		return -1, err
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	root, err := s.acquire(ctx, cfg.Root)
	if err != nil {
		return -1, err
	}
	defer s.release(root)

	n := s.seq.Add(1)
	runDir := filepath.Join(s.dir, "run-"+strconv.FormatInt(n, 10))
	if err := os.Mkdir(runDir, 0o700); err != nil {
		return -1, fmt.Errorf("sandbox: %w", err)
	}
	defer removeTree(runDir)
	r := &run{cfg: &cfg, root: root, dir: runDir, id: "bst-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(n, 10)}
	return r.run(ctx)
}

// removeTree removes a directory tree, making read-only directories
// writable first where needed.
func removeTree(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil || errors.Is(err, os.ErrNotExist) {
		return nil
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// exitStatus turns a wait status into an exit code in the shell's manner.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

var _ = libcontainer.Init
