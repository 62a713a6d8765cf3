package scheduler

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
)

// runRemote runs a batch as one REAPI Action on the remote execution
// service, as BuildStream's SandboxRemote does: the input root is the
// batch's root with each writable directory's initial content (or an
// empty directory) in place, and /dev, /proc, /tmp and the working
// directory created when missing (workers that chroot into the input
// root need them); the command is the same batch script a local build
// runs. With a read-only root, the captured writable directories are
// the action's output paths and what the action leaves in them becomes
// the result. With a writable root, the whole input root is the one
// output path (BuildStream asks for "/" then too) and the result's root
// is the changed root, from which the captured directories are taken;
// the directories created only for the action are left out of it again
// when they come back empty, as a local sandbox leaves out its mount
// points.
func (b *build) runRemote(ctx context.Context, spec element.RunSpec) (element.RunResult, error) {
	res := element.RunResult{Dirs: make([]cas.Digest, len(spec.Dirs))}
	store := b.Store()
	x := b.r.opts.RemoteExec
	cwd := path.Clean("/" + spec.Commands[0].Cwd)

	tree := store.LoadTree(spec.Root)
	empty, err := store.NewTree().Digest(ctx)
	if err != nil {
		return res, err
	}
	// Directories made for the action alone, deepest last.
	var created []string
	need := []string{"/dev", "/proc", "/tmp"}
	for p := cwd; p != "/"; p = path.Dir(p) {
		need = append(need, p)
	}
	slices.SortFunc(need, func(a, b string) int { return strings.Count(a, "/") - strings.Count(b, "/") })
	for _, p := range need {
		if _, err := tree.Subtree(ctx, p); err == nil {
			continue
		} else if !errors.Is(err, cas.ErrNotFound) {
			// A file in the way: the action will say so.
			continue
		}
		if _, err := tree.Import(ctx, empty, p, nil); err != nil {
			return res, fmt.Errorf("%s: staging %s: %w", b.e.Name, p, err)
		}
		created = append(created, p)
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
		if d.Capture && !spec.RootWritable {
			outputs = append(outputs, outputPath(cwd, d.Path))
		}
		created = slices.DeleteFunc(created, func(p string) bool { return p == path.Clean(d.Path) })
	}
	if spec.RootWritable {
		outputs = []string{outputPath(cwd, "/")}
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
	if spec.RootWritable {
		got, ok := out.Outputs[outputs[0]]
		if !ok {
			return res, fmt.Errorf("%s: action %s did not return the root", b.e.Name, out.ActionDigest)
		}
		slices.Reverse(created)
		for _, p := range created {
			if got, err = dropEmptyDir(ctx, store, got, strings.Split(strings.Trim(p, "/"), "/")); err != nil {
				return res, fmt.Errorf("%s: the root action %s returned: %w", b.e.Name, out.ActionDigest, err)
			}
		}
		result := store.LoadTree(got)
		for i, d := range spec.Dirs {
			if !d.Capture {
				continue
			}
			if res.Dirs[i], err = result.Subtree(ctx, d.Path); errors.Is(err, cas.ErrNotFound) {
				res.Dirs[i] = empty
			} else if err != nil {
				return res, fmt.Errorf("collecting %s: %w", d.Path, err)
			}
		}
		if runErr == nil {
			res.Root = got
		}
		return res, runErr
	}
	for i, d := range spec.Dirs {
		if !d.Capture {
			continue
		}
		got, ok := out.Outputs[outputPath(cwd, d.Path)]
		if !ok {
			// The action did not leave the directory: it is empty.
			got = empty
		}
		res.Dirs[i] = got
	}
	return res, runErr
}

// outputPath is an output path of an action running in cwd: relative to
// the working directory, as REAPI names output paths ("." for the
// working directory itself, as BuildStream's os.path.relpath gives).
func outputPath(cwd, p string) string {
	from := strings.Split(strings.Trim(path.Clean("/"+cwd), "/"), "/")
	to := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	if from[0] == "" {
		from = nil
	}
	if to[0] == "" {
		to = nil
	}
	n := 0
	for n < len(from) && n < len(to) && from[n] == to[n] {
		n++
	}
	var parts []string
	for range from[n:] {
		parts = append(parts, "..")
	}
	parts = append(parts, to[n:]...)
	if len(parts) == 0 {
		return "."
	}
	return strings.Join(parts, "/")
}

// dropEmptyDir removes the directory at comps under the Directory dir
// when it is there and empty, and returns the new Directory's digest.
func dropEmptyDir(ctx context.Context, store *cas.LocalStore, dir cas.Digest, comps []string) (cas.Digest, error) {
	d, err := store.ReadDirectory(ctx, dir)
	if err != nil {
		return cas.Digest{}, err
	}
	i := slices.IndexFunc(d.Directories, func(n *repb.DirectoryNode) bool { return n.Name == comps[0] })
	if i < 0 {
		return dir, nil
	}
	sub, err := cas.DigestFromProto(d.Directories[i].Digest)
	if err != nil {
		return cas.Digest{}, err
	}
	if len(comps) == 1 {
		if sub != cas.EmptyDigest {
			return dir, nil
		}
		d.Directories = slices.Delete(d.Directories, i, i+1)
	} else {
		nsub, err := dropEmptyDir(ctx, store, sub, comps[1:])
		if err != nil || nsub == sub {
			return dir, err
		}
		d.Directories[i].Digest = nsub.Proto()
	}
	return store.PutDirectory(ctx, d)
}

// relPath is a sandbox path relative to the input root, as REAPI names
// paths.
func relPath(p string) string { return strings.Trim(p, "/") }

// remoteCommand is the REAPI Command of a batch: the batch script run by
// sh in the first command's working directory and environment, the
// output paths (relative to that directory), and the platform the
// element's sandbox configuration asks for, with the properties
// BuildStream's remote sandbox sends: network=on only for a batch that
// asks for the network (builds never do; BuildStream only opens it for
// shells, which never run remotely), and the remote-apis-socket path
// relative to the root.
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
		// As BuildStream asks its workers: the worker provides the
		// socket.
		props = append(props, &repb.Platform_Property{Name: "remoteApisSocketPath", Value: relPath(sc.RemoteAPIsSocketPath)})
	}
	if spec.Network {
		props = append(props, &repb.Platform_Property{Name: "network", Value: "on"})
	}
	slices.SortFunc(props, func(a, b *repb.Platform_Property) int { return strings.Compare(a.Name, b.Name) })
	if len(props) > 0 {
		cmd.Platform = &repb.Platform{Properties: props}
	}
	return cmd
}
