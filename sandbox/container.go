package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/opencontainers/cgroups"
	devices "github.com/opencontainers/cgroups/devices/config"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// run is one command's container.
type run struct {
	cfg *Config
	// rootfs is mounted as the root: the shared staged root (read-only),
	// or the mount point of an overlay or a private copy (writable).
	rootfs   string
	writable bool
	dir      string // the run's directory, for libcontainer's state
	id       string
}

// run runs the command in a new container whose root file system is
// rootfs. Mount points missing from it (/dev, /proc, /tmp, those of
// Writable and Mounts, the working directory) are created in it by
// libcontainer before it makes the root read-only; a shared staged root is
// the sandbox's own, never the store's objects, and keeps them for the
// next command on the same root.
func (r *run) run(ctx context.Context) (int, error) {
	lc, err := r.containerConfig()
	if err != nil {
		return -1, fmt.Errorf("sandbox: %w", err)
	}
	c, err := libcontainer.Create(filepath.Join(r.dir, "state"), r.id, lc)
	if err != nil {
		return -1, fmt.Errorf("sandbox: creating the container: %w", err)
	}
	defer c.Destroy()

	cwd := r.cfg.Cwd
	if cwd == "" {
		cwd = "/"
	}
	p := &libcontainer.Process{
		Args:   r.cfg.Args,
		Env:    r.cfg.Env,
		UID:    r.cfg.UID,
		GID:    r.cfg.GID,
		Cwd:    cwd,
		Stdin:  r.cfg.Stdin,
		Stdout: r.cfg.Stdout,
		Stderr: r.cfg.Stderr,
		Init:   true,
	}
	if debug {
		p.LogLevel = strconv.Itoa(int(logrus.DebugLevel))
	}
	if p.Env == nil {
		p.Env = []string{} // not the caller's
	}
	// A Stdin that is not a file is copied through a pipe of ours, not by
	// libcontainer's exec.Cmd, whose Wait would wait for the copy to end:
	// a command that exits without reading all its input (or an input that
	// never ends) must not keep Run waiting.
	// The copy starts once the container runs, so that a container that
	// fails to start has taken no input (the run may be retried).
	var stdinW *os.File
	if in := r.cfg.Stdin; in != nil && !r.cfg.Tty {
		if _, ok := in.(*os.File); !ok {
			pr, pw, err := os.Pipe()
			if err != nil {
				return -1, fmt.Errorf("sandbox: %w", err)
			}
			defer pr.Close()
			defer pw.Close()
			p.Stdin, stdinW = pr, pw
		}
	}
	var tty *ttyConn
	if r.cfg.Tty {
		tty, err = newTTY(p, r.cfg.Stdin, r.cfg.Stdout)
		if err != nil {
			return -1, fmt.Errorf("sandbox: terminal: %w", err)
		}
		defer tty.close()
	}

	// Kill the whole sandbox when ctx ends: SIGKILL to the pid
	// namespace's init kills every process in it.
	stop := context.AfterFunc(ctx, func() { c.Signal(unix.SIGKILL) })
	defer stop()

	// The sandbox's init has a parent-death signal (see MaybeInit), which
	// the kernel sends when the thread that started it exits. libcontainer
	// ends threads of its own (it locks goroutines to setns), so start and
	// wait on a thread of ours that lives as long as the sandbox.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	if err := c.Run(p); err != nil {
		if ctx.Err() != nil {
			return -1, fmt.Errorf("sandbox: %w", ctx.Err())
		}
		return -1, fmt.Errorf("sandbox: starting %q: %w", r.cfg.Args[0], err)
	}
	// A cancellation while the container was starting found no process
	// to kill: kill it now that there is one.
	if ctx.Err() != nil {
		c.Signal(unix.SIGKILL)
	}
	if tty != nil {
		if err := tty.start(); err != nil {
			c.Signal(unix.SIGKILL)
			p.Wait()
			return -1, fmt.Errorf("sandbox: terminal: %w", err)
		}
	}
	if stdinW != nil {
		p.Stdin.(*os.File).Close() // the sandbox has its own copy
		go func(in io.Reader) {
			io.Copy(stdinW, in)
			stdinW.Close()
		}(r.cfg.Stdin)
	}
	ps, err := p.Wait()
	if stdinW != nil {
		stdinW.Close() // unblocks a copy the command did not read
	}
	if tty != nil {
		tty.wait()
	}
	if ctx.Err() != nil {
		return -1, fmt.Errorf("sandbox: %w", ctx.Err())
	}
	if ps == nil {
		return -1, fmt.Errorf("sandbox: waiting for %q: %w", r.cfg.Args[0], err)
	}
	if err != nil && !isExitError(err) {
		return -1, fmt.Errorf("sandbox: waiting for %q: %w", r.cfg.Args[0], err)
	}
	return exitStatus(ps), nil
}

func isExitError(err error) bool {
	var e interface{ ExitCode() int }
	return errors.As(err, &e)
}

const (
	bindRO = unix.MS_BIND | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV
	bindRW = unix.MS_BIND | unix.MS_NOSUID | unix.MS_NODEV
)

// The devices of /dev, bind-mounted from the host's nodes (a rootless
// container cannot mknod).
var sandboxDevices = []*devices.Device{
	charDevice("/dev/null", 1, 3),
	charDevice("/dev/zero", 1, 5),
	charDevice("/dev/full", 1, 7),
	charDevice("/dev/random", 1, 8),
	charDevice("/dev/urandom", 1, 9),
	charDevice("/dev/tty", 5, 0),
}

func charDevice(path string, major, minor int64) *devices.Device {
	return &devices.Device{
		Rule:     devices.Rule{Type: devices.CharDevice, Major: major, Minor: minor, Permissions: "rwm", Allow: true},
		Path:     path,
		FileMode: 0o666,
	}
}

// The capabilities a command running as uid 0 has inside its user
// namespace (runc's default set). They give no power outside it.
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// containerConfig translates the Config into libcontainer's.
func (r *run) containerConfig() (*configs.Config, error) {
	cfg := r.cfg
	euid, egid := os.Geteuid(), os.Getegid()
	uids, gids := idMaps(euid, egid, cfg.UID, cfg.GID)

	ns := configs.Namespaces{
		{Type: configs.NEWUSER},
		{Type: configs.NEWNS},
		{Type: configs.NEWPID},
		{Type: configs.NEWIPC},
		{Type: configs.NEWUTS},
		{Type: configs.NEWCGROUP},
	}
	var networks []*configs.Network
	if !cfg.Network {
		ns = append(ns, configs.Namespace{Type: configs.NEWNET})
		networks = []*configs.Network{{Type: "loopback", Address: "127.0.0.1/0", Gateway: "localhost"}}
	}

	caps := &configs.Capabilities{Bounding: defaultCaps}
	if cfg.UID == 0 {
		caps.Effective, caps.Permitted = defaultCaps, defaultCaps
	}

	mounts := []*configs.Mount{
		{Source: "proc", Destination: "/proc", Device: "proc",
			Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{Source: "tmpfs", Destination: "/dev", Device: "tmpfs",
			Flags: unix.MS_NOSUID | unix.MS_STRICTATIME | unix.MS_RDONLY, Data: "mode=755,size=64k"},
		{Source: "shm", Destination: "/dev/shm", Device: "tmpfs",
			Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, Data: "mode=1777"},
		{Source: "tmpfs", Destination: "/tmp", Device: "tmpfs",
			Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=1777"},
	}
	if cfg.Tty {
		mounts = append(mounts, &configs.Mount{Source: "devpts", Destination: "/dev/pts", Device: "devpts",
			Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "newinstance,ptmxmode=0666,mode=0620"})
	}
	mounts = append(mounts, r.userMounts()...)

	return &configs.Config{
		Rootfs:          r.rootfs,
		Readonlyfs:      !r.writable,
		NoPivotRoot:     false,
		RootlessEUID:    euid != 0,
		RootlessCgroups: true,
		Hostname:        "localhost",
		Namespaces:      ns,
		UIDMappings:     uids,
		GIDMappings:     gids,
		Networks:        networks,
		Mounts:          mounts,
		Devices:         sandboxDevices,
		Capabilities:    caps,
		NoNewPrivileges: true,
		// libcontainer's first init stage dies with bst (MaybeInit does
		// the same for the last one).
		ParentDeathSignal: int(unix.SIGKILL),
		MaskPaths: []string{
			"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
			"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
			"/proc/timer_stats",
		},
		ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		// A cgroup is mandatory for libcontainer. Rootless, it cannot be
		// created and is ignored; as root, a child cgroup of bst's own is
		// made for each sandbox and removed with it.
		Cgroups: &cgroups.Cgroup{Name: r.id, Rootless: true, Resources: &cgroups.Resources{}},
	}, nil
}

// userMounts are the Writable and Mounts of the Config, parents before
// children.
func (r *run) userMounts() []*configs.Mount {
	type um struct {
		dest string
		m    *configs.Mount
	}
	var ms []um
	for _, w := range r.cfg.Writable {
		ms = append(ms, um{w.Path, &configs.Mount{Source: w.HostPath, Destination: w.Path, Device: "bind",
			Flags: bindRW | unix.MS_REC, RecAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}}})
	}
	for _, m := range r.cfg.Mounts {
		flags, attr := bindRO|unix.MS_REC, uint64(unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
		if m.ReadWrite {
			flags, attr = bindRW|unix.MS_REC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV
		}
		ms = append(ms, um{m.Destination, &configs.Mount{Source: m.Source, Destination: m.Destination, Device: "bind",
			Flags: flags, RecAttr: &unix.MountAttr{Attr_set: attr}}})
	}
	sort.SliceStable(ms, func(i, j int) bool {
		return strings.Count(ms[i].dest, "/") < strings.Count(ms[j].dest, "/")
	})
	out := make([]*configs.Mount, len(ms))
	for i := range ms {
		out[i] = ms[i].m
	}
	return out
}

// idMaps maps the calling user to 0 inside. As root, a non-zero uid or gid
// asked for is mapped to the same id on the host as well; without root
// only the caller's own ids can be mapped (checkIDs refuses the rest).
func idMaps(euid, egid, uid, gid int) (uids, gids []configs.IDMap) {
	uids = []configs.IDMap{{ContainerID: 0, HostID: int64(euid), Size: 1}}
	gids = []configs.IDMap{{ContainerID: 0, HostID: int64(egid), Size: 1}}
	if euid == 0 && uid != 0 {
		uids = append(uids, configs.IDMap{ContainerID: int64(uid), HostID: int64(uid), Size: 1})
	}
	if euid == 0 && gid != 0 {
		gids = append(gids, configs.IDMap{ContainerID: int64(gid), HostID: int64(gid), Size: 1})
	}
	return uids, gids
}
