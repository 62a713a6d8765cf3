package element

import (
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/source"
)

// DepType says in which scopes a dependency counts.
type DepType uint8

// Dependency types; DepAll is both.
const (
	DepBuild   DepType = 1 << iota // needed to build the element
	DepRuntime                     // needed to run the element
	DepAll     = DepBuild | DepRuntime
)

func (t DepType) String() string {
	switch t {
	case DepBuild:
		return "build"
	case DepRuntime:
		return "runtime"
	case DepAll:
		return "all"
	}
	return "none"
}

// Dependency is one edge of the graph, after duplicates were merged.
type Dependency struct {
	Element *Element
	Type    DepType
	// Strict: the dependency is declared `strict: true`, so a change to it
	// always rebuilds the depending element.
	Strict bool
	// Config holds the `config:` blocks given to this dependency, in order.
	Config []*node.Node
	// Prov is where the dependency was first declared.
	Prov node.Provenance
}

// Variable is one resolved variable, in declaration order.
type Variable struct {
	Name, Value string
}

// Source is one source of an element: its kind, where it is staged and its
// configured plugin.
type Source struct {
	Kind      string
	Directory string
	Node      *node.Node // the composited and expanded source entry
	Plugin    source.Source
}

// Element is a loaded element. The graph of elements is immutable once the
// loader returns it.
type Element struct {
	// Name is the element's path relative to the element path
	// ("base/alpine.bst"); FullName adds junction prefixes
	// ("freedesktop.bst:base/alpine.bst").
	Name     string
	FullName string
	Project  string // the name of the project declaring the element
	Kind     string
	Prov     node.Provenance // the top of the .bst file

	Description string
	// Variables are the element's resolved variables.
	Variables   Vars
	Environment []Variable // in composition order
	EnvNoCache  []string
	Config      *node.Node
	Public      *node.Node
	Sandbox     *node.Node
	Sources     []*Source

	// Plugin is the kind and KindConfig what it made of Config.
	Plugin     Kind
	KindConfig Config

	// SandboxConfig is the parsed sandbox configuration.
	SandboxConfig SandboxConfig

	// Deps are the direct dependencies in BuildStream's sorted order.
	Deps []*Dependency

	// Keys are the element's cache keys, set by ComputeKeys.
	Keys Keys
	// keySlot is the element's place in the graph ComputeKeys works on.
	keySlot keySlot

	splitsState
}

// Vars is a set of resolved variables.
type Vars interface {
	Get(name string) (string, bool)
	// Names lists the variables in declaration order.
	Names() []string
}
