package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
)

// runRemote runs a batch as one REAPI Action on the remote execution
// service, as BuildStream's SandboxRemote does: the input root is the
// batch's root with each writable directory's initial content (or an
// empty directory) in place; the command is the same batch script a local
// build runs; the captured writable directories are the action's output
// paths, and what the action leaves in them becomes the result, as a
// local build's captured directories do.
func (b *build) runRemote(ctx context.Context, spec element.RunSpec) (element.RunResult, error) {
	res := element.RunResult{Dirs: make([]cas.Digest, len(spec.Dirs))}
	store := b.Store()
	x := b.r.opts.RemoteExec

	tree := store.LoadTree(spec.Root)
	empty, err := store.NewTree().Digest(ctx)
	if err != nil {
		return res, err
	}
	var outputs []string
	for _, d := range spec.Dirs {
		initial := d.Initial
		if initial.IsZero() {
			initial = empty
		}
		if _, err := tree.Import(ctx, initial, d.Path, nil); err != nil {
			return res, fmt.Errorf("%s: staging %s: %w", b.e.Name, d.Path, err)
		}
		if d.Capture {
			outputs = append(outputs, relPath(d.Path))
		}
	}
	root, err := tree.Digest(ctx)
	if err != nil {
		return res, fmt.Errorf("%s: staging the input root: %w", b.e.Name, err)
	}
	cmd := remoteCommand(b.e, spec, outputs)

	if spec.Label != "" {
		b.Status("%s", spec.Label)
	}
	for _, c := range spec.Commands {
		fmt.Fprintf(b.log, "Running command: %s\n", c.Label)
	}
	out, err := x.Execute(ctx, store, cas.ExecRequest{InputRoot: root, Command: cmd})
	if err != nil {
		var ee *cas.ExecError
		if errors.As(err, &ee) {
			fmt.Fprintf(b.log, "%v\n", err)
		}
		return res, fmt.Errorf("%s: %w", b.e.Name, err)
	}
	how := "executed remotely"
	if out.Cached {
		how = "found in the remote action cache"
	}
	fmt.Fprintf(b.log, "Action %s %s\n", out.ActionDigest, how)
	b.log.Write(out.Stdout)
	b.log.Write(out.Stderr)
	var runErr error
	if out.ExitCode != 0 {
		runErr = &element.CommandError{Label: failedLabel(spec.Commands), ExitCode: out.ExitCode}
	}
	for i, d := range spec.Dirs {
		if !d.Capture {
			continue
		}
		got, ok := out.Outputs[relPath(d.Path)]
		if !ok {
			// The action did not leave the directory: it is empty.
			got = empty
		}
		res.Dirs[i] = got
	}
	return res, runErr
}

// relPath is a sandbox path relative to the input root, as REAPI names
// paths.
func relPath(p string) string { return strings.Trim(p, "/") }

// remoteCommand is the REAPI Command of a batch: the batch script run by
// sh in the first command's working directory and environment, the
// captured directories as outputs, and the platform the element's
// sandbox configuration asks for. The network is off: REAPI workers give
// actions none unless a platform property asks for it, which builds never
// do.
func remoteCommand(e *element.Element, spec element.RunSpec, outputs []string) *repb.Command {
	first := spec.Commands[0]
	cmd := &repb.Command{
		Arguments:             []string{"sh", "-c", "-e", batchScript(spec.Commands)},
		WorkingDirectory:      relPath(first.Cwd),
		OutputDirectoryFormat: repb.Command_DIRECTORY_ONLY,
	}
	for _, v := range first.Env {
		cmd.EnvironmentVariables = append(cmd.EnvironmentVariables, &repb.Command_EnvironmentVariable{Name: v.Name, Value: v.Value})
	}
	outputs = slices.Clone(outputs)
	slices.Sort(outputs)
	cmd.OutputPaths = outputs
	// Servers older than REAPI 2.1 read output_directories instead.
	cmd.OutputDirectories = outputs
	var props []*repb.Platform_Property
	sc := e.SandboxConfig
	if sc.BuildOS != "" {
		props = append(props, &repb.Platform_Property{Name: "OSFamily", Value: sc.BuildOS})
	}
	if sc.BuildArch != "" {
		props = append(props, &repb.Platform_Property{Name: "ISA", Value: sc.BuildArch})
	}
	if sc.BuildUID != nil {
		props = append(props, &repb.Platform_Property{Name: "unixUID", Value: fmt.Sprint(*sc.BuildUID)})
	}
	if sc.BuildGID != nil {
		props = append(props, &repb.Platform_Property{Name: "unixGID", Value: fmt.Sprint(*sc.BuildGID)})
	}
	if sc.RemoteAPIsSocketPath != "" {
		// As BuildStream asks buildbox-run: the worker provides the
		// socket (local builds do not yet, see docs/remote-execution.md).
		props = append(props, &repb.Platform_Property{Name: "remoteApisSocketPath", Value: sc.RemoteAPIsSocketPath})
	}
	slices.SortFunc(props, func(a, b *repb.Platform_Property) int { return strings.Compare(a.Name, b.Name) })
	if len(props) > 0 {
		cmd.Platform = &repb.Platform{Properties: props}
	}
	return cmd
}
