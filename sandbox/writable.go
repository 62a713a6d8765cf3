package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"golang.org/x/sys/unix"

	"github.com/bstgo/bst/cas"
)

// A writable root is an overlay file system: its lower layer is the staged
// root the read-only commands of the same digest share (hardlinks to the
// store's objects, never written), its upper layer an empty directory of
// the run's. The command's changes all land in the upper layer; afterwards
// the changed root is the original tree with the upper layer applied
// (whiteouts delete, opaque directories replace), computed on Directory
// messages, so only what changed is read and stored.
//
// The overlay is mounted by the container's init (MaybeInit), in the
// container's own user and mount namespaces, before libcontainer prepares
// the root: an unprivileged user may mount an overlay there (Linux 5.11 and
// later, with the userxattr option). Where that is impossible, the root is
// staged as a private writable copy instead, and captured whole.
//
// The run directory of a command with an overlay root holds:
//
//	run-N/
//	├── lower -> the shared staged root (a symlink)
//	├── upper/      the command's changes
//	├── work/       the overlay's work directory
//	├── rootfs/     the mount point, libcontainer's Rootfs
//	├── overlay     the mount options, read by the init
//	└── state/      libcontainer's state
//
// The init, started by libcontainer with rootfs/ as its working directory,
// mounts the overlay when rootfs/ has that name and overlay is next to it
// (the options name the layers relative to run-N, so no path needs
// escaping); if the mount fails it writes the reason to overlay-error and
// exits before the command starts, and the run is retried with a copy.

const (
	overlayRootfs  = "rootfs"
	overlayConf    = "overlay"
	overlayFailure = "overlay-error"
	copyRootfs     = "copy"
)

// defaultOverlayOptions are the overlay's mount options, relative to the run
// directory. userxattr keeps the overlay's own attributes in the user.*
// namespace (the only one a user namespace may write); no redirects, no
// metadata-only copy-up and no index, so that a file in the upper layer is
// always whole and a directory in it never names another.
const defaultOverlayOptions = "lowerdir=lower,upperdir=upper,workdir=work,userxattr,redirect_dir=nofollow,metacopy=off,index=off"

// rootMode is how a run's root is mounted.
type rootMode uint8

const (
	rootShared  rootMode = iota // the shared staged root, read-only
	rootOverlay                 // an overlay over the shared staged root
	rootCopy                    // a private writable copy
)

// The overlay states of a Sandbox.
const (
	overlayUnknown int32 = iota
	overlayWorks
	overlayUnavailable
)

// writableMode is how the next writable root is made.
func (s *Sandbox) writableMode() rootMode {
	if s.forceCopy || s.overlay.Load() == overlayUnavailable {
		return rootCopy
	}
	return rootOverlay
}

// prepareOverlay makes the layers of an overlay root over lower in the run
// directory and returns the mount point.
func prepareOverlay(runDir, lower, options string) (string, error) {
	for _, d := range []string{"upper", "work", overlayRootfs} {
		if err := os.Mkdir(filepath.Join(runDir, d), 0o755); err != nil {
			return "", err
		}
	}
	if err := os.Symlink(lower, filepath.Join(runDir, "lower")); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(runDir, overlayConf), []byte(options), 0o600); err != nil {
		return "", err
	}
	return filepath.Join(runDir, overlayRootfs), nil
}

// overlayFailed returns the reason the init gave for not mounting the
// overlay of runDir, if it gave one.
func overlayFailed(runDir string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(runDir, overlayFailure))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// resetOverlay removes what prepareOverlay made, for a retry with a copy.
func resetOverlay(runDir string) {
	for _, n := range []string{"upper", "work", overlayRootfs, "lower", overlayConf, overlayFailure, "state"} {
		removeTree(filepath.Join(runDir, n))
	}
}

// mountOverlayRoot runs in a container's init, before libcontainer's: when
// the working directory it was started in is an overlay run's mount point,
// it mounts the overlay there. It exits when the mount fails, leaving the
// reason for the parent.
func mountOverlayRoot() {
	cwd, err := os.Getwd()
	if err != nil || filepath.Base(cwd) != overlayRootfs {
		return
	}
	runDir := filepath.Dir(cwd)
	opts, err := os.ReadFile(filepath.Join(runDir, overlayConf))
	if err != nil {
		return // not an overlay run
	}
	fail := func(err error) {
		os.WriteFile(filepath.Join(runDir, overlayFailure), []byte(err.Error()+"\n"), 0o600)
		os.Exit(1)
	}
	if err := unix.Chdir(runDir); err != nil {
		fail(err)
	}
	if err := unix.Mount("overlay", overlayRootfs, "overlay", unix.MS_NOSUID|unix.MS_NODEV, string(opts)); err != nil {
		fail(fmt.Errorf("mounting the overlay root: %w", err))
	}
	if err := unix.Chdir(cwd); err != nil {
		fail(err)
	}
}

// Capturer stores host trees in the CAS and reads and writes Directory
// messages: what capturing a writable root needs besides staging.
// *cas.LocalStore is one.
type Capturer interface {
	CaptureTree(ctx context.Context, hostPath string) (cas.Digest, error)
	ReadDirectory(ctx context.Context, d cas.Digest) (*repb.Directory, error)
	PutDirectory(ctx context.Context, dir *repb.Directory) (cas.Digest, error)
}

// rootCapture turns a writable root a command has left into a Directory.
type rootCapture struct {
	ctx   context.Context
	store Capturer
	lower cas.Digest
	mode  rootMode
	base  string // the upper layer, or the copy

	dirs      map[cas.Digest]*repb.Directory
	whiteouts map[string][]string // directory (relative, "" for the root) -> names deleted
	opaque    map[string]bool     // directories whose lower content is gone
}

// captureRoot returns the root of cfg as the command left it in base.
func (s *Sandbox) captureRoot(ctx context.Context, cfg *Config, mode rootMode, base string) (cas.Digest, error) {
	store, ok := s.stager.(Capturer)
	if !ok {
		return cas.Digest{}, errors.New("sandbox: the stager cannot store a writable root")
	}
	c := &rootCapture{ctx: ctx, store: store, lower: cfg.Root, mode: mode, base: base,
		dirs: map[cas.Digest]*repb.Directory{}, whiteouts: map[string][]string{}, opaque: map[string]bool{}}
	if err := c.dropMountPoints(cfg); err != nil {
		return cas.Digest{}, err
	}
	changed, err := c.scan()
	if err != nil {
		return cas.Digest{}, err
	}
	if mode == rootCopy {
		return store.CaptureTree(ctx, base)
	}
	if !changed {
		return c.lower, nil
	}
	upper, err := store.CaptureTree(ctx, base)
	if err != nil {
		return cas.Digest{}, err
	}
	return c.merge(c.lower, upper, "")
}

func (c *rootCapture) read(d cas.Digest) (*repb.Directory, error) {
	if dir, ok := c.dirs[d]; ok {
		return dir, nil
	}
	dir, err := c.store.ReadDirectory(c.ctx, d)
	if err != nil {
		return nil, err
	}
	c.dirs[d] = dir
	return dir, nil
}

// mountPoints are the sandbox paths the sandbox mounts something at, and
// so may have created in the root.
func mountPoints(cfg *Config) []string {
	ps := append([]string{"/dev", "/proc", "/tmp"}, cfg.destinations()...)
	if cfg.Cwd != "" {
		ps = append(ps, cfg.Cwd)
	}
	return ps
}

// dropMountPoints removes the directories (and empty files, for file
// mounts) that were created only to mount something on, or as the working
// directory: they are the sandbox's, not the command's. A directory the
// command put something in stays.
func (c *rootCapture) dropMountPoints(cfg *Config) error {
	for _, p := range mountPoints(cfg) {
		comps, n, err := c.resolve(p)
		if err != nil {
			return err
		}
		for i := len(comps); i > n; i-- {
			full := filepath.Join(c.base, filepath.Join(comps[:i]...))
			st, err := os.Lstat(full)
			if err != nil {
				break
			}
			empty := false
			switch {
			case st.IsDir():
				ents, err := os.ReadDir(full)
				empty = err == nil && len(ents) == 0 && !c.isOpaque(full)
			case i == len(comps) && st.Mode().IsRegular():
				empty = st.Size() == 0
			}
			if !empty || os.Remove(full) != nil {
				break
			}
		}
	}
	return nil
}

// resolve follows the sandbox path p through the lower tree as the kernel
// would inside (symlinks relative to the root, which ".." cannot leave),
// and returns the components of the path it reaches; the first n of them
// exist in the tree.
func (c *rootCapture) resolve(p string) (comps []string, n int, err error) {
	queue := strings.Split(p, "/")
	digests := []cas.Digest{c.lower} // of the directories at comps[:i], i <= n
	hops := 0
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			if len(comps) > 0 {
				comps = comps[:len(comps)-1]
				n = min(n, len(comps))
				digests = digests[:n+1]
			}
			continue
		}
		if n < len(comps) {
			comps = append(comps, name) // below something missing
			continue
		}
		dir, err := c.read(digests[n])
		if err != nil {
			return nil, 0, err
		}
		switch kind, d, target := lookup(dir, name); kind {
		case 'd':
			comps = append(comps, name)
			n++
			digests = append(digests, d)
		case 'l':
			if hops++; hops > 40 {
				return comps, n, nil // a loop: the mount fails the same way
			}
			if strings.HasPrefix(target, "/") {
				comps, n, digests = nil, 0, digests[:1]
			}
			queue = append(strings.Split(target, "/"), queue...)
		case 'f':
			comps = append(comps, name)
			n++
			return append(comps, queue...), n, nil
		default:
			comps = append(comps, name)
		}
	}
	return comps, n, nil
}

// lookup finds name in dir: 'f', 'd', 'l' or 0 when absent.
func lookup(dir *repb.Directory, name string) (byte, cas.Digest, string) {
	for _, f := range dir.Files {
		if f.Name == name {
			return 'f', cas.Digest{}, ""
		}
	}
	for _, sd := range dir.Directories {
		if sd.Name == name {
			d, _ := cas.DigestFromProto(sd.Digest)
			return 'd', d, ""
		}
	}
	for _, l := range dir.Symlinks {
		if l.Name == name {
			return 'l', cas.Digest{}, l.Target
		}
	}
	return 0, cas.Digest{}, ""
}

// Extended attributes of overlayfs with userxattr.
const (
	xattrOpaque   = "user.overlay.opaque"
	xattrRedirect = "user.overlay.redirect"
	xattrMetacopy = "user.overlay.metacopy"
)

func (c *rootCapture) isOpaque(p string) bool {
	if c.mode != rootOverlay {
		return false
	}
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(p, xattrOpaque, buf)
	return err == nil && n > 0 && (buf[0] == 'y' || buf[0] == 'x')
}

func hasXattr(p, name string) bool {
	_, err := unix.Lgetxattr(p, name, nil)
	return err == nil || errors.Is(err, unix.ERANGE)
}

// scan walks base: it records and removes the overlay's whiteouts, records
// its opaque directories, and makes every file and directory readable by
// the caller (a command running as root inside may have left them mode 0),
// so that it can be captured. It reports whether base holds anything.
func (c *rootCapture) scan() (bool, error) {
	changed := false
	err := filepath.WalkDir(c.base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(c.base, p)
		if rel == "." {
			return fixMode(p, d, 0o700)
		}
		changed = true
		switch t := d.Type(); {
		case t&fs.ModeCharDevice != 0 && c.mode == rootOverlay:
			st, err := os.Lstat(p)
			if err != nil {
				return err
			}
			if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Rdev == 0 {
				dir := filepath.Dir(rel)
				if dir == "." {
					dir = ""
				}
				c.whiteouts[dir] = append(c.whiteouts[dir], d.Name())
				return os.Remove(p)
			}
		case d.IsDir():
			if c.mode == rootOverlay {
				if hasXattr(p, xattrRedirect) {
					return fmt.Errorf("capturing the root: /%s is an overlay redirect", rel)
				}
				if c.isOpaque(p) {
					c.opaque[rel] = true
				}
			}
			return fixMode(p, d, 0o700)
		case t.IsRegular():
			if c.mode == rootOverlay && hasXattr(p, xattrMetacopy) {
				return fmt.Errorf("capturing the root: /%s is a metadata-only copy", rel)
			}
			return fixMode(p, d, 0o400)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("sandbox: capturing the root: %w", err)
	}
	return changed, nil
}

// fixMode adds the owner permission bits need to p when it lacks them.
func fixMode(p string, d fs.DirEntry, need fs.FileMode) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	if m := info.Mode().Perm(); m&need != need {
		return os.Chmod(p, m|need)
	}
	return nil
}

// merge applies the upper directory to the lower one (zero: none) at rel
// and stores the result.
func (c *rootCapture) merge(lower, upper cas.Digest, rel string) (cas.Digest, error) {
	if lower.IsZero() || c.opaque[rel] {
		return upper, nil
	}
	l, err := c.read(lower)
	if err != nil {
		return cas.Digest{}, err
	}
	u, err := c.read(upper)
	if err != nil {
		return cas.Digest{}, err
	}
	if len(u.Files)+len(u.Directories)+len(u.Symlinks) == 0 && len(c.whiteouts[rel]) == 0 {
		return lower, nil
	}
	gone := map[string]bool{}
	for _, n := range c.whiteouts[rel] {
		gone[n] = true
	}
	for _, f := range u.Files {
		gone[f.Name] = true
	}
	for _, s := range u.Symlinks {
		gone[s.Name] = true
	}
	lowerDirs := map[string]cas.Digest{}
	for _, sd := range l.Directories {
		if !gone[sd.Name] {
			lowerDirs[sd.Name], _ = cas.DigestFromProto(sd.Digest)
		}
	}
	for _, sd := range u.Directories {
		gone[sd.Name] = true
	}
	out := &repb.Directory{}
	for _, f := range l.Files {
		if !gone[f.Name] {
			out.Files = append(out.Files, f)
		}
	}
	for _, s := range l.Symlinks {
		if !gone[s.Name] {
			out.Symlinks = append(out.Symlinks, s)
		}
	}
	for _, sd := range l.Directories {
		if !gone[sd.Name] {
			out.Directories = append(out.Directories, sd)
		}
	}
	out.Files = append(out.Files, u.Files...)
	out.Symlinks = append(out.Symlinks, u.Symlinks...)
	for _, sd := range u.Directories {
		ud, err := cas.DigestFromProto(sd.Digest)
		if err != nil {
			return cas.Digest{}, err
		}
		md, err := c.merge(lowerDirs[sd.Name], ud, path.Join(rel, sd.Name))
		if err != nil {
			return cas.Digest{}, err
		}
		out.Directories = append(out.Directories, &repb.DirectoryNode{Name: sd.Name, Digest: md.Proto()})
	}
	slices.SortFunc(out.Files, func(a, b *repb.FileNode) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(out.Symlinks, func(a, b *repb.SymlinkNode) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(out.Directories, func(a, b *repb.DirectoryNode) int { return strings.Compare(a.Name, b.Name) })
	return c.store.PutDirectory(c.ctx, out)
}
