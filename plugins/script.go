package plugins

import (
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// scriptKind runs commands over its staged build dependencies.
type scriptKind struct{}

func (scriptKind) Name() string     { return "script" }
func (scriptKind) Defaults() string { return kindDefaults("script") }
func (scriptKind) Flags() element.Flags {
	return element.Flags{RunsCommands: true, StrictRebuild: true, ForbidRuntimeDeps: true, ForbidSources: true}
}

func (scriptKind) Configure(cfg *node.Node, vars element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys("commands", "root-read-only"); err != nil {
		return nil, err
	}
	cmds, err := cfg.GetStringList("commands")
	if err != nil {
		return nil, err
	}
	if cmds == nil {
		cmds = []string{}
	}
	ro, err := cfg.GetBool("root-read-only", false)
	if err != nil {
		return nil, err
	}
	c := &scriptConfig{commands: cmds, rootReadOnly: ro, layout: map[string][]string{}}
	if c.cwd, _ = vars.Get("cwd"); c.cwd == "" {
		c.cwd = "/"
	}
	if c.installRoot, _ = vars.Get("install-root"); c.installRoot == "" {
		c.installRoot = "/"
	}
	return c, nil
}

type scriptConfig struct {
	commands     []string
	cwd          string
	installRoot  string
	rootReadOnly bool
	layout       map[string][]string
}

func (c *scriptConfig) ConfigureDependencies(deps []element.DependencyConfig) error {
	for _, d := range deps {
		location := "/"
		if d.Config != nil {
			if err := d.Config.ValidateKeys("location"); err != nil {
				return err
			}
			var err error
			if location, err = d.Config.GetString("location", "/"); err != nil {
				return err
			}
		}
		c.layout[location] = append(c.layout[location], d.Path)
	}
	return nil
}

// UniqueKey is ScriptElement.get_unique_key; unlike build elements the
// layout is always present.
func (c *scriptConfig) UniqueKey() any {
	return map[string]any{
		"commands":       map[string]any{"commands": c.commands},
		"cwd":            c.cwd,
		"install-root":   c.installRoot,
		"layout":         pathLists(c.layout),
		"root-read-only": c.rootReadOnly,
	}
}
