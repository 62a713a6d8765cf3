package plugins

import (
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// importKind copies its sources into its artifact.
type importKind struct{}

func (importKind) Name() string     { return "import" }
func (importKind) Defaults() string { return kindDefaults("import") }
func (importKind) Flags() element.Flags {
	return element.Flags{RequiresSources: true}
}

func (importKind) Configure(cfg *node.Node, _ element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys("source", "target"); err != nil {
		return nil, err
	}
	src, err := cfg.RequireString("source")
	if err != nil {
		return nil, err
	}
	dst, err := cfg.RequireString("target")
	if err != nil {
		return nil, err
	}
	return importConfig{Source: src, Target: dst}, nil
}

type importConfig struct{ Source, Target string }

func (c importConfig) UniqueKey() any { return map[string]any{"source": c.Source, "target": c.Target} }
