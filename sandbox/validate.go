package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/bstgo/bst/cas"
)

// A check is one named rule a Config must follow, in the manner of runc's
// libcontainer/configs/validate.
type check struct {
	name string
	fn   func(*Config) error
}

// checks are run in order; the first failure is reported.
var checks = []check{
	{"args", checkArgs},
	{"root", checkRoot},
	{"cwd", checkCwd},
	{"sandbox-paths", checkSandboxPaths},
	{"reserved-paths", checkReservedPaths},
	{"unique-destinations", checkUniqueDestinations},
	{"writable-dirs", checkWritableDirs},
	{"mount-sources", checkMountSources},
	{"env", checkEnv},
	{"ids", checkIDs},
}

// ConfigError is a Config that breaks the rule named by Check.
type ConfigError struct {
	Check string
	Err   error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("invalid sandbox config (%s): %v", e.Check, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Validate checks c against every rule and returns a *ConfigError for the
// first one it breaks. Some rules look at the host: the writable
// directories and mount sources must exist, and the ids must be mappable by
// the calling user.
func (c *Config) Validate() error {
	for _, ck := range checks {
		if err := ck.fn(c); err != nil {
			return &ConfigError{Check: ck.name, Err: err}
		}
	}
	return nil
}

func checkArgs(c *Config) error {
	if len(c.Args) == 0 || c.Args[0] == "" {
		return errors.New("no command")
	}
	for _, a := range c.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("argument %q holds a NUL byte", a)
		}
	}
	return nil
}

func checkRoot(c *Config) error {
	if c.Root == (cas.Digest{}) {
		return errors.New("no root directory digest")
	}
	return nil
}

func checkCwd(c *Config) error {
	if c.Cwd == "" {
		return nil
	}
	return sandboxPath(c.Cwd, true)
}

// sandboxPath checks that p is an absolute, clean path: no "..", no ".",
// no doubled or trailing slash. "/" itself only when root is true.
func sandboxPath(p string, root bool) error {
	switch {
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("path %q holds a NUL byte", p)
	case !filepath.IsAbs(p):
		return fmt.Errorf("path %q is not absolute", p)
	case filepath.Clean(p) != p:
		return fmt.Errorf("path %q is not clean (\"..\", \".\" or extra slashes)", p)
	case p == "/" && !root:
		return errors.New("cannot mount over the root directory")
	}
	return nil
}

// destinations lists every sandbox path something is mounted at.
func (c *Config) destinations() []string {
	var ds []string
	for _, w := range c.Writable {
		ds = append(ds, w.Path)
	}
	for _, m := range c.Mounts {
		ds = append(ds, m.Destination)
	}
	return ds
}

func checkSandboxPaths(c *Config) error {
	for _, d := range c.destinations() {
		if err := sandboxPath(d, false); err != nil {
			return err
		}
	}
	return nil
}

// The sandbox provides these itself.
var reservedPaths = []string{"/proc", "/dev"}

func checkReservedPaths(c *Config) error {
	for _, d := range c.destinations() {
		for _, r := range reservedPaths {
			if d == r || strings.HasPrefix(d, r+"/") {
				return fmt.Errorf("cannot mount at %s: %s belongs to the sandbox", d, r)
			}
		}
		if d == "/tmp" {
			return errors.New("cannot mount at /tmp: the sandbox gives a private /tmp")
		}
	}
	return nil
}

func checkUniqueDestinations(c *Config) error {
	seen := map[string]bool{}
	for _, d := range c.destinations() {
		if seen[d] {
			return fmt.Errorf("two mounts at %s", d)
		}
		seen[d] = true
	}
	return nil
}

func hostPath(p string) error {
	switch {
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("host path %q holds a NUL byte", p)
	case !filepath.IsAbs(p):
		return fmt.Errorf("host path %q is not absolute", p)
	case filepath.Clean(p) != p:
		return fmt.Errorf("host path %q is not clean", p)
	}
	return nil
}

func checkWritableDirs(c *Config) error {
	euid := os.Geteuid()
	for _, w := range c.Writable {
		if err := hostPath(w.HostPath); err != nil {
			return err
		}
		st, err := os.Lstat(w.HostPath)
		if err != nil {
			return fmt.Errorf("writable directory for %s: %w", w.Path, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("writable directory for %s: %s is not a directory", w.Path, w.HostPath)
		}
		// As root, a non-zero build uid (mapped to itself) may own it.
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != euid && (euid != 0 || int(sys.Uid) != c.UID) {
			return fmt.Errorf("writable directory for %s: %s belongs to uid %d, not to the calling user (%d)", w.Path, w.HostPath, sys.Uid, euid)
		}
	}
	return nil
}

func checkMountSources(c *Config) error {
	for _, m := range c.Mounts {
		if err := hostPath(m.Source); err != nil {
			return err
		}
		if _, err := os.Stat(m.Source); err != nil {
			return fmt.Errorf("mount at %s: %w", m.Destination, err)
		}
	}
	return nil
}

func checkEnv(c *Config) error {
	for _, e := range c.Env {
		name, _, ok := strings.Cut(e, "=")
		switch {
		case !ok:
			return fmt.Errorf("environment entry %q has no \"=\"", e)
		case name == "":
			return fmt.Errorf("environment entry %q has no name", e)
		case strings.IndexByte(e, 0) >= 0:
			return fmt.Errorf("environment entry %q holds a NUL byte", e)
		}
	}
	return nil
}

func checkIDs(c *Config) error {
	if c.UID < 0 || c.GID < 0 {
		return fmt.Errorf("negative uid or gid (%d/%d)", c.UID, c.GID)
	}
	if os.Geteuid() != 0 && (c.UID != 0 || c.GID != 0) {
		return fmt.Errorf("uid/gid %d/%d cannot be mapped: without root, only the calling user (uid %d) can be mapped, to 0/0 inside; use build-uid and build-gid 0, or run bst as root", c.UID, c.GID, os.Geteuid())
	}
	return nil
}
