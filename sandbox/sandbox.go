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

// RootCache keeps staged roots beyond one Sandbox: AcquireStaged returns
// a staged tree of root, to be mounted read-only and never written but for
// empty mount points, valid until release is called. *cas.LocalStore is
// one, whose staged roots are shared by every bst process using the cache.
type RootCache interface {
	AcquireStaged(ctx context.Context, root cas.Digest) (path string, release func(), err error)
}

// Options configure a Sandbox.
type Options struct {
	// Stager stages Config.Root; usually the local CAS.
	Stager Stager
	// Roots, when set, provides the read-only roots (and the lower layers
	// of writable ones) instead of staging them in the sandbox's own
	// directory, so that they outlive it.
	Roots RootCache
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
	cache  RootCache
	dir    string
	keep   int
	seq    atomic.Int64

	// overlay says whether writable roots can be overlays here (learnt by
	// the first one), mounted with overlayOptions; forceCopy makes them
	// copies (for tests).
	overlay        atomic.Int32
	overlayOptions string
	forceCopy      bool

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
	return &Sandbox{stager: opts.Stager, cache: opts.Roots, dir: dir, keep: keep, roots: map[cas.Digest]*stagedRoot{},
		overlayOptions: defaultOverlayOptions}, nil
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

// Close removes every staged root of its own and the state directory, and
// releases those of its RootCache. Commands still running are not waited
// for; cancel them first.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	s.closed = true
	roots := s.roots
	s.roots = map[cas.Digest]*stagedRoot{}
	s.mu.Unlock()
	for _, r := range roots {
		select {
		case <-r.ready:
			if r.release != nil {
				r.release()
			}
		default: // still staging: its acquire releases it
		}
	}
	if err := removeTree(s.dir); err != nil {
		return fmt.Errorf("sandbox: removing state: %w", err)
	}
	return nil
}

// Result is what a command left.
type Result struct {
	// ExitCode is the command's exit status (128+N when signal N ended
	// it).
	ExitCode int
	// Root is the root as the command left it, for a Config with
	// RootWritable; the zero Digest otherwise.
	Root cas.Digest
}

// Run runs cfg.Args in a new sandbox and waits for it to end. It returns
// the command's exit status (128+N when signal N ended it); a command that
// fails is not an error. The error reports what could not be done: an
// invalid Config (*ConfigError), staging the root, setting up the
// container. When ctx is done first, every process in the sandbox is
// killed, the container destroyed, and Run returns ctx's error.
//
// The root is mounted read-only unless cfg.RootWritable; Run discards
// what a command changes in a writable root (Exec returns it). Mount
// points that are missing from a read-only root — /dev, /proc, /tmp, and
// those of Writable, Mounts and Cwd — are created empty in the sandbox's
// staged copy of the root before it is made read-only (and stay there for
// later commands on the same root); the store's objects are never touched.
func (s *Sandbox) Run(ctx context.Context, cfg Config) (exitCode int, err error) {
	res, err := s.run(ctx, cfg, false)
	return res.ExitCode, err
}

// Exec runs a command as Run does, and with cfg.RootWritable also returns
// the root as the command left it, whatever its exit status: the original
// tree with the command's changes (files and directories created, modified
// or deleted anywhere), without the mount points the sandbox itself
// created. The Stager must then be a Capturer (*cas.LocalStore is).
func (s *Sandbox) Exec(ctx context.Context, cfg Config) (Result, error) {
	if cfg.RootWritable {
		if _, ok := s.stager.(Capturer); !ok {
			return Result{ExitCode: -1}, errors.New("sandbox: the stager cannot store a writable root")
		}
	}
	return s.run(ctx, cfg, cfg.RootWritable)
}

func (s *Sandbox) run(ctx context.Context, cfg Config, capture bool) (Result, error) {
	fail := Result{ExitCode: -1}
	if err := cfg.Validate(); err != nil {
		return fail, err
	}
	if err := ctx.Err(); err != nil {
		return fail, err
	}
	mode := rootShared
	if cfg.RootWritable {
		mode = s.writableMode()
	}
	var root *stagedRoot
	if mode != rootCopy {
		var err error
		if root, err = s.acquire(ctx, cfg.Root); err != nil {
			return fail, err
		}
		defer s.release(root)
	}

	n := s.seq.Add(1)
	runDir := filepath.Join(s.dir, "run-"+strconv.FormatInt(n, 10))
	if err := os.Mkdir(runDir, 0o700); err != nil {
		return fail, fmt.Errorf("sandbox: %w", err)
	}
	defer removeTree(runDir)
	r := &run{cfg: &cfg, dir: runDir, id: "bst-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(n, 10)}
	for {
		var base string
		switch mode {
		case rootShared:
			r.rootfs = root.path
		case rootOverlay:
			rootfs, err := prepareOverlay(runDir, root.path, s.overlayOptions)
			if err != nil {
				return fail, fmt.Errorf("sandbox: preparing the overlay root: %w", err)
			}
			r.rootfs, r.writable, base = rootfs, true, filepath.Join(runDir, "upper")
		case rootCopy:
			base = filepath.Join(runDir, copyRootfs)
			if err := s.stager.StageTree(ctx, cfg.Root, base, cas.StageOptions{Copy: true}); err != nil {
				return fail, fmt.Errorf("sandbox: staging root %s: %w", cfg.Root, err)
			}
			r.rootfs, r.writable = base, true
		}
		code, err := r.run(ctx)
		if mode == rootOverlay && err != nil && ctx.Err() == nil {
			if why, failed := overlayFailed(runDir); failed {
				// No overlay here: copy roots from now on.
				if debug {
					logrus.Debugf("sandbox: no overlay root (%s): copying writable roots", why)
				}
				s.overlay.Store(overlayUnavailable)
				resetOverlay(runDir)
				mode = rootCopy
				continue
			}
		}
		if mode == rootOverlay && err == nil {
			s.overlay.CompareAndSwap(overlayUnknown, overlayWorks)
		}
		if err != nil {
			return fail, err
		}
		res := Result{ExitCode: code}
		if capture {
			if res.Root, err = s.captureRoot(ctx, &cfg, mode, base); err != nil {
				return fail, err
			}
		}
		return res, nil
	}
}

// removeTree removes a directory tree, making read-only directories
// writable first where needed.
func removeTree(dir string) error { return cas.RemoveTree(dir) }

// exitStatus turns a wait status into an exit code in the shell's manner.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

var _ = libcontainer.Init
