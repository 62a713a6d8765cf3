package plugins

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// The element kinds of buildstream-plugins-community (and of the
// freedesktop SDK's own plugin directory) that are not build systems.
// Each keeps the configuration keys, flags and unique key of the Python
// plugin of the same name, so cache keys agree; what each does when built
// is described in docs/plugins.md.

// plainKind is the common part of these kinds: a name, defaults and flags.
type plainKind struct {
	name    string
	flags   element.Flags
	version int // BST_ARTIFACT_VERSION
}

func (k plainKind) Name() string         { return k.name }
func (k plainKind) Defaults() string     { return kindDefaults(k.name) }
func (k plainKind) Flags() element.Flags { return k.flags }

// ArtifactVersion is the plugin's BST_ARTIFACT_VERSION, which enters the
// element key as "element-plugin-version".
func (k plainKind) ArtifactVersion() int { return k.version }

// keyOnly is a configuration that is nothing but its unique key.
type keyOnly struct{ key any }

func (c keyOnly) UniqueKey() any { return c.key }

// distinctSorted returns the distinct strings of list, sorted, never nil.
func distinctSorted(list []string) []string {
	out := make([]string, 0, len(list))
	seen := map[string]bool{}
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// checkForbiddenKind fails the build when a forbidden element is among
// its dependencies, recursively.
type checkForbiddenKind struct{ plainKind }

func (checkForbiddenKind) Configure(cfg *node.Node, _ element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys("forbidden"); err != nil {
		return nil, err
	}
	list, err := requireStringList(cfg, "forbidden")
	if err != nil {
		return nil, err
	}
	return checkForbiddenConfig{keyOnly{map[string]any{"forbidden": distinctSorted(list)}}, list}, nil
}

// collectIntegrationKind writes its dependencies' integration commands
// into one shell script.
type collectIntegrationKind struct{ plainKind }

func (collectIntegrationKind) Configure(cfg *node.Node, _ element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys("script-path", "ignore"); err != nil {
		return nil, err
	}
	p, err := cfg.RequireString("script-path")
	if err != nil {
		return nil, err
	}
	ignore, err := cfg.GetStringList("ignore")
	if err != nil {
		return nil, err
	}
	return collectIntegrationConfig{keyOnly{map[string]any{"script-path": p, "ignore": distinctSorted(ignore)}}, p, ignore}, nil
}

// collectInitialScriptsKind is the freedesktop SDK's local plugin: it
// gathers the `initial-script` public data of its dependencies under path.
type collectInitialScriptsKind struct{ plainKind }

func (collectInitialScriptsKind) Configure(cfg *node.Node, _ element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys("path"); err != nil {
		return nil, err
	}
	p, err := cfg.RequireString("path")
	if err != nil {
		return nil, err
	}
	return collectInitialScriptsConfig{keyOnly{map[string]any{"path": p}}, p}, nil
}

// collectManifestKind writes a manifest (flatpak-builder style, or SPDX)
// of its dependencies' sources. The Python plugin validates only
// spdx-info's keys; bst validates the top level too.
type collectManifestKind struct{ plainKind }

func (collectManifestKind) Configure(cfg *node.Node, _ element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys("path", "output-type", "spdx-info", "use-source-provenance"); err != nil {
		return nil, err
	}
	key := map[string]any{"path": nil}
	if p := cfg.Get("path"); p != nil {
		if !p.IsScalar() {
			return nil, node.Errorf(p.Prov(), node.InvalidData, "value of 'path' is not of the expected type 'str'")
		}
		key["path"] = p.Value()
	}
	out, err := cfg.GetString("output-type", "manifest")
	if err != nil {
		return nil, err
	}
	if out != "manifest" && out != "spdx" {
		return nil, node.Errorf(cfg.KeyProv("output-type"), node.InvalidData,
			"value of 'output-type' should be one of: manifest, spdx")
	}
	info, err := cfg.GetMapping("spdx-info", true)
	if err != nil {
		return nil, err
	}
	if info == nil {
		info = node.NewMapping(node.Synthetic)
	}
	if err := info.ValidateKeys("creators", "created", "data-license", "doc-namespace", "name"); err != nil {
		return nil, err
	}
	var creators any
	if info.Get("creators") != nil {
		list, err := info.GetStringList("creators")
		if err != nil {
			return nil, err
		}
		creators = list
	}
	var created any
	if info.Get("created") != nil {
		n, err := info.GetInt("created", 0)
		if err != nil {
			return nil, err
		}
		created = n
	}
	optional := func(k string) (any, error) {
		v, err := info.GetScalar(k, true)
		if err != nil || v == nil {
			return nil, err
		}
		return v.Value(), nil
	}
	license, err := optional("data-license")
	if err != nil {
		return nil, err
	}
	namespace, err := optional("doc-namespace")
	if err != nil {
		return nil, err
	}
	name, err := optional("name")
	if err != nil {
		return nil, err
	}
	if out == "spdx" {
		key["output_type"] = "spdx"
		// A Python tuple: a JSON list, in this order.
		key["spdx_info"] = []any{creators, license, created, namespace, name}
	}
	prov, err := cfg.GetBool("use-source-provenance", true)
	if err != nil {
		return nil, err
	}
	if prov {
		key["source_provenance"] = true
	}
	return keyOnly{key}, nil
}

// flatpakImageKind lays its build dependencies out as a flatpak: files
// under the prefix directory, and a metadata keyfile.
type flatpakImageKind struct{ plainKind }

func (flatpakImageKind) Configure(cfg *node.Node, _ element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys("directory", "include", "exclude", "metadata", "component-ids"); err != nil {
		return nil, err
	}
	dir, err := cfg.RequireString("directory")
	if err != nil {
		return nil, err
	}
	c := &flatpakImageConfig{directory: dir}
	for _, l := range []struct {
		key string
		dst *[]string
	}{{"include", &c.include}, {"exclude", &c.exclude}, {"component-ids", &c.componentIDs}} {
		if *l.dst, err = requireStringList(cfg, l.key); err != nil {
			return nil, err
		}
	}
	md, err := cfg.GetMapping("metadata", false)
	if err != nil {
		return nil, err
	}
	c.metadata = map[string]any{}
	hasApp, hasRuntime := false, false
	for i, section := range md.Keys() {
		pairs := md.Items()[i]
		if !pairs.IsMapping() {
			return nil, node.Errorf(pairs.Prov(), node.InvalidData, "value of 'metadata.%s' is not of the expected type 'dict'", section)
		}
		s := map[string]any{}
		for j, k := range pairs.Keys() {
			v := pairs.Items()[j]
			if !v.IsScalar() {
				return nil, node.Errorf(v.Prov(), node.InvalidData, "value of 'metadata.%s.%s' is not of the expected type 'str'", section, k)
			}
			s[k] = v.Value()
		}
		c.metadata[section] = s
		c.sections = append(c.sections, keyfileSection{name: section, keys: pairs.Keys(), values: s})
		hasApp = hasApp || section == "Application"
		hasRuntime = hasRuntime || section == "Runtime"
	}
	if !hasApp && !hasRuntime {
		return nil, node.Errorf(md.Prov(), node.InvalidData, "Either Application or Runtime section must be present in metadata")
	}
	return c, nil
}

type flatpakImageConfig struct {
	directory                      string
	include, exclude, componentIDs []string
	metadata                       map[string]any
	// sections are the metadata in the order written, for the keyfile.
	sections []keyfileSection
	// layout is where each build dependency is staged: "location" in its
	// config, by default the input tree /buildstream/allfiles. It does not
	// enter the key.
	layout map[string][]string
}

func (c *flatpakImageConfig) ConfigureDependencies(deps []element.DependencyConfig) error {
	c.layout = map[string][]string{}
	for _, d := range deps {
		location := "/buildstream/allfiles"
		if d.Config != nil {
			if err := d.Config.ValidateKeys("location"); err != nil {
				return err
			}
			var err error
			if location, err = d.Config.RequireString("location"); err != nil {
				return err
			}
		}
		c.layout[location] = append(c.layout[location], d.Path)
	}
	return nil
}

// UniqueKey: directory, include and exclude sorted, the metadata, the
// component ids when any, and the plugin's own "version": 4.
func (c *flatpakImageConfig) UniqueKey() any {
	key := map[string]any{
		"directory": c.directory,
		"include":   sortedCopy(c.include),
		"exclude":   sortedCopy(c.exclude),
		"metadata":  c.metadata,
		"version":   4,
	}
	if len(c.componentIDs) > 0 {
		key["component-ids"] = c.componentIDs
	}
	return key
}

// flatpakRepoKind is a ScriptElement that exports flatpak images into an
// OSTree repository: its key is the script key of the commands it adds.
type flatpakRepoKind struct{ plainKind }

type copyRef struct{ src, dest string }

func (flatpakRepoKind) Configure(cfg *node.Node, vars element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys("copy-refs", "repo-mode", "arch", "branch"); err != nil {
		return nil, err
	}
	c := &flatpakRepoConfig{}
	refs, err := cfg.GetSequence("copy-refs", false)
	if err != nil {
		return nil, err
	}
	for _, r := range refs.Items() {
		if !r.IsMapping() {
			return nil, node.Errorf(r.Prov(), node.InvalidData, "copy-refs entries must be dictionaries")
		}
		if err := r.ValidateKeys("src", "dest"); err != nil {
			return nil, err
		}
		src, err := r.RequireString("src")
		if err != nil {
			return nil, err
		}
		dest, err := r.RequireString("dest")
		if err != nil {
			return nil, err
		}
		c.copyRefs = append(c.copyRefs, copyRef{src, dest})
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"arch", &c.arch}, {"branch", &c.branch}, {"repo-mode", &c.repoMode}} {
		if *f.dst, err = cfg.RequireString(f.key); err != nil {
			return nil, err
		}
	}
	if c.cwd, _ = vars.Get("cwd"); c.cwd == "" {
		c.cwd = "/"
	}
	c.commands = map[string]any{}
	c.addCommands("init repository", "ostree init --repo=/buildstream/repo --mode="+c.repoMode)
	return c, nil
}

type flatpakRepoConfig struct {
	copyRefs               []copyRef
	arch, branch, repoMode string
	cwd                    string
	commands               map[string]any // group -> []string
	groups                 []string       // the groups in the order added
	layout                 map[string][]string
	// staged are the dependencies by staging directory, in the order
	// laid out.
	staged map[string][]*element.Element
}

func (c *flatpakRepoConfig) addCommands(group string, cmds ...string) {
	prev, ok := c.commands[group].([]string)
	if !ok {
		c.groups = append(c.groups, group)
	}
	c.commands[group] = append(prev, cmds...)
}

func (c *flatpakRepoConfig) layoutFlatpak(e *element.Element, path, branch string, stack bool) {
	if stack {
		path = path + " (" + e.Name + ")"
	}
	dir := "/buildstream/input/" + normalName(e.Name)
	c.layout[dir] = append(c.layout[dir], path)
	c.staged[dir] = append(c.staged[dir], e)
	c.addCommands("export "+path, "flatpak build-export --files=files --arch="+c.arch+" /buildstream/repo "+dir+" "+branch)
}

func (c *flatpakRepoConfig) ConfigureDependencies(deps []element.DependencyConfig) error {
	c.layout = map[string][]string{}
	c.staged = map[string][]*element.Element{}
	images := 0
	for _, d := range deps {
		if d.Config == nil {
			c.layout["/"] = append(c.layout["/"], d.Path)
			c.staged["/"] = append(c.staged["/"], d.Element)
			continue
		}
		if err := d.Config.ValidateKeys("flatpak-image", "flatpak-stack", "branch"); err != nil {
			return err
		}
		image, err := d.Config.GetBool("flatpak-image", false)
		if err != nil {
			return err
		}
		stack, err := d.Config.GetBool("flatpak-stack", false)
		if err != nil {
			return err
		}
		branch, err := d.Config.GetString("branch", c.branch)
		if err != nil {
			return err
		}
		switch {
		case image && stack:
			return node.Errorf(d.Config.Prov(), node.ElementConfigurationInvalid, "Dependency specified as both a flatpak image and a stack")
		case image:
			c.layoutFlatpak(d.Element, d.Path, branch, false)
			images++
		case stack:
			for _, sub := range d.Element.Deps {
				c.layoutFlatpak(sub.Element, d.Path, branch, true)
				images++
			}
		default:
			return node.Errorf(d.Config.Prov(), node.ElementConfigurationInvalid, "Dependency specified as neither a flatpak image and a stack")
		}
	}
	if images == 0 {
		return &node.Error{Reason: node.ElementConfigurationInvalid, Msg: "No flatpak images specified for this repo"}
	}
	for _, r := range c.copyRefs {
		c.addCommands("copy ref "+r.src+" -> "+r.dest, "flatpak build-commit-from --src-ref="+r.src+" /buildstream/repo "+r.dest)
	}
	return nil
}

// UniqueKey is ScriptElement's: commands by group, cwd, install root,
// layout and the read-only root.
func (c *flatpakRepoConfig) UniqueKey() any {
	return map[string]any{
		"commands":       c.commands,
		"cwd":            c.cwd,
		"install-root":   "/buildstream/repo",
		"layout":         pathLists(c.layout),
		"root-read-only": true,
	}
}

// normalName is BuildStream's Element.normal_name: the element's name
// without ".bst", slashes replaced by dashes.
func normalName(name string) string {
	return strings.ReplaceAll(strings.TrimSuffix(name, ".bst"), "/", "-")
}

// ostreeKind commits its build dependencies to an OSTree branch, after
// running initial-commands on them. Dependencies configured with
// `sysroot: true` are the tree committed; the others the tools.
type ostreeKind struct{ plainKind }

func (ostreeKind) Configure(cfg *node.Node, _ element.Vars) (element.Config, error) {
	if err := cfg.ValidateKeys("ostree-branch", "initial-commands"); err != nil {
		return nil, err
	}
	branch, err := cfg.RequireString("ostree-branch")
	if err != nil {
		return nil, err
	}
	cmds, err := requireStringList(cfg, "initial-commands")
	if err != nil {
		return nil, err
	}
	return &ostreeConfig{key: map[string]any{"branch": branch, "initial-commands": cmds}}, nil
}

type ostreeConfig struct {
	key map[string]any
}

func (c *ostreeConfig) UniqueKey() any { return c.key }

func (c *ostreeConfig) ConfigureDependencies(deps []element.DependencyConfig) error {
	for _, d := range deps {
		if d.Config != nil {
			if err := d.Config.ValidateKeys("sysroot"); err != nil {
				return err
			}
			if _, err := d.Config.GetBool("sysroot", false); err != nil {
				return err
			}
		}
	}
	return nil
}

// Assemble checks that no forbidden element is among the dependencies,
// recursively, and makes an empty artifact.
func (c keyOnly) forbiddenAssemble(ctx context.Context, b element.Build, forbidden []string) (element.Output, error) {
	bad := map[string]bool{}
	for _, f := range forbidden {
		bad[f] = true
	}
	seen := map[*element.Element]bool{}
	var found []string
	var walk func(e *element.Element) bool
	walk = func(e *element.Element) bool {
		if seen[e] {
			return false
		}
		if bad[e.Name] {
			return true
		}
		seen[e] = true
		hit := false
		for _, d := range e.Deps {
			if walk(d.Element) {
				found = append(found, e.Name+" depends on "+d.Element.Name)
				hit = true
			}
		}
		return hit
	}
	failed := false
	for _, d := range b.Element().Deps {
		if walk(d.Element) {
			failed = true
		}
	}
	if failed {
		return element.Output{}, fmt.Errorf("%s: some elements were forbidden:\n  %s", b.Element().Name, strings.Join(found, "\n  "))
	}
	d, err := b.Store().NewTree().Digest(ctx)
	return element.Output{Files: d}, err
}

type checkForbiddenConfig struct {
	keyOnly
	forbidden []string
}

func (c checkForbiddenConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	return c.forbiddenAssemble(ctx, b, c.forbidden)
}

type collectIntegrationConfig struct {
	keyOnly
	scriptPath string
	ignore     []string
}

// Assemble writes one shell script holding the integration commands of
// the build dependencies (and what they need at run time), in staging
// order, except those of the ignored elements.
func (c collectIntegrationConfig) Assemble(ctx context.Context, b element.Build) (element.Output, error) {
	ignore := map[string]bool{}
	for _, i := range c.ignore {
		ignore[i] = true
	}
	var sb strings.Builder
	sb.WriteString("#!/bin/sh\nset -e\n\n")
	for _, d := range element.Dependencies([]*element.Element{b.Element()}, element.ScopeBuild) {
		if ignore[d.Name] {
			continue
		}
		list := d.Public.Get("bst").Get("integration-commands")
		if list == nil {
			continue
		}
		fmt.Fprintf(&sb, "# integration commands from %s\n", d.Name)
		for _, it := range list.Items() {
			fmt.Fprintf(&sb, "%s\n\n", it.Value())
		}
	}
	d, err := singleFileTree(ctx, b.Store(), c.scriptPath, []byte(sb.String()), true)
	return element.Output{Files: d}, err
}

// singleFileTree stores a tree holding one file at p.
func singleFileTree(ctx context.Context, store *cas.LocalStore, p string, data []byte, executable bool) (cas.Digest, error) {
	blob, err := store.PutBytes(ctx, data)
	if err != nil {
		return cas.Digest{}, err
	}
	parts := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	if len(parts) == 0 || parts[0] == "" {
		return cas.Digest{}, fmt.Errorf("invalid file path %q", p)
	}
	dir := &repb.Directory{Files: []*repb.FileNode{{Name: parts[len(parts)-1], Digest: blob.Proto(), IsExecutable: executable}}}
	d, err := store.PutDirectory(ctx, dir)
	if err != nil {
		return cas.Digest{}, err
	}
	for i := len(parts) - 2; i >= 0; i-- {
		if d, err = store.PutDirectory(ctx, &repb.Directory{Directories: []*repb.DirectoryNode{{Name: parts[i], Digest: d.Proto()}}}); err != nil {
			return cas.Digest{}, err
		}
	}
	return d, nil
}
