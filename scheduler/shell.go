package scheduler

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/plugins"
	"github.com/bstgo/bst/sandbox"
)

// ShellConfig is a project's `shell:` configuration.
type ShellConfig struct {
	// Command is run when bst shell is given none: [sh, -i] by default.
	Command []string
	// Environment is set in non-isolated shells, over the element's,
	// each value expanded from the host's environment.
	Environment []element.Variable
	// HostFiles are bind-mounted read-only into non-isolated shells.
	HostFiles []ShellMount
}

// ShellMount is a host file or directory mounted into a shell.
type ShellMount struct {
	// Path is where it appears in the sandbox; HostPath where it is on
	// the host.
	Path, HostPath string
	// Optional host files are skipped quietly when missing; the others
	// with a warning.
	Optional bool
	// ReadWrite mounts it writable (--mount); host files are read-only.
	ReadWrite bool
}

// ParseShellConfig reads the `shell:` mapping of a project's
// configuration (nil: the defaults). As BuildStream does, the environment
// values and the host files' paths are expanded from the host's
// environment ($NAME and ${NAME}; unknown names are left as they are).
func ParseShellConfig(shell *node.Node, getenv func(string) (string, bool)) (ShellConfig, error) {
	c := ShellConfig{Command: []string{"sh", "-i"}}
	if shell == nil {
		return c, nil
	}
	if err := shell.ValidateKeys("command", "environment", "host-files"); err != nil {
		return c, err
	}
	if cmd, err := shell.GetStringList("command"); err != nil {
		return c, err
	} else if cmd != nil {
		c.Command = cmd
	}
	env, err := shell.GetMapping("environment", true)
	if err != nil {
		return c, err
	}
	for _, k := range keys(env) {
		v, err := env.GetString(k, "")
		if err != nil {
			return c, err
		}
		c.Environment = append(c.Environment, element.Variable{Name: k, Value: ExpandVars(v, getenv)})
	}
	files, err := shell.GetSequence("host-files", true)
	if err != nil || files == nil {
		return c, err
	}
	for _, f := range files.Items() {
		var m ShellMount
		if f.IsMapping() {
			if err := f.ValidateKeys("path", "host_path", "optional"); err != nil {
				return c, err
			}
			if m.Path, err = f.RequireString("path"); err != nil {
				return c, err
			}
			if m.HostPath, err = f.GetString("host_path", ""); err != nil {
				return c, err
			}
			if m.Optional, err = f.GetBool("optional", false); err != nil {
				return c, err
			}
		} else if f.IsScalar() {
			m.Path = f.Value()
		} else {
			return c, node.Errorf(f.Prov(), node.InvalidData, "shell host-files must be paths or dictionaries")
		}
		m.Path = ExpandVars(m.Path, getenv)
		if m.HostPath == "" {
			m.HostPath = m.Path
		} else {
			m.HostPath = ExpandVars(m.HostPath, getenv)
		}
		c.HostFiles = append(c.HostFiles, m)
	}
	return c, nil
}

func keys(n *node.Node) []string {
	if n == nil {
		return nil
	}
	return n.Keys()
}

var varRef = regexp.MustCompile(`\$(\w+|\{[^}]*\})`)

// ExpandVars expands $NAME and ${NAME} from getenv as Python's
// os.path.expandvars does: names that are not set are left as written.
func ExpandVars(s string, getenv func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	return varRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := strings.TrimPrefix(ref, "$")
		if strings.HasPrefix(name, "{") {
			name = name[1 : len(name)-1]
		}
		if v, ok := getenv(name); ok {
			return v
		}
		return ref
	})
}

// ShellOptions say what a shell runs.
type ShellOptions struct {
	// Options give the artifact cache, the lookup, the sandbox and its
	// build directory, the log directory, events and fatal warnings.
	Options
	Element *element.Element
	// Build stages the element's build sandbox (bst shell --build); the
	// default is its run scope: the element and its runtime
	// dependencies, integrated.
	Build bool
	// Command is run instead of Config.Command.
	Command []string
	Config  ShellConfig
	// Mounts are --mount's, mounted read-write.
	Mounts []ShellMount
	// Isolate gives the shell a build's isolation: no network, no
	// shell environment or host files, no mounts.
	Isolate bool
	// Prompt is the shell's PS1.
	Prompt string
	// Stdin, Stdout and Stderr are the command's; Tty gives it a
	// pseudo-terminal over them.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Tty            bool
}

// MissingError lists the artifacts a shell needs that are not cached.
type MissingError struct {
	Target  *element.Element
	Missing []*element.Element
}

func (e *MissingError) Error() string {
	names := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		names[i] = "    " + m.FullName
	}
	return fmt.Sprintf("elements need to be built before staging a shell environment: build them with `bst build %s`\n\n%s",
		e.Target.FullName, strings.Join(names, "\n"))
}

// ShellNeeds are the elements whose artifacts a shell of e stages: its
// run scope (e and its runtime dependencies), or with build its build
// scope.
func ShellNeeds(e *element.Element, build bool) []*element.Element {
	if build {
		return element.Dependencies([]*element.Element{e}, element.ScopeBuild)
	}
	return element.Dependencies([]*element.Element{e}, element.ScopeRun)
}

// Shell stages o.Element's sandbox with the code its build uses — its
// run scope integrated, or with o.Build what its kind stages for its
// build, sources at %{build-root} — runs the command in it and returns the
// command's exit status. Every artifact it needs must be cached
// (*MissingError otherwise).
//
// The root is writable and thrown away when the command ends, as are the
// build directories. Unless o.Isolate, the shell shares the host's
// network, runs as the caller's ids when bst runs as root (rootless, the
// caller is uid 0 inside: no other id can be mapped), gets the project's
// shell environment, and the host files and mounts.
func Shell(ctx context.Context, o ShellOptions) (int, error) {
	e := o.Element
	var missing []*element.Element
	for _, d := range ShellNeeds(e, o.Build) {
		if o.Lookup.Status(d) != Cached {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		return -1, &MissingError{Target: e, Missing: missing}
	}
	b := newBuild(o.Options, e, "shell", io.Discard)
	logPath := ""
	if o.LogDir != "" {
		p, f, err := b.r.openLog(e, "shell", time.Now())
		if err != nil {
			return -1, err
		}
		defer f.Close()
		b.log, logPath = f, p
	}

	var spec element.RunSpec
	at := element.Command{Cwd: "/", Env: e.Environment}
	var err error
	if o.Build {
		spec, at, err = plugins.StageBuild(ctx, b)
	} else {
		spec.Root, err = plugins.StageRuntime(ctx, b, ShellNeeds(e, false), true)
	}
	if err != nil {
		if logPath != "" {
			err = fmt.Errorf("%w (log: %s)", err, logPath)
		}
		return -1, err
	}
	work, err := b.workDir()
	if err != nil {
		return -1, err
	}
	defer removeAll(work)
	cfg, _, err := b.sandboxConfig(ctx, work, spec)
	if err != nil {
		return -1, err
	}
	cfg.RootWritable = true
	cfg.Cwd = at.Cwd

	env := at.Env
	if o.Prompt != "" {
		env = setVariable(env, element.Variable{Name: "PS1", Value: o.Prompt})
	}
	if !o.Isolate {
		cfg.Network = true
		cfg.UID, cfg.GID = inheritedIDs()
		for _, v := range o.Config.Environment {
			env = setVariable(env, v)
		}
		mounts, err := b.shellMounts(append(append([]ShellMount(nil), o.Config.HostFiles...), o.Mounts...))
		if err != nil {
			return -1, err
		}
		cfg.Mounts = mounts
	} else if len(o.Mounts) > 0 {
		b.warnf("--mount is ignored with --isolate, as in BuildStream")
	}
	for _, v := range env {
		cfg.Env = append(cfg.Env, v.Name+"="+v.Value)
	}
	cfg.Args = o.Command
	if len(cfg.Args) == 0 {
		cfg.Args = o.Config.Command
	}
	cfg.Stdin, cfg.Stdout, cfg.Stderr, cfg.Tty = o.Stdin, o.Stdout, o.Stderr, o.Tty
	b.Status("Running command: %s", strings.Join(cfg.Args, " "))
	code, err := o.Sandbox.Run(ctx, cfg)
	if err != nil {
		return -1, fmt.Errorf("%s: %w", e.Name, err)
	}
	return code, nil
}

// shellMounts checks the host files and mounts: a missing one is skipped,
// with a warning unless it is optional, as BuildStream does.
func (b *build) shellMounts(ms []ShellMount) ([]sandbox.Mount, error) {
	var out []sandbox.Mount
	for _, m := range ms {
		host, err := filepath.Abs(m.HostPath)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(host); err != nil {
			if !m.Optional {
				b.warnf("Not mounting non-existing host file: %s", m.HostPath)
			}
			continue
		}
		dest := path.Clean("/" + m.Path)
		out = append(out, sandbox.Mount{Source: host, Destination: dest, ReadWrite: m.ReadWrite})
	}
	return out, nil
}

// warnf reports a warning that no project can make fatal.
func (b *build) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(b.log, "WARNING: %s\n", msg)
	b.r.emit(Event{Kind: Warning, Action: b.action, Element: b.e, Message: msg})
}

// inheritedIDs are the ids a non-isolated shell runs as: the caller's
// when bst runs as root; rootless, 0, the caller's ids mapped to root,
// since an unprivileged user can map no other (and libcontainer needs
// uid 0 inside to set the sandbox up).
func inheritedIDs() (uid, gid int) {
	if os.Geteuid() == 0 {
		return os.Geteuid(), os.Getegid()
	}
	return 0, 0
}

// setVariable sets v in env, replacing an earlier value in place.
func setVariable(env []element.Variable, v element.Variable) []element.Variable {
	out := make([]element.Variable, 0, len(env)+1)
	found := false
	for _, x := range env {
		if x.Name == v.Name {
			x, found = v, true
		}
		out = append(out, x)
	}
	if !found {
		out = append(out, v)
	}
	return out
}
