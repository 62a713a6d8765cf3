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
// their `config: location` stages them at (def without one), each group
// in dependency order; a dependency given several config blocks is staged
// at each of their locations.
func layout(e *element.Element, def string) (map[string][]*element.Element, []string) {
	groups := map[string][]*element.Element{}
	for _, d := range e.Deps {
		if d.Type&element.DepBuild == 0 {
			continue
		}
		locations := []string{def}
		if len(d.Config) > 0 {
			locations = locations[:0]
			for _, c := range d.Config {
				loc, _ := c.GetString("location", def)
				locations = append(locations, loc)
			}
		}
		for _, loc := range locations {
			groups[loc] = append(groups[loc], d.Element)
		}
	}
	return groups, locations(groups)
}

// locations returns the locations of groups, sorted.
func locations(groups map[string][]*element.Element) []string {
	locs := make([]string, 0, len(groups))
	for l := range groups {
		locs = append(locs, l)
	}
	sort.Strings(locs)
	return locs
}

// stageLayout stages each location's dependencies with their runtime
// dependencies, locations in sorted order, runs the integration commands
// of those at / over the result, and returns the root tree: the root a
// script or build element's commands run in.
func stageLayout(ctx context.Context, b element.Build, groups map[string][]*element.Element) (cas.Digest, error) {
	tree := b.Store().NewTree()
	for _, loc := range locations(groups) {
		deps := element.Dependencies(groups[loc], element.ScopeRun)
		if err := b.StageArtifacts(ctx, tree, deps, loc, element.AllFiles); err != nil {
			return cas.Digest{}, err
		}
	}
	root, err := tree.Digest(ctx)
	if err != nil {
		return cas.Digest{}, err
	}
	return integrate(ctx, b, root, groups["/"])
}

// integrationCommands are the integration commands of elements, in the
// order given, each run from / with its own element's environment.
func integrationCommands(elements []*element.Element) []element.Command {
	var cmds []element.Command
	for _, d := range elements {
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

// integrate runs the integration commands of what is staged at / —
// elements and their runtime dependencies — and returns the integrated
// root.
func integrate(ctx context.Context, b element.Build, root cas.Digest, elements []*element.Element) (cas.Digest, error) {
	return runIntegration(ctx, b, root, element.Dependencies(elements, element.ScopeRun))
}

// runIntegration runs the integration commands of exactly elements, in
// order, over root with the root writable, and returns the changed root
// (root itself when there are none).
func runIntegration(ctx context.Context, b element.Build, root cas.Digest, elements []*element.Element) (cas.Digest, error) {
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

// StageRuntime stages the artifacts of elements, in the order given, at /
// and, when integrate is set, runs the integration commands of each of
// them over the result: the root of a runtime shell (the element and its
// runtime dependencies) and of `bst artifact checkout` (what --deps
// selects), as BuildStream prepares them.
func StageRuntime(ctx context.Context, b element.Build, elements []*element.Element, integrate bool) (cas.Digest, error) {
	tree := b.Store().NewTree()
	if err := b.StageArtifacts(ctx, tree, elements, "/", element.AllFiles); err != nil {
		return cas.Digest{}, err
	}
	root, err := tree.Digest(ctx)
	if err != nil || !integrate {
		return root, err
	}
	return runIntegration(ctx, b, root, elements)
}

// StageBuild stages the sandbox b's element builds in, as its kind stages
// it for its build: spec holds the root and the writable directories (no
// commands), at the working directory and environment the build's
// commands run with. It is what `bst shell --build` runs its command in.
// Kinds that run no commands get what BuildStream's stage them: compose
// its build dependencies at / (not integrated), filter its dependency's
// selected domains, the others an empty root, at /.
func StageBuild(ctx context.Context, b element.Build) (spec element.RunSpec, at element.Command, err error) {
	e := b.Element()
	at = element.Command{Cwd: "/", Env: e.Environment}
	var root cas.Digest
	switch c := e.KindConfig.(type) {
	case *buildElementConfig:
		return c.stageBuild(ctx, b)
	case *scriptConfig:
		return c.stageBuild(ctx, b)
	case composeConfig:
		tree := b.Store().NewTree()
		if err := b.StageArtifacts(ctx, tree, element.Dependencies([]*element.Element{e}, element.ScopeBuild), "/", element.AllFiles); err != nil {
			return spec, at, err
		}
		root, err = tree.Digest(ctx)
	case filterConfig:
		tree := b.Store().NewTree()
		sel := element.SplitSelection{Include: c.include, Exclude: c.exclude, Orphans: c.orphans}
		if err := b.StageArtifacts(ctx, tree, e.BuildDeps()[:1], "/", sel); err != nil {
			return spec, at, err
		}
		root, err = tree.Digest(ctx)
	default:
		root, err = b.Store().NewTree().Digest(ctx)
	}
	return element.RunSpec{Root: root}, at, err
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

// stageBuild stages a BuildElement's build: the dependencies at their
// locations, those at / integrated, the sources at %{build-root}, an empty
// %{install-root}; the commands run from %{build-root}/%{command-subdir}
// with the element's environment and its digest-environment variables.
func (c *buildElementConfig) stageBuild(ctx context.Context, b element.Build) (element.RunSpec, element.Command, error) {
	e := b.Element()
	groups, _ := layout(e, "/")
	root, err := stageLayout(ctx, b, groups)
	if err != nil {
		return element.RunSpec{}, element.Command{}, err
	}
	sources, err := b.Sources(ctx)
	if err != nil {
		return element.RunSpec{}, element.Command{}, err
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
			return element.RunSpec{}, element.Command{}, err
		}
		env = withVariables(env, extra)
	}
	spec := element.RunSpec{
		Root: root,
		Dirs: []element.WritableDir{
			{Path: buildRoot, Initial: sources},
			{Path: installRoot, Capture: true},
		},
	}
	return spec, element.Command{Cwd: cwd, Env: env}, nil
}

// Assemble builds a BuildElement (manual and the build systems) in the
// sandbox stageBuild makes: configure, build, install and strip commands
// run in one batch with a read-only root, and %{install-root} is
// collected.
func (c *buildElementConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	e := b.Element()
	r, err := runner(b)
	if err != nil {
		return element.Output{}, err
	}
	spec, at, err := c.stageBuild(ctx, b)
	if err != nil {
		return element.Output{}, err
	}
	for i := range commandSteps {
		for _, cmd := range shellCommands(e, at.Cwd, c.commands[i]) {
			cmd.Env = at.Env
			spec.Commands = append(spec.Commands, cmd)
		}
	}
	spec.Label = "Running commands"
	res, err := r.Run(ctx, spec)
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

// stageBuild stages a script element's dependencies at their locations,
// integrates those at /, and gives a writable root unless root-read-only;
// the commands run from %{cwd}, and %{install-root} is collected.
func (c *scriptConfig) stageBuild(ctx context.Context, b element.Build) (element.RunSpec, element.Command, error) {
	e := b.Element()
	groups, _ := layout(e, "/")
	root, err := stageLayout(ctx, b, groups)
	if err != nil {
		return element.RunSpec{}, element.Command{}, err
	}
	spec := element.RunSpec{
		Root:         root,
		RootWritable: !c.rootReadOnly,
		Dirs:         []element.WritableDir{{Path: c.installRoot, Capture: true}},
	}
	return spec, element.Command{Cwd: c.cwd, Env: e.Environment}, nil
}

// Assemble runs a script element's commands in the sandbox stageBuild
// makes and collects %{install-root}.
func (c *scriptConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	e := b.Element()
	r, err := runner(b)
	if err != nil {
		return element.Output{}, err
	}
	spec, at, err := c.stageBuild(ctx, b)
	if err != nil {
		return element.Output{}, err
	}
	spec.Label = "Running commands"
	spec.Commands = shellCommands(e, at.Cwd, c.commands)
	res, err := r.Run(ctx, spec)
	return element.Output{Files: res.Dirs[0]}, err
}
