package plugins

import (
	"context"

	"github.com/bstgo/bst/element"
)

// flatpak_repo builds as the ScriptElement it is: the tools (dependencies
// without configuration) at / and integrated, each flatpak image at
// /buildstream/input/<normal name>, every directory with its runtime
// dependencies; then, with the root read-only, the commands in the order
// the plugin adds their groups (init the repository, export each image,
// copy the refs), and /buildstream/repo is the artifact. The tools come
// from the dependencies (ostree and flatpak): nothing from the host.
func (c *flatpakRepoConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	e := b.Element()
	r, err := runner(b)
	if err != nil {
		return element.Output{}, err
	}
	root, err := stageLayout(ctx, b, c.staged)
	if err != nil {
		return element.Output{}, err
	}
	spec := element.RunSpec{Root: root, Label: "Running commands",
		Dirs: []element.WritableDir{{Path: "/buildstream/repo", Capture: true}}}
	for _, g := range c.groups {
		cmds, _ := c.commands[g].([]string)
		spec.Commands = append(spec.Commands, shellCommands(e, c.cwd, cmds)...)
	}
	res, err := r.Run(ctx, spec)
	return element.Output{Files: res.Dirs[0]}, err
}
