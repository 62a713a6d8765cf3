package plugins

import (
	"strings"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// filterKind keeps the split domains it is asked for of its one build
// dependency's artifact.
type filterKind struct{}

func (filterKind) Name() string     { return "filter" }
func (filterKind) Defaults() string { return kindDefaults("filter") }
func (filterKind) Flags() element.Flags {
	return element.Flags{StrictRebuild: true, ForbidSources: true}
}

// ArtifactVersion: BuildStream's filter artifacts are at version 1.
func (filterKind) ArtifactVersion() int { return 1 }

func (filterKind) Configure(cfg *node.Node, _ element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys("include", "exclude", "include-orphans", "pass-integration"); err != nil {
		return nil, err
	}
	var c filterConfig
	var err error
	if c.include, err = requireStringList(cfg, "include"); err != nil {
		return nil, err
	}
	if c.exclude, err = requireStringList(cfg, "exclude"); err != nil {
		return nil, err
	}
	if c.orphans, err = requireBool(cfg, "include-orphans"); err != nil {
		return nil, err
	}
	if c.passIntegration, err = cfg.GetBool("pass-integration", false); err != nil {
		return nil, err
	}
	return c, nil
}

type filterConfig struct {
	include, exclude         []string
	orphans, passIntegration bool
}

func (c filterConfig) UniqueKey() any {
	return map[string]any{"include": sortedCopy(c.include), "exclude": sortedCopy(c.exclude), "orphans": c.orphans}
}

// Validate checks the filter's one build dependency.
func (filterKind) Validate(e *element.Element) error {
	build := e.BuildDeps()
	if len(build) != 1 {
		names := make([]string, len(build))
		for i, d := range build {
			names[i] = d.Name
		}
		return &node.Error{Prov: e.Prov, Reason: node.ElementConfigurationInvalid,
			Msg:    "filter element must have exactly 1 build-dependency, actually have " + itoa(len(build)),
			Detail: "Full list of build-depends:\n" + strings.Join(names, "\n")}
	}
	for _, r := range e.RuntimeDeps() {
		if r == build[0] {
			return node.Errorf(e.Prov, node.ElementConfigurationInvalid,
				"filter element's build dependency must not also be a runtime dependency")
		}
	}
	if build[0].Plugin.Flags().NoArtifact {
		return &node.Error{Prov: e.Prov, Reason: node.ElementConfigurationInvalid,
			Msg:    "filter element's build dependency must produce an artifact",
			Detail: build[0].Name + " does not produce an artifact, so there is nothing to filter"}
	}
	return nil
}
