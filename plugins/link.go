package plugins

import (
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// linkKind stands for another element; the loader replaces links by their
// targets.
type linkKind struct{}

func (linkKind) Name() string     { return "link" }
func (linkKind) Defaults() string { return kindDefaults("link") }
func (linkKind) Flags() element.Flags {
	return element.Flags{ForbidBuildDeps: true, ForbidRuntimeDeps: true, ForbidSources: true, NoArtifact: true}
}

func (linkKind) Configure(cfg *node.Node, _ element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys("target"); err != nil {
		return nil, err
	}
	t, err := cfg.RequireString("target")
	if err != nil {
		return nil, err
	}
	return linkConfig{Target: t}, nil
}

type linkConfig struct{ Target string }

func (linkConfig) UniqueKey() any { return 1 }
