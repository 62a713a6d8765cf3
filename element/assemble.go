package element

import (
	"context"
	"fmt"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader/node"
)

// Assembler is implemented by the configuration of kinds that build
// artifacts: Assemble makes the element's output from what b gives.
type Assembler interface {
	Assemble(ctx context.Context, b Build) (Output, error)
}

// Output is what an Assembler made.
type Output struct {
	// Files is the Directory of the artifact's files.
	Files cas.Digest
	// Public replaces the element's public data in the artifact when not
	// nil (a filter passing its dependency's integration commands on).
	Public *node.Node
}

// SplitSelection chooses files of an artifact by split domain, as staging
// with include, exclude and orphans does in BuildStream.
type SplitSelection struct {
	Include, Exclude []string
	// Orphans keeps the files no domain claims.
	Orphans bool
}

// AllFiles selects every file.
var AllFiles = SplitSelection{Orphans: true}

// Build is what an element kind's Assemble works with: the element, the
// store, its dependencies' artifacts and its sources.
type Build interface {
	Element() *Element
	Store() *cas.LocalStore
	// Files returns the Directory of a dependency's artifact files.
	Files(dep *Element) cas.Digest
	// Sources stages the element's sources, each at its directory, and
	// returns the Directory holding them.
	Sources(ctx context.Context) (cas.Digest, error)
	// StageArtifacts imports the artifacts of deps, in order, into tree at
	// path, keeping what sel selects by each one's split rules. Overlaps
	// are reported as the `overlaps` warning.
	StageArtifacts(ctx context.Context, tree *cas.Tree, deps []*Element, path string, sel SplitSelection) error
	// Status logs a message about the build.
	Status(format string, args ...any)
}

// Command is one command of a sandbox batch.
type Command struct {
	// Args is the command line, usually ["sh", "-c", "-e", script].
	Args []string
	// Cwd is the working directory inside the sandbox.
	Cwd string
	// Env is the command's whole environment, in order.
	Env []Variable
	// Label names the command in logs and errors (the command itself for
	// element commands).
	Label string
}

// RunSpec is a batch of commands run one after the other in one sandbox,
// as BuildStream runs a batch: one shell script, stopping at the first
// command that fails.
type RunSpec struct {
	// Label names the batch in the log ("Running commands").
	Label string
	// Root is the Directory mounted as the sandbox's root, read-only
	// unless RootWritable, in which case the changed root is returned.
	Root         Digest
	RootWritable bool
	// Dirs are the writable directories, such as %{build-root} and
	// %{install-root}.
	Dirs     []WritableDir
	Commands []Command
	// Network lets the commands reach the network.
	Network bool
}

// Digest is cas.Digest, named here so that kinds need not import cas for
// RunSpec alone.
type Digest = cas.Digest

// WritableDir is a writable directory of a RunSpec.
type WritableDir struct {
	// Path is where it is in the sandbox.
	Path string
	// Initial is what it holds at first; the zero Digest for an empty
	// directory.
	Initial Digest
	// Capture returns what it holds afterwards in RunResult.Dirs.
	Capture bool
}

// RunResult is what a batch left.
type RunResult struct {
	// Root is the root after the batch, when RootWritable.
	Root Digest
	// Dirs holds, for each RunSpec.Dirs entry with Capture, its content
	// afterwards (the zero Digest for the others).
	Dirs []Digest
}

// CommandError is a command of a batch that failed.
type CommandError struct {
	Label    string
	ExitCode int
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("command failed with exit code %d: %s", e.ExitCode, e.Label)
}

// Runner is implemented by a Build that can run commands in a sandbox.
type Runner interface {
	// Run runs the batch. A failing command gives a *CommandError, along
	// with whatever the batch left (for caching the build tree of a failed
	// build).
	Run(ctx context.Context, spec RunSpec) (RunResult, error)
}
