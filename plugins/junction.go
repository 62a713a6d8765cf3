package plugins

import (
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// junctionKind opens a subproject. The loader reads the configuration
// (loader/junction.go: path, options, overrides, aliases, map-aliases)
// and opens the subproject; the kind only validates it. Junctions build
// nothing.
type junctionKind struct{}

func (junctionKind) Name() string     { return "junction" }
func (junctionKind) Defaults() string { return kindDefaults("junction") }
func (junctionKind) Flags() element.Flags {
	return element.Flags{ForbidBuildDeps: true, ForbidRuntimeDeps: true, NoArtifact: true}
}

func (junctionKind) Configure(cfg *node.Node, _ element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys("path", "options", "overrides", "aliases", "map-aliases"); err != nil {
		return nil, err
	}
	var c junctionConfig
	var err error
	if c.Path, err = cfg.GetString("path", ""); err != nil {
		return nil, err
	}
	for _, key := range []string{"options", "overrides", "aliases"} {
		if _, err := cfg.GetMapping(key, true); err != nil {
			return nil, err
		}
	}
	if ov := cfg.Get("overrides"); ov != nil {
		for i, k := range ov.Keys() {
			v := ov.Items()[i]
			if !v.IsScalar() {
				return nil, node.Errorf(v.Prov(), node.InvalidData, "value of 'overrides.%s' is not of the expected type 'str'", k)
			}
		}
	}
	ma, err := cfg.GetString("map-aliases", "none")
	if err != nil {
		return nil, err
	}
	if ma != "none" && ma != "identity" {
		return nil, node.Errorf(cfg.KeyProv("map-aliases"), node.InvalidData,
			"value of 'map-aliases' should be one of: none, identity")
	}
	return c, nil
}

type junctionConfig struct{ Path string }

func (junctionConfig) UniqueKey() any { return 1 }
