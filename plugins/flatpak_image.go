package plugins

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
)

// flatpak_image's build, as the community plugin lays a flatpak out: the
// build dependencies are staged at /buildstream/allfiles (those given a
// `location` there instead, without the include and exclude filters), and
// the artifact is
//
//	files/      what allfiles holds under `directory`
//	files/etc/  for a runtime (not an extension), allfiles' /etc as well
//	files/<d>/  an empty directory for each `Extension …` section's directory
//	export/     for an application, empty
//	metadata    the `metadata` keyfile, sections and keys in the order written
//
// With `component-ids`, `appstreamcli compose` runs first in the sandbox
// for each id (the plugin runs only the last id's command, which looks
// unintended), writing into the artifact's root.

const (
	flatpakInput   = "/buildstream/allfiles"
	flatpakInstall = "/buildstream/install"
)

// keyfileSection is one section of a flatpak metadata keyfile.
type keyfileSection struct {
	name   string
	keys   []string
	values map[string]any
}

// keyfile writes sections as Python's configparser writes them.
func keyfile(sections []keyfileSection) []byte {
	var b strings.Builder
	for _, s := range sections {
		fmt.Fprintf(&b, "[%s]\n", s.name)
		for _, k := range s.keys {
			v, _ := s.values[k].(string)
			fmt.Fprintf(&b, "%s = %s\n", k, strings.ReplaceAll(v, "\n", "\n\t"))
		}
		b.WriteString("\n")
	}
	return []byte(b.String())
}

func (c *flatpakImageConfig) componentType() string {
	_, app := c.metadata["Application"]
	_, ext := c.metadata["ExtensionOf"]
	switch {
	case app:
		return "application"
	case ext:
		return "runtime_extension"
	}
	return "runtime"
}

func (c *flatpakImageConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	e := b.Element()
	store := b.Store()
	groups, locs := layout(e, flatpakInput)
	input := store.NewTree()
	for _, loc := range locs {
		sel := element.AllFiles
		if loc == flatpakInput {
			sel = element.SplitSelection{Include: c.include, Exclude: c.exclude, Orphans: true}
		}
		b.Status("Staging dependencies at: %s", loc)
		if err := b.StageArtifacts(ctx, input, element.Dependencies(groups[loc], element.ScopeRun), loc, sel); err != nil {
			return element.Output{}, err
		}
	}
	out := store.NewTree()
	if len(c.componentIDs) > 0 {
		d, err := c.appstreamCompose(ctx, b, input)
		if err != nil {
			return element.Output{}, err
		}
		out = store.LoadTree(d)
	}
	empty, err := store.NewTree().Digest(ctx)
	if err != nil {
		return element.Output{}, err
	}
	mkdir := func(p string) error {
		_, err := out.Import(ctx, empty, p, nil)
		return err
	}
	kind := c.componentType()
	dirs := []string{"files"}
	if kind == "application" {
		dirs = append(dirs, "export")
	}
	for _, s := range c.sections {
		if strings.HasPrefix(s.name, "Extension ") {
			if d, _ := s.values["directory"].(string); d != "" {
				dirs = append(dirs, path.Join("files", d))
			}
		}
	}
	for _, d := range dirs {
		if err := mkdir(d); err != nil {
			return element.Output{}, fmt.Errorf("%s: %w", d, err)
		}
	}
	copyDir := func(from, to string) error {
		d, err := input.Subtree(ctx, from)
		if errors.Is(err, cas.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = out.Import(ctx, d, to, nil)
		return err
	}
	if err := copyDir(path.Join(flatpakInput, c.directory), "files"); err != nil {
		return element.Output{}, fmt.Errorf("files: %w", err)
	}
	if kind == "runtime" {
		if err := copyDir(path.Join(flatpakInput, "etc"), "files/etc"); err != nil {
			return element.Output{}, fmt.Errorf("files/etc: %w", err)
		}
	}
	meta, err := singleFileTree(ctx, store, "metadata", keyfile(c.sections), false)
	if err != nil {
		return element.Output{}, err
	}
	if _, err := out.Import(ctx, meta, "/", nil); err != nil {
		return element.Output{}, err
	}
	d, err := out.Digest(ctx)
	return element.Output{Files: d}, err
}

// appstreamCompose runs appstreamcli compose for each component id over
// the staged input, with the root read-only, and returns what it wrote
// into the install root.
func (c *flatpakImageConfig) appstreamCompose(ctx context.Context, b element.Build, input *cas.Tree) (cas.Digest, error) {
	r, err := runner(b)
	if err != nil {
		return cas.Digest{}, err
	}
	root, err := input.Digest(ctx)
	if err != nil {
		return cas.Digest{}, err
	}
	e := b.Element()
	spec := element.RunSpec{Root: root, Label: "Composing AppStream data",
		Dirs: []element.WritableDir{{Path: flatpakInstall, Capture: true}}}
	for _, id := range c.componentIDs {
		cmd := strings.Join([]string{"appstreamcli", "compose", "--components", id,
			"--result-root", flatpakInstall, "--prefix", c.directory,
			"--data-dir", path.Join(flatpakInput, strings.TrimPrefix(c.directory, "/"), "share"),
			"--origin", id, flatpakInput}, " ")
		spec.Commands = append(spec.Commands, element.Command{Args: []string{"sh", "-c", "-e", cmd + "\n"}, Cwd: "/", Env: e.Environment, Label: cmd})
	}
	res, err := r.Run(ctx, spec)
	if err != nil {
		return cas.Digest{}, err
	}
	return res.Dirs[0], nil
}
