package plugins

import (
	"context"
	"fmt"
	"path"
	"sort"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
)

// layout groups an element's direct build dependencies by the location
// their `config: location` stages them at ("/" without one), each group
// in dependency order; a dependency given several config blocks is staged
// at each of their locations.
func layout(e *element.Element) (map[string][]*element.Element, []string) {
	groups := map[string][]*element.Element{}
	for _, d := range e.Deps {
		if d.Type&element.DepBuild == 0 {
			continue
		}
		locations := []string{"/"}
		if len(d.Config) > 0 {
			locations = locations[:0]
			for _, c := range d.Config {
				loc, _ := c.GetString("location", "/")
				locations = append(locations, loc)
			}
		}
		for _, loc := range locations {
			groups[loc] = append(groups[loc], d.Element)
		}
	}
	locs := make([]string, 0, len(groups))
	for l := range groups {
		locs = append(locs, l)
	}
	sort.Strings(locs)
	return groups, locs
}

// stageLayout stages each location's dependencies with their runtime
// dependencies, locations in sorted order, and returns the root tree.
func stageLayout(ctx context.Context, b element.Build, groups map[string][]*element.Element, locs []string) (cas.Digest, error) {
	tree := b.Store().NewTree()
	for _, loc := range locs {
		deps := element.Dependencies(groups[loc], element.ScopeRun)
		if err := b.StageArtifacts(ctx, tree, deps, loc, element.AllFiles); err != nil {
			return cas.Digest{}, err
		}
	}
	return tree.Digest(ctx)
}

// integrationCommands are the integration commands of elements and their
// runtime dependencies, in staging order, each run from / with its own
// element's environment.
func integrationCommands(elements []*element.Element) []element.Command {
	var cmds []element.Command
	for _, d := range element.Dependencies(elements, element.ScopeRun) {
		list := d.Public.Get("bst").Get("integration-commands")
		if list == nil {
			continue
		}
		for _, it := range list.Items() {
			cmds = append(cmds, element.Command{Args: []string{"sh", "-e", "-c", it.Value()}, Cwd: "/", Env: d.Environment, Label: it.Value()})
		}
	}
	return cmds
}

// integrate runs the integration commands of what is staged at / and
// returns the integrated root.
func integrate(ctx context.Context, b element.Build, root cas.Digest, elements []*element.Element) (cas.Digest, error) {
	cmds := integrationCommands(elements)
	if len(cmds) == 0 {
		return root, nil
	}
	r, err := runner(b)
	if err != nil {
		return cas.Digest{}, err
	}
	res, err := r.Run(ctx, element.RunSpec{Label: "Integrating sandbox", Root: root, RootWritable: true, Commands: cmds})
	if err != nil {
		return cas.Digest{}, fmt.Errorf("integrating the sandbox: %w", err)
	}
	return res.Root, nil
}

func runner(b element.Build) (element.Runner, error) {
	r, ok := b.(element.Runner)
	if !ok {
		return nil, fmt.Errorf("%s: no build sandbox is available", b.Element().Name)
	}
	return r, nil
}

// shellCommands turns an element's commands into sandbox commands run as
// `sh -c -e` with a newline restored at the end (YAML stripped it).
func shellCommands(e *element.Element, cwd string, cmds []string) []element.Command {
	out := make([]element.Command, 0, len(cmds))
	for _, c := range cmds {
		out = append(out, element.Command{Args: []string{"sh", "-c", "-e", c + "\n"}, Cwd: cwd, Env: e.Environment, Label: c})
	}
	return out
}

// digestEnvironment computes the `digest-environment` variables: each
// names the digest, "hash/size", of a tree holding the listed
// dependencies and their runtime dependencies.
func digestEnvironment(ctx context.Context, b element.Build, byVar map[string][]*element.Element) ([]element.Variable, error) {
	names := make([]string, 0, len(byVar))
	for n := range byVar {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []element.Variable
	for _, n := range names {
		tree := b.Store().NewTree()
		if err := b.StageArtifacts(ctx, tree, element.Dependencies(byVar[n], element.ScopeRun), "/", element.AllFiles); err != nil {
			return nil, err
		}
		d, err := tree.Digest(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, element.Variable{Name: n, Value: d.String()})
	}
	return out, nil
}

// Assemble builds a BuildElement (manual and the build systems): the
// dependencies staged at their locations, those at / integrated, the
// sources at %{build-root}, then configure, build, install and strip
// commands run from %{build-root}/%{command-subdir} with a read-only root,
// and %{install-root} collected.
func (c *buildElementConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	e := b.Element()
	r, err := runner(b)
	if err != nil {
		return element.Output{}, err
	}
	groups, locs := layout(e)
	root, err := stageLayout(ctx, b, groups, locs)
	if err != nil {
		return element.Output{}, err
	}
	if root, err = integrate(ctx, b, root, groups["/"]); err != nil {
		return element.Output{}, err
	}
	sources, err := b.Sources(ctx)
	if err != nil {
		return element.Output{}, err
	}
	buildRoot, _ := e.Variables.Get("build-root")
	installRoot, _ := e.Variables.Get("install-root")
	cwd := buildRoot
	if c.commandSubdir != "" {
		cwd = path.Join(buildRoot, c.commandSubdir)
	}
	env := e.Environment
	if len(c.digestEnv) > 0 {
		byVar := map[string][]*element.Element{}
		for _, d := range e.Deps {
			for _, cfg := range d.Config {
				if v, _ := cfg.GetString("digest-environment", ""); v != "" {
					byVar[v] = append(byVar[v], d.Element)
				}
			}
		}
		extra, err := digestEnvironment(ctx, b, byVar)
		if err != nil {
			return element.Output{}, err
		}
		env = withVariables(env, extra)
	}
	var cmds []element.Command
	for i := range commandSteps {
		for _, cmd := range shellCommands(e, cwd, c.commands[i]) {
			cmd.Env = env
			cmds = append(cmds, cmd)
		}
	}
	res, err := r.Run(ctx, element.RunSpec{
		Label: "Running commands",
		Root:  root,
		Dirs: []element.WritableDir{
			{Path: buildRoot, Initial: sources},
			{Path: installRoot, Capture: true},
		},
		Commands: cmds,
	})
	return element.Output{Files: res.Dirs[1]}, err
}

// withVariables returns env with vars set, replacing earlier values.
func withVariables(env, vars []element.Variable) []element.Variable {
	out := make([]element.Variable, 0, len(env)+len(vars))
	set := map[string]bool{}
	for _, v := range vars {
		set[v.Name] = true
	}
	for _, v := range env {
		if !set[v.Name] {
			out = append(out, v)
		}
	}
	return append(out, vars...)
}

// Assemble runs a script element's commands over its staged and
// integrated dependencies, from %{cwd}, with a root writable unless
// root-read-only, and collects %{install-root}.
func (c *scriptConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	e := b.Element()
	r, err := runner(b)
	if err != nil {
		return element.Output{}, err
	}
	groups, locs := layout(e)
	root, err := stageLayout(ctx, b, groups, locs)
	if err != nil {
		return element.Output{}, err
	}
	if root, err = integrate(ctx, b, root, groups["/"]); err != nil {
		return element.Output{}, err
	}
	res, err := r.Run(ctx, element.RunSpec{
		Label:        "Running commands",
		Root:         root,
		RootWritable: !c.rootReadOnly,
		Dirs:         []element.WritableDir{{Path: c.installRoot, Capture: true}},
		Commands:     shellCommands(e, c.cwd, c.commands),
	})
	return element.Output{Files: res.Dirs[0]}, err
}
