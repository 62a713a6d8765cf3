package source

import "github.com/bstgo/bst/loader/node"

// Context is what a source kind may know of the project while configuring.
type Context interface {
	// ProjectDir is the absolute directory of the project that declares
	// the source.
	ProjectDir() string
	// ProjectPath validates a project-relative path written at n: it must
	// exist and stay inside the project. It returns the cleaned relative
	// path.
	ProjectPath(n *node.Node) (string, error)
	// TranslateURL expands a URL alias ("gnome:foo.tar") into a full URL,
	// failing for undefined aliases.
	TranslateURL(url string, p node.Provenance) (string, error)
}

// Kind is a source kind.
type Kind interface {
	// Name is the kind as written in .bst files ("tar").
	Name() string
	// ConfigKeys are the keys the kind accepts in a source entry, besides
	// the common ones (kind, directory, provenance).
	ConfigKeys() []string
	// Configure validates one source entry (defaults from project.conf's
	// `sources:` already composited under it, variables expanded).
	Configure(ctx Context, cfg *node.Node) (Source, error)
}

// Source is one configured source of an element.
type Source interface {
	// Ref reports whether the source has what it needs to be fetched
	// reproducibly (a ref, a checksum); sources without one give the
	// element the "no reference" state.
	Resolved() bool
	// UniqueKey is the source's contribution to cache keys, a JSON-able
	// value, valid only when Resolved.
	UniqueKey() any
}

// KeyLoader is implemented by sources whose unique key needs reading
// files (local sources hash their content). LoadKey is called before keys
// are computed, and its error stops the command.
type KeyLoader interface {
	LoadKey() error
}
