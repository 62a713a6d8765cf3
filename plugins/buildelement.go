package plugins

import (
	"sort"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// commandSteps are a build element's command lists, in the order they run.
var commandSteps = []string{"configure-commands", "build-commands", "install-commands", "strip-commands"}

// buildElementKind is BuildStream's BuildElement: manual and the build
// system kinds, which differ only in their defaults.
type buildElementKind struct{ name string }

func (k buildElementKind) Name() string     { return k.name }
func (k buildElementKind) Defaults() string { return kindDefaults(k.name) }
func (k buildElementKind) Flags() element.Flags {
	return element.Flags{RunsCommands: true}
}

func (k buildElementKind) Configure(cfg *node.Node, vars element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys(commandSteps...); err != nil {
		return nil, err
	}
	c := &buildElementConfig{commands: map[string][]string{}}
	for _, step := range commandSteps {
		list, err := cfg.GetStringList(step)
		if err != nil {
			return nil, err
		}
		if list == nil {
			list = []string{}
		}
		c.commands[step] = list
	}
	c.commandSubdir, _ = vars.Get("command-subdir")
	// BuildStream tests the variable's string for truth: any non-empty
	// value, "false" included, means not parallel.
	np, _ := vars.Get("notparallel")
	c.notParallel = np != ""
	return c, nil
}

type buildElementConfig struct {
	commands      map[string][]string
	commandSubdir string
	notParallel   bool
	// location -> dependency paths, in dependency order
	layout     map[string][]string
	digestEnv  map[string][]string
	hasNonRoot bool
}

// Commands returns the commands of one step.
func (c *buildElementConfig) Commands(step string) []string { return c.commands[step] }

func (c *buildElementConfig) ConfigureDependencies(deps []element.DependencyConfig) error {
	c.layout = map[string][]string{}
	c.digestEnv = map[string][]string{}
	for _, d := range deps {
		location := "/"
		if d.Config != nil {
			if err := d.Config.ValidateKeys("digest-environment", "location"); err != nil {
				return err
			}
			var err error
			if location, err = d.Config.GetString("location", "/"); err != nil {
				return err
			}
			env, err := d.Config.GetScalar("digest-environment", true)
			if err != nil {
				return err
			}
			if env != nil {
				c.digestEnv[env.Value()] = append(c.digestEnv[env.Value()], d.Path)
			}
		}
		if location != "/" {
			c.hasNonRoot = true
		}
		c.layout[location] = append(c.layout[location], d.Path)
	}
	return nil
}

// UniqueKey is BuildElement.get_unique_key: the four command lists,
// command-subdir when set, notparallel when set, the layout when any
// dependency is staged elsewhere than /, and the digest environment under
// BuildStream's misspelt key "digest-enviornment".
func (c *buildElementConfig) UniqueKey() any {
	d := map[string]any{}
	for step, list := range c.commands {
		d[step] = list
	}
	if c.commandSubdir != "" {
		d["command-subdir"] = c.commandSubdir
	}
	if c.notParallel {
		d["notparallel"] = true
	}
	if c.hasNonRoot {
		d["layout"] = pathLists(c.layout)
	}
	if len(c.digestEnv) > 0 {
		d["digest-enviornment"] = pathLists(c.digestEnv)
	}
	return d
}

func pathLists(m map[string][]string) map[string]any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]any, len(m))
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}
