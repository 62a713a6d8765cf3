package plugins

import (
	"strconv"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// stackKind groups its dependencies.
type stackKind struct{}

func (stackKind) Name() string     { return "stack" }
func (stackKind) Defaults() string { return kindDefaults("stack") }

// Flags: BuildStream's stack declares no artifact (BST_ELEMENT_HAS_ARTIFACT
// is false), so a filter cannot take one.
func (stackKind) Flags() element.Flags {
	return element.Flags{ForbidSources: true, NoArtifact: true}
}

// Configure accepts any configuration, as BuildStream's stack does.
func (stackKind) Configure(*node.Node, element.Vars) (element.Config, error) {
	return stackConfig{}, nil
}

type stackConfig struct{}

// UniqueKey is the integer 1.
func (stackConfig) UniqueKey() any { return 1 }

// Validate requires every dependency to be both build and runtime.
func (stackKind) Validate(e *element.Element) error {
	for _, d := range e.Deps {
		if d.Type != element.DepAll {
			return &node.Error{Prov: d.Prov, Reason: node.ElementConfigurationInvalid,
				Msg:    e.Name + ": all dependencies of 'stack' elements must be both build and runtime dependencies",
				Detail: "Declare every dependency in the `depends` list, without a `type`."}
		}
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }
