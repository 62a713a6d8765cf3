package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bstgo/bst/cas"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	must(t, os.WriteFile(file, nil, 0o644))
	root := cas.NewDigest([]byte("a Directory"))
	ok := func() Config {
		return Config{
			Root:     root,
			Args:     []string{"sh", "-c", "true"},
			Env:      []string{"PATH=/bin"},
			Cwd:      "/buildstream/p/e",
			Writable: []WritableDir{{Path: "/buildstream/p/e", HostPath: dir}},
			Mounts:   []Mount{{Source: file, Destination: "/etc/resolv.conf"}},
		}
	}
	if c := ok(); c.Validate() != nil {
		t.Fatalf("a valid config: %v", c.Validate())
	}
	cases := []struct {
		check string
		edit  func(*Config)
	}{
		{"args", func(c *Config) { c.Args = nil }},
		{"args", func(c *Config) { c.Args = []string{""} }},
		{"args", func(c *Config) { c.Args = []string{"a\x00b"} }},
		{"root", func(c *Config) { c.Root = cas.Digest{} }},
		{"cwd", func(c *Config) { c.Cwd = "relative" }},
		{"cwd", func(c *Config) { c.Cwd = "/a/../b" }},
		{"cwd", func(c *Config) { c.Cwd = "/a/" }},
		{"sandbox-paths", func(c *Config) { c.Writable[0].Path = "buildstream" }},
		{"sandbox-paths", func(c *Config) { c.Writable[0].Path = "/a/../../etc" }},
		{"sandbox-paths", func(c *Config) { c.Writable[0].Path = "/" }},
		{"sandbox-paths", func(c *Config) { c.Mounts[0].Destination = "/x//y" }},
		{"reserved-paths", func(c *Config) { c.Mounts[0].Destination = "/proc" }},
		{"reserved-paths", func(c *Config) { c.Mounts[0].Destination = "/proc/sys/kernel" }},
		{"reserved-paths", func(c *Config) { c.Writable[0].Path = "/dev" }},
		{"reserved-paths", func(c *Config) { c.Writable[0].Path = "/dev/shm" }},
		{"reserved-paths", func(c *Config) { c.Writable[0].Path = "/tmp" }},
		{"unique-destinations", func(c *Config) { c.Mounts[0].Destination = c.Writable[0].Path }},
		{"writable-dirs", func(c *Config) { c.Writable[0].HostPath = filepath.Join(dir, "missing") }},
		{"writable-dirs", func(c *Config) { c.Writable[0].HostPath = file }},
		{"writable-dirs", func(c *Config) { c.Writable[0].HostPath = "relative" }},
		{"writable-dirs", func(c *Config) { c.Writable[0].HostPath = dir + "/../x" }},
		{"mount-sources", func(c *Config) { c.Mounts[0].Source = filepath.Join(dir, "missing") }},
		{"mount-sources", func(c *Config) { c.Mounts[0].Source = "file" }},
		{"env", func(c *Config) { c.Env = []string{"NOEQUALS"} }},
		{"env", func(c *Config) { c.Env = []string{"=value"} }},
		{"env", func(c *Config) { c.Env = []string{"A=b\x00c"} }},
		{"ids", func(c *Config) { c.UID = -1 }},
	}
	if os.Geteuid() != 0 {
		cases = append(cases, struct {
			check string
			edit  func(*Config)
		}{"ids", func(c *Config) { c.UID = 1000 }})
	}
	for _, tc := range cases {
		c := ok()
		tc.edit(&c)
		err := c.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Check != tc.check {
			t.Errorf("%+v: got %v, want the %s check to fail", c, err, tc.check)
		}
	}
}

func TestValidateWritableDirOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a directory another user owns")
	}
	dir := t.TempDir()
	must(t, os.Chown(dir, 1234, 1234))
	c := Config{Root: cas.NewDigest(nil), Args: []string{"true"}, Writable: []WritableDir{{Path: "/w", HostPath: dir}}}
	var ce *ConfigError
	if err := c.Validate(); !errors.As(err, &ce) || ce.Check != "writable-dirs" {
		t.Errorf("a writable directory of another user: %v", err)
	}
	// As root, a build uid may own it.
	c.UID = 1234
	if err := c.Validate(); err != nil {
		t.Errorf("a writable directory of the build uid: %v", err)
	}
}
