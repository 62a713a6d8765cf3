package plugins

import (
	"sort"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// commandSteps are a build element's command lists, in the order they run.
var commandSteps = [...]string{"configure-commands", "build-commands", "install-commands", "strip-commands"}

// buildElementKind is BuildStream's BuildElement: manual and the build
// system kinds, which differ only in their defaults.
type buildElementKind struct{ name string }

func (k buildElementKind) Name() string     { return k.name }
func (k buildElementKind) Defaults() string { return kindDefaults(k.name) }
func (k buildElementKind) Flags() element.Flags {
	return element.Flags{RunsCommands: true}
}

func (k buildElementKind) Configure(cfg *node.Node, vars element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys(commandSteps[:]...); err != nil {
		return nil, err
	}
	c := &buildElementConfig{}
	for i, step := range commandSteps {
		list, err := cfg.GetStringList(step)
		if err != nil {
			return nil, err
		}
		if list == nil {
			list = []string{}
		}
		c.commands[i] = list
	}
	c.commandSubdir, _ = vars.Get("command-subdir")
	// BuildStream tests the variable's string for truth: any non-empty
	// value, "false" included, means not parallel.
	np, _ := vars.Get("notparallel")
	c.notParallel = np != ""
	return c, nil
}

type buildElementConfig struct {
	commands      [len(commandSteps)][]string // in the order of commandSteps
	commandSubdir string
	notParallel   bool
	// staged are the build dependencies' paths and locations, in
	// dependency order.
	staged     []stagedDep
	digestEnv  map[string][]string // variable -> dependency paths
	hasNonRoot bool
}

// stagedDep is where one build dependency is staged.
type stagedDep struct {
	location, path string
}

// Commands returns the commands of one step.
func (c *buildElementConfig) Commands(step string) []string {
	for i, s := range commandSteps {
		if s == step {
			return c.commands[i]
		}
	}
	return nil
}

func (c *buildElementConfig) ConfigureDependencies(deps []element.DependencyConfig) error {
	c.staged = nil
	for i, d := range deps {
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
				if c.digestEnv == nil {
					c.digestEnv = map[string][]string{}
				}
				c.digestEnv[env.Value()] = append(c.digestEnv[env.Value()], d.Path)
			}
		}
		// The layout is only kept (for the key) when some dependency
		// is staged elsewhere than at the root: most elements need none.
		if location != "/" && !c.hasNonRoot {
			c.hasNonRoot = true
			c.staged = make([]stagedDep, 0, len(deps))
			for _, p := range deps[:i] {
				c.staged = append(c.staged, stagedDep{"/", p.Path})
			}
		}
		if c.hasNonRoot {
			c.staged = append(c.staged, stagedDep{location, d.Path})
		}
	}
	return nil
}

// UniqueKey is BuildElement.get_unique_key: the four command lists,
// command-subdir when set, notparallel when set, the layout when any
// dependency is staged elsewhere than /, and the digest environment under
// BuildStream's misspelt key "digest-enviornment".
func (c *buildElementConfig) UniqueKey() any {
	d := make(element.KeyDict, 0, len(commandSteps)+4)
	for i, step := range commandSteps {
		d = append(d, element.KeyItem{Name: step, Value: c.commands[i]})
	}
	if c.commandSubdir != "" {
		d = append(d, element.KeyItem{Name: "command-subdir", Value: c.commandSubdir})
	}
	if c.notParallel {
		d = append(d, element.KeyItem{Name: "notparallel", Value: true})
	}
	if c.hasNonRoot {
		layout := map[string][]string{}
		for _, s := range c.staged {
			layout[s.location] = append(layout[s.location], s.path)
		}
		d = append(d, element.KeyItem{Name: "layout", Value: pathLists(layout)})
	}
	if len(c.digestEnv) > 0 {
		d = append(d, element.KeyItem{Name: "digest-enviornment", Value: pathLists(c.digestEnv)})
	}
	return d
}

// AppendUniqueKey writes UniqueKey's JSON without building it, for the
// configurations without a layout or digest environment (nearly all).
func (c *buildElementConfig) AppendUniqueKey(b []byte) []byte {
	if c.hasNonRoot || len(c.digestEnv) > 0 {
		return element.AppendKeyJSON(b, c.UniqueKey())
	}
	// The entries in the order of their names, as a key's JSON sorts them.
	b = append(b, `{"build-commands":`...)
	b = element.AppendKeyStrings(b, c.commands[1])
	if c.commandSubdir != "" {
		b = append(b, `,"command-subdir":`...)
		b = element.AppendKeyString(b, c.commandSubdir)
	}
	b = append(b, `,"configure-commands":`...)
	b = element.AppendKeyStrings(b, c.commands[0])
	b = append(b, `,"install-commands":`...)
	b = element.AppendKeyStrings(b, c.commands[2])
	if c.notParallel {
		b = append(b, `,"notparallel":true`...)
	}
	b = append(b, `,"strip-commands":`...)
	b = element.AppendKeyStrings(b, c.commands[3])
	return append(b, '}')
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
