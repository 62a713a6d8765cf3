package plugins

import (
	"sort"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// composeKind assembles the artifacts of its build dependencies, filtered
// by split domain.
type composeKind struct{}

func (composeKind) Name() string     { return "compose" }
func (composeKind) Defaults() string { return kindDefaults("compose") }
func (composeKind) Flags() element.Flags {
	return element.Flags{RunsCommands: true, StrictRebuild: true, ForbidRuntimeDeps: true, ForbidSources: true}
}

func (composeKind) Configure(cfg *node.Node, _ element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys("integrate", "include", "exclude", "include-orphans"); err != nil {
		return nil, err
	}
	var c composeConfig
	var err error
	if c.integrate, err = requireBool(cfg, "integrate"); err != nil {
		return nil, err
	}
	if c.include, err = requireStringList(cfg, "include"); err != nil {
		return nil, err
	}
	if c.exclude, err = requireStringList(cfg, "exclude"); err != nil {
		return nil, err
	}
	if c.orphans, err = requireBool(cfg, "include-orphans"); err != nil {
		return nil, err
	}
	return c, nil
}

type composeConfig struct {
	integrate, orphans bool
	include, exclude   []string
}

// RunsCommands: a compose element runs commands only to integrate.
func (c composeConfig) RunsCommands() bool { return c.integrate }

func (c composeConfig) UniqueKey() any {
	d := map[string]any{"integrate": c.integrate, "include": sortedCopy(c.include), "orphans": c.orphans}
	if len(c.exclude) > 0 {
		d["exclude"] = sortedCopy(c.exclude)
	}
	return d
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

func requireBool(cfg *node.Node, key string) (bool, error) {
	v, err := cfg.GetScalar(key, false)
	if err != nil {
		return false, err
	}
	return v.AsBool(key)
}

func requireStringList(cfg *node.Node, key string) ([]string, error) {
	v, err := cfg.GetSequence(key, false)
	if err != nil {
		return nil, err
	}
	return v.AsStringList(key)
}
