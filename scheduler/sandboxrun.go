package scheduler

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
)

// Run runs a batch of commands in the sandbox (element.Runner). With
// RootWritable the commands may change anything in the root, and the
// changed root is returned when they succeed.
func (b *build) Run(ctx context.Context, spec element.RunSpec) (element.RunResult, error) {
	if b.r.opts.RemoteExec.CanExecute() && len(spec.Commands) > 0 {
		return b.runRemote(ctx, spec)
	}
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
	work, err := b.workDir()
	if err != nil {
		return res, err
	}
	defer removeAll(work)
	cfg, hostDirs, err := b.sandboxConfig(ctx, work, spec)
	if err != nil {
		return res, err
	}
	if b.e.SandboxConfig.RemoteAPIsSocketPath != "" {
		stop, err := b.remoteAPIsSocket(&cfg)
		if err != nil {
			return res, err
		}
		defer stop()
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
	out, err := sb.Exec(ctx, cfg)
	if err != nil {
		return res, fmt.Errorf("%s: %w", b.e.Name, err)
	}
	var runErr error
	if out.ExitCode != 0 {
		runErr = &element.CommandError{Label: failedLabel(spec.Commands), ExitCode: out.ExitCode}
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
		res.Root = out.Root
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
	if err := cas.RemoveTree(p); err != nil {
		fmt.Fprintf(os.Stderr, "bst: could not remove %s: %v\n", p, err)
	}
}
