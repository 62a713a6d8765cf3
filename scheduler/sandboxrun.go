package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/sandbox"
)

// Run runs a batch of commands in the sandbox (element.Runner).
func (b *build) Run(ctx context.Context, spec element.RunSpec) (element.RunResult, error) {
	res := element.RunResult{Dirs: make([]cas.Digest, len(spec.Dirs))}
	sb := b.r.opts.Sandbox
	if sb == nil {
		return res, fmt.Errorf("%s: no build sandbox is available", b.e.Name)
	}
	if len(spec.Commands) == 0 {
		res.Root = spec.Root
		return res, nil
	}
	store := b.Store()
	work, err := os.MkdirTemp(b.r.opts.BuildDir, cas.NormalName(b.e.Name)+"-")
	if err != nil {
		return res, fmt.Errorf("creating the build directory: %w", err)
	}
	defer removeAll(work)

	cfg := sandbox.Config{Root: spec.Root, Network: spec.Network}
	// A writable root is staged as writable copies of its top-level
	// directories; its top-level symlinks and files stay in a read-only
	// skeleton root.
	var rootDirs []string
	if spec.RootWritable {
		skeleton, dirs, err := splitRoot(ctx, store, spec.Root)
		if err != nil {
			return res, err
		}
		cfg.Root = skeleton
		for name, d := range dirs {
			host := filepath.Join(work, "root", name)
			if err := store.StageTree(ctx, d, host, cas.StageOptions{Copy: true}); err != nil {
				return res, err
			}
			cfg.Writable = append(cfg.Writable, sandbox.WritableDir{Path: "/" + name, HostPath: host})
			rootDirs = append(rootDirs, name)
		}
	}
	hostDirs := make([]string, len(spec.Dirs))
	for i, d := range spec.Dirs {
		host := filepath.Join(work, fmt.Sprintf("dir%d", i))
		if d.Initial.IsZero() {
			err = os.MkdirAll(host, 0o755)
		} else {
			err = store.StageTree(ctx, d.Initial, host, cas.StageOptions{Copy: true})
		}
		if err != nil {
			return res, fmt.Errorf("staging %s: %w", d.Path, err)
		}
		hostDirs[i] = host
		cfg.Writable = append(cfg.Writable, sandbox.WritableDir{Path: d.Path, HostPath: host})
	}

	first := spec.Commands[0]
	cfg.Cwd = first.Cwd
	for _, v := range first.Env {
		cfg.Env = append(cfg.Env, v.Name+"="+v.Value)
	}
	cfg.Args = []string{"sh", "-c", "-e", batchScript(spec.Commands)}
	cfg.Stdout, cfg.Stderr = b.log, b.log
	if spec.Label != "" {
		b.Status("%s", spec.Label)
	}
	for _, c := range spec.Commands {
		fmt.Fprintf(b.log, "Running command: %s\n", c.Label)
	}
	code, err := sb.Run(ctx, cfg)
	if err != nil {
		return res, fmt.Errorf("%s: %w", b.e.Name, err)
	}
	var runErr error
	if code != 0 {
		runErr = &element.CommandError{Label: failedLabel(spec.Commands), ExitCode: code}
	}
	for i, d := range spec.Dirs {
		if !d.Capture {
			continue
		}
		if res.Dirs[i], err = store.CaptureTree(ctx, hostDirs[i]); err != nil {
			return res, fmt.Errorf("collecting %s: %w", d.Path, err)
		}
	}
	if spec.RootWritable && runErr == nil {
		tree := store.LoadTree(cfg.Root)
		for _, name := range rootDirs {
			d, err := store.CaptureTree(ctx, filepath.Join(work, "root", name))
			if err != nil {
				return res, fmt.Errorf("collecting /%s: %w", name, err)
			}
			if _, err := tree.Import(ctx, d, "/"+name, nil); err != nil {
				return res, err
			}
		}
		if res.Root, err = tree.Digest(ctx); err != nil {
			return res, err
		}
	}
	return res, runErr
}

// failedLabel is what a failure is reported as: with one command, that
// command; otherwise the batch as a whole, whose log names the command.
func failedLabel(cmds []element.Command) string {
	if len(cmds) == 1 {
		return cmds[0].Label
	}
	return fmt.Sprintf("one of %d commands (see the log)", len(cmds))
}

// splitRoot separates a root's top-level directories, returned by name,
// from a skeleton holding its other top-level entries.
func splitRoot(ctx context.Context, s *cas.LocalStore, root cas.Digest) (cas.Digest, map[string]cas.Digest, error) {
	dir, err := s.ReadDirectory(ctx, root)
	if err != nil {
		return cas.Digest{}, nil, err
	}
	dirs := map[string]cas.Digest{}
	for _, sd := range dir.Directories {
		d, err := cas.DigestFromProto(sd.Digest)
		if err != nil {
			return cas.Digest{}, nil, err
		}
		dirs[sd.Name] = d
	}
	dir.Directories = nil
	skeleton, err := s.PutDirectory(ctx, dir)
	return skeleton, dirs, err
}

// batchScript joins commands into one script as BuildStream's batches do:
// each command in a subshell with `set -ex`, a message naming the command
// that failed, and cd, unset and export lines where a command's working
// directory or environment differs from the one before.
func batchScript(cmds []element.Command) string {
	var b strings.Builder
	var cwd string
	var env map[string]string
	for i, c := range cmds {
		cenv := make(map[string]string, len(c.Env))
		for _, v := range c.Env {
			cenv[v.Name] = v.Value
		}
		if i > 0 {
			if c.Cwd != cwd {
				fmt.Fprintf(&b, "mkdir -p %s\ncd %s\n", c.Cwd, c.Cwd)
			}
			for _, v := range sortedKeys(env) {
				if _, ok := cenv[v]; !ok {
					fmt.Fprintf(&b, "unset %s\n", v)
				}
			}
			for _, v := range c.Env {
				if old, ok := env[v.Name]; !ok || old != v.Value {
					fmt.Fprintf(&b, "export %s=%s\n", v.Name, shellQuote(v.Value))
				}
			}
		}
		cwd, env = c.Cwd, cenv
		quoted := make([]string, len(c.Args))
		for j, a := range c.Args {
			quoted[j] = shellQuote(a)
		}
		cmdline := strings.Join(quoted, " ")
		label := c.Label
		if label == "" {
			label = cmdline
		}
		fmt.Fprintf(&b, "(set -ex; %s) || (echo Command %s failed with exitcode $? >&2 ; exit 1)\n", cmdline, shellQuote("'"+label+"'"))
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

var shellSafe = regexp.MustCompile(`^[\w@%+=:,./-]+$`)

// shellQuote quotes s for sh as Python's shlex.quote does.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// removeAll removes a build directory, making read-only directories
// writable first so that nothing a build left behind stays.
func removeAll(p string) {
	if os.RemoveAll(p) == nil {
		return
	}
	filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(q, 0o755)
		}
		return nil
	})
	if err := os.RemoveAll(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "bst: could not remove %s: %v\n", p, err)
	}
}
