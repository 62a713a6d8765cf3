package element

import "github.com/bstgo/bst/loader/node"

// Flags are the static properties of an element kind that the core needs to
// know (BuildStream's BST_* class attributes).
type Flags struct {
	// RunsCommands: the element runs commands in a sandbox, so its sandbox
	// configuration and environment enter its cache key.
	RunsCommands bool
	// StrictRebuild: rebuild whenever a dependency changes, even in
	// non-strict mode (compose, filter, script).
	StrictRebuild bool
	// ForbidRuntimeDeps, ForbidBuildDeps and ForbidSources make declaring
	// those an error.
	ForbidRuntimeDeps bool
	ForbidBuildDeps   bool
	ForbidSources     bool
	// RequiresSources makes an element without sources an error (import).
	RequiresSources bool
	// NoArtifact: the element produces nothing to cache (junction, link).
	NoArtifact bool
}

// Kind is an element kind: its defaults, its flags and how it validates
// its configuration.
type Kind interface {
	// Name is the kind as written in .bst files ("manual").
	Name() string
	// Defaults returns the kind's default YAML: variables, environment,
	// environment-nocache, config, public and sandbox. It is composited
	// over the project's defaults and under the project's per-kind
	// overrides and the element itself.
	Defaults() string
	Flags() Flags
	// Configure validates the element's configuration (composited and with
	// variables expanded) and returns what the kind keeps of it; vars are
	// the element's resolved variables.
	Configure(cfg *node.Node, vars Vars) (Config, error)
}

// Config is an element kind's validated configuration of one element.
type Config interface {
	// UniqueKey is the kind's contribution to the element's cache key: a
	// value made of maps (map[string]any or KeyDict), slices, strings,
	// ints and bools, hashed as JSON.
	UniqueKey() any
}

// KeyAppender is implemented by configurations that write their unique
// key's JSON themselves rather than build the value for every key computed.
// AppendUniqueKey must append exactly the encoding of UniqueKey().
type KeyAppender interface {
	AppendUniqueKey(b []byte) []byte
}

// KeyDict is a mapping in a unique key, written in the key's JSON as
// map[string]any is (keys sorted), for configurations that would
// otherwise build a map for every key computed. Names must be distinct.
type KeyDict []KeyItem

// KeyItem is one entry of a KeyDict.
type KeyItem struct {
	Name  string
	Value any
}

// DependencyConfigurer is implemented by the configuration of kinds that
// accept `config:` on their dependencies (BuildStream's
// configure_dependencies). For other kinds such configuration is an error.
type DependencyConfigurer interface {
	// ConfigureDependencies is given every direct build dependency, in
	// order: once per `config:` block it was given (variables expanded),
	// or once with a nil Config when it has none. The slice is only valid
	// during the call: keep copies of what is needed.
	ConfigureDependencies(deps []DependencyConfig) error
}

// DependencyConfig is one build dependency with one of its `config:`
// blocks.
type DependencyConfig struct {
	Element *Element
	// Path is the name the dependency was declared with.
	Path   string
	Config *node.Node
}

// Validator is implemented by kinds that check the shape of the element
// graph around them once it is loaded (a stack's dependencies must be both
// build and runtime, a filter has exactly one build dependency, ...).
type Validator interface {
	Validate(e *Element) error
}
