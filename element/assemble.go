package element

import (
	"context"

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
