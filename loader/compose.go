package loader

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/loader/options"
	"github.com/bstgo/bst/loader/variables"
	"github.com/bstgo/bst/source"
)

var elementKeys = []string{
	"kind", "depends", "sources", "sandbox", "variables", "environment", "environment-nocache",
	"config", "public", "description", "build-depends", "runtime-depends",
}

// compose builds the element from its processed .bst mapping, in
// BuildStream's order: built-in defaults, project.conf, the kind's
// defaults, the project's `elements:` overrides, then the file.
//
// The mapping belongs to the element alone (includes and conditionals
// composed copies into it) and is temporary (see loadFile): its nodes are
// composed and expanded in place, over temporary copies of the kind's
// defaults made with tmp, and each tree the element keeps is copied out
// once it is complete, strings included (CloneDetached), so that nothing
// kept refers to the file's memory or text. The kinds' shared defaults are
// never modified: they are copied where an element composes over them,
// and shared where it does not.
func (p *Project) compose(le *loadElement, k element.Kind, tmp *node.Parser) (*element.Element, error) {
	n := le.node
	kd, err := p.kindDefaultsFor(k)
	if err != nil {
		return nil, err
	}
	e := &element.Element{
		Name: le.localName(), FullName: le.name, Project: p.Name, Kind: k.Name(), Prov: n.Prov(), Plugin: k,
	}
	if e.Description, err = n.GetString("description", ""); err != nil {
		return nil, err
	}
	e.Description = strings.Clone(e.Description)
	for _, key := range []string{"variables", "environment", "config", "public", "sandbox"} {
		if _, err := n.GetMapping(key, true); err != nil {
			return nil, err
		}
	}

	// Variables.
	own := n.Get("variables")
	if own != nil {
		if err := variables.CheckProtected(own); err != nil {
			return nil, err
		}
		if err := node.AssertComposited(own); err != nil {
			return nil, err
		}
	}
	table, err := kd.variables.Overlay(own, variables.Synthetic{Name: "element-name", Value: le.localName()})
	if err != nil {
		return nil, err
	}
	vars, err := table.Resolve()
	if err != nil {
		return nil, err
	}
	e.Variables = vars

	// Environment.
	if own := n.Get("environment"); own != nil {
		env := tmp.CloneTemporary(kd.environment)
		if err := node.CompositeMove(own, env); err != nil {
			return nil, err
		}
		if err := node.AssertComposited(env); err != nil {
			return nil, err
		}
		if err := vars.ExpandOwned(env); err != nil {
			return nil, err
		}
		if e.Environment, err = environmentList(env, true); err != nil {
			return nil, err
		}
	} else {
		env, err := kd.expandShared("environment", kd.environment, vars)
		if err != nil {
			return nil, err
		}
		// Elements sharing the expanded tree share its list.
		if l, ok := kd.environments.Load(env); ok {
			e.Environment = l.([]element.Variable)
		} else {
			if e.Environment, err = environmentList(env, false); err != nil {
				return nil, err
			}
			kd.environments.Store(env, e.Environment)
		}
	}

	// Environment variables left out of the cache key: a set.
	nc, err := n.GetStringList("environment-nocache")
	if err != nil {
		return nil, err
	}
	if len(nc) == 0 {
		e.EnvNoCache = kd.envNoCacheSet
	} else {
		for i := range nc {
			nc[i] = strings.Clone(nc[i])
		}
		e.EnvNoCache = dedupSorted(append(append([]string(nil), kd.envNoCache...), nc...))
	}

	// Public data: the element's own, with the split rules of the project
	// and the kind extended by the element's.
	if own := n.Get("public"); own != nil {
		public := own
		bst := public.Get("bst")
		if bst == nil {
			bst = node.NewMapping(node.Synthetic)
		} else if !bst.IsMapping() {
			return nil, node.Errorf(bst.Prov(), node.InvalidData, "value of 'public.bst' is not of the expected type 'dict'")
		}
		splits := tmp.CloneTemporary(kd.splits)
		if es := bst.Get("split-rules"); es != nil {
			if !es.IsMapping() {
				return nil, node.Errorf(es.Prov(), node.InvalidData, "value of 'split-rules' is not of the expected type 'dict'")
			}
			if err := node.CompositeMove(es, splits); err != nil {
				return nil, err
			}
		}
		bst.Set("split-rules", splits)
		public.Set("bst", bst)
		if err := node.AssertComposited(public); err != nil {
			return nil, err
		}
		if err := vars.ExpandOwned(public); err != nil {
			return nil, err
		}
		e.Public = public.CloneDetached()
	} else {
		splits, err := kd.expandShared("split-rules", kd.splits, vars)
		if err != nil {
			return nil, err
		}
		e.Public = kd.publicWith(splits)
	}

	// Configuration and sandbox.
	if e.Config, err = kd.composeExpand("config", kd.config, n.Get("config"), vars, tmp); err != nil {
		return nil, err
	}
	if e.Sandbox, err = kd.composeExpand("sandbox", kd.sandbox, n.Get("sandbox"), vars, tmp); err != nil {
		return nil, err
	}
	if err := e.Sandbox.ValidateKeys("build-uid", "build-gid", "build-os", "build-arch", "remote-apis-socket"); err != nil {
		return nil, err
	}
	if e.KindConfig, err = k.Configure(e.Config, vars); err != nil {
		return nil, err
	}
	if e.SandboxConfig, err = kd.sandboxConfigOf(p, e.Sandbox, n.Get("sandbox") == nil); err != nil {
		return nil, err
	}

	// Sources.
	srcs, err := n.GetSequence("sources", true)
	if err != nil {
		return nil, err
	}
	flags := k.Flags()
	if srcs != nil {
		if flags.ForbidSources && srcs.Len() > 0 {
			return nil, node.Errorf(srcs.Prov(), node.ElementConfigurationInvalid,
				"%s: elements of kind '%s' may not have sources", le.name, k.Name())
		}
		for i, sn := range srcs.Items() {
			refs, err := p.sourceRefs(le.localName(), i)
			if err != nil {
				return nil, err
			}
			if refs != nil && sn.IsMapping() {
				// The refs of project.refs replace those of the file.
				sn = sn.Clone()
				for j, key := range refs.Keys() {
					sn.Set(key, refs.Items()[j])
				}
			}
			s, err := p.configureSource(sn, vars, tmp)
			if err != nil {
				return nil, err
			}
			e.Sources = append(e.Sources, s)
		}
	}
	if flags.RequiresSources && len(e.Sources) == 0 {
		return nil, node.Errorf(n.Prov(), node.ElementConfigurationInvalid,
			"%s: elements of kind '%s' need at least one source", le.name, k.Name())
	}
	return e, nil
}

// environmentList lists an expanded environment mapping's variables;
// with detach, their strings are copies.
func environmentList(env *node.Node, detach bool) ([]element.Variable, error) {
	list := make([]element.Variable, 0, env.Len())
	size := 0
	for i, key := range env.Keys() {
		v := env.Items()[i]
		if !v.IsScalar() {
			return nil, node.Errorf(v.Prov(), node.InvalidData, "value of environment variable '%s' is not of the expected type 'str'", key)
		}
		list = append(list, element.Variable{Name: key, Value: v.Value()})
		size += len(key) + len(v.Value())
	}
	if detach {
		var b strings.Builder
		b.Grow(size)
		for _, v := range list {
			b.WriteString(v.Name)
			b.WriteString(v.Value)
		}
		text := b.String()
		for i, v := range list {
			list[i].Name, text = text[:len(v.Name)], text[len(v.Name):]
			list[i].Value, text = text[:len(v.Value)], text[len(v.Value):]
		}
	}
	return list, nil
}

func (p *Project) configureSource(sn *node.Node, vars *variables.Resolved, tmp *node.Parser) (*element.Source, error) {
	if !sn.IsMapping() {
		return nil, node.Errorf(sn.Prov(), node.InvalidData, "sources must be dictionaries")
	}
	kindName, err := sn.RequireString("kind")
	if err != nil {
		return nil, err
	}
	sk, ok := p.Registry.Source(kindName)
	if !ok {
		return nil, node.Errorf(sn.KeyProv("kind"), node.PluginNotFound, "no source plugin registered for kind '%s'", kindName)
	}
	cfg := sn // temporary, see compose
	if ov := p.SourceOverrides.Get(kindName); ov != nil {
		if !ov.IsMapping() {
			return nil, node.Errorf(ov.Prov(), node.InvalidData, "value of 'sources.%s' is not of the expected type 'dict'", kindName)
		}
		if err := ov.ValidateKeys("config"); err != nil {
			return nil, err
		}
		if c := ov.Get("config"); c != nil {
			base := tmp.CloneTemporary(c)
			if err := node.CompositeMove(cfg, base); err != nil {
				return nil, err
			}
			cfg = base
		}
	}
	if err := node.AssertComposited(cfg); err != nil {
		return nil, err
	}
	if err := vars.ExpandOwned(cfg); err != nil {
		return nil, err
	}
	cfg = cfg.CloneDetached()
	if err := validateSourceKeys(cfg, sk); err != nil {
		return nil, err
	}
	dir, err := cfg.GetString("directory", "")
	if err != nil {
		return nil, err
	}
	if pn, err := cfg.GetMapping("provenance", true); err != nil {
		return nil, err
	} else if pn != nil {
		for i, k := range pn.Keys() {
			if !contains(p.ProvenanceKeys, k) {
				return nil, node.Errorf(pn.Items()[i].Prov(), node.UndefinedProvenanceAttr,
					"provenance attribute '%s' is not declared in the project's source-provenance-attributes", k)
			}
		}
	}
	plugin, err := sk.Configure(sourceContext{p}, cfg)
	if err != nil {
		return nil, err
	}
	return &element.Source{Kind: sk.Name(), Directory: dir, Node: cfg, Plugin: plugin}, nil
}

// sandboxConfigOf reads an element's sandbox configuration; the
// configuration of a tree shared by elements of the kind is read once.
func (kd *kindDefaults) sandboxConfigOf(p *Project, n *node.Node, shared bool) (element.SandboxConfig, error) {
	if !shared {
		return p.sandboxConfig(n)
	}
	if sc, ok := kd.sandboxConfigs.Load(n); ok {
		return sc.(element.SandboxConfig), nil
	}
	sc, err := p.sandboxConfig(n)
	if err == nil {
		kd.sandboxConfigs.Store(n, sc)
	}
	return sc, err
}

// sandboxConfig reads an element's sandbox configuration. The build OS
// and architecture default to the host's, in BuildStream's names.
func (p *Project) sandboxConfig(n *node.Node) (element.SandboxConfig, error) {
	var sc element.SandboxConfig
	osName, err := n.GetString("build-os", "")
	if err != nil {
		return sc, err
	}
	if osName == "" {
		osName = p.Options.HostOS()
	}
	sc.BuildOS = strings.ToLower(osName)
	arch, err := n.GetScalar("build-arch", true)
	if err != nil {
		return sc, err
	}
	if arch != nil && arch.Value() != "" {
		if sc.BuildArch, err = options.CanonicalArch(arch.Value()); err != nil {
			return sc, node.Errorf(arch.Prov(), node.InvalidData, "%v", err)
		}
	} else {
		sc.BuildArch = p.Options.HostArch()
	}
	for _, id := range []struct {
		key string
		dst **int
	}{{"build-uid", &sc.BuildUID}, {"build-gid", &sc.BuildGID}} {
		if v := n.Get(id.key); v != nil {
			i, err := v.AsInt(id.key)
			if err != nil {
				return sc, err
			}
			*id.dst = &i
		}
	}
	if ras, err := n.GetMapping("remote-apis-socket", true); err != nil {
		return sc, err
	} else if ras != nil {
		if err := ras.ValidateKeys("path", "action-cache-enable-update"); err != nil {
			return sc, err
		}
		if sc.RemoteAPIsSocketPath, err = ras.RequireString("path"); err != nil {
			return sc, err
		}
		if sc.RemoteAPIsACUpdate, err = ras.GetBool("action-cache-enable-update", false); err != nil {
			return sc, err
		}
	}
	return sc, nil
}

// sourceContext gives source kinds what they may know of the project.
type sourceContext struct{ p *Project }

var _ source.Context = sourceContext{}

func (c sourceContext) ProjectDir() string { return c.p.Dir }

func (c sourceContext) ProjectPath(n *node.Node) (string, error) {
	return c.p.sourcePath(n)
}

// sourcePath validates a source's project-relative path as projectPath
// does.
func (p *Project) sourcePath(n *node.Node) (string, error) { return p.checkedPath(n, true, false) }

// pathCheck is a path checked by checkedPath, with how.
type pathCheck struct {
	rel                  string
	mustExist, mustBeDir bool
}

// checkedPath is projectPath in p's directory, remembering the paths found
// valid: many sources and includes name the same few, and checking one
// takes a system call per component of the path and of the project's.
func (p *Project) checkedPath(n *node.Node, mustExist, mustBeDir bool) (string, error) {
	k := pathCheck{n.Value(), mustExist, mustBeDir}
	if clean, ok := p.checkedPaths.Load(k); ok {
		return clean.(string), nil
	}
	clean, err := p.projectPath(n, mustExist, mustBeDir)
	if err == nil {
		p.checkedPaths.Store(k, clean)
	}
	return clean, err
}

// projectPath is projectPath(p.Dir, n, mustExist, mustBeDir) with fewer
// system calls when no component of the path is a symbolic link, as is
// usual: resolving the path and the project directory (as the general
// case does) takes one for each component of both, and the directories of
// a junction's project are deep. Here the components inside the project
// are looked at, those found to be directories once per project.
func (p *Project) projectPath(n *node.Node, mustExist, mustBeDir bool) (string, error) {
	rel := n.Value()
	clean := filepath.Clean(rel)
	if filepath.IsAbs(rel) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return projectPath(p.Dir, n, mustExist, mustBeDir)
	}
	var st os.FileInfo
	for i := 0; ; {
		j := strings.IndexByte(clean[i:], '/')
		last := j < 0
		prefix := clean
		if !last {
			prefix = clean[:i+j]
		}
		if _, ok := p.realDirs.Load(prefix); !ok || last {
			var err error
			st, err = os.Lstat(filepath.Join(p.Dir, prefix))
			if err != nil || st.Mode()&os.ModeSymlink != 0 || !last && !st.IsDir() {
				return projectPath(p.Dir, n, mustExist, mustBeDir)
			}
			if st.IsDir() {
				p.realDirs.Store(prefix, true)
			}
		}
		if last {
			break
		}
		i += j + 1
	}
	// Neither a link nor missing: what lstat says is what stat would.
	if mustBeDir && !st.IsDir() {
		return "", node.Errorf(n.Prov(), node.ProjPathInvalidKind, "path '%s' is not a directory", rel)
	}
	if !mustBeDir && !st.Mode().IsRegular() && !st.IsDir() {
		return "", node.Errorf(n.Prov(), node.ProjPathInvalidKind, "path '%s' is neither a regular file nor a directory", rel)
	}
	return clean, nil
}

// uriSchemes are the URL prefixes that are never aliases.
var uriSchemes = map[string]bool{"http": true, "https": true, "ftp": true, "file": true, "git": true, "sftp": true, "ssh": true}

func (c sourceContext) TranslateURL(u string, prov node.Provenance) (string, error) {
	alias, rest, ok := strings.Cut(u, ":")
	if !ok || uriSchemes[strings.ToLower(alias)] {
		return u, nil
	}
	base, ok := c.p.Aliases[alias]
	if !ok {
		return "", node.Errorf(prov, node.InvalidData, "URL '%s' uses alias '%s', which the project does not define", u, alias)
	}
	// A junction may map the subproject's alias to one of its parent's.
	if err := c.p.checkAliasMapping(alias, prov); err != nil {
		return "", err
	}
	if pa, ok := c.p.parentAlias(alias); ok {
		return sourceContext{c.p.Parent()}.TranslateURL(pa+":"+rest, prov)
	}
	return base + rest, nil
}

// validateSourceKeys checks that a source entry has only the common keys
// and its kind's.
func validateSourceKeys(cfg *node.Node, sk source.Kind) error {
	var kindKeys []string
	for i, k := range cfg.Keys() {
		switch k {
		case "kind", "directory", "provenance":
			continue
		}
		if kindKeys == nil {
			kindKeys = sk.ConfigKeys()
		}
		if !contains(kindKeys, k) {
			return node.Errorf(cfg.Items()[i].Prov(), node.InvalidData, "unexpected key: %s", k)
		}
	}
	return nil
}

// composeExpand composes an element's own (temporary, see compose) mapping
// over a shared default and expands variables, sharing the expanded
// default when the element adds nothing.
func (kd *kindDefaults) composeExpand(what string, shared, own *node.Node, vars *variables.Resolved, tmp *node.Parser) (*node.Node, error) {
	if own == nil {
		return kd.expandShared(what, shared, vars)
	}
	tree := tmp.CloneTemporary(shared)
	if err := node.CompositeMove(own, tree); err != nil {
		return nil, err
	}
	if err := node.AssertComposited(tree); err != nil {
		return nil, err
	}
	if err := vars.ExpandOwned(tree); err != nil {
		return nil, err
	}
	return tree.CloneDetached(), nil
}

// publicWith returns the public data of an element that declares none:
// the kind's split rules, expanded for the element. Elements with the same
// expansion share one tree.
func (kd *kindDefaults) publicWith(splits *node.Node) *node.Node {
	if p, ok := kd.publics.Load(splits); ok {
		return p.(*node.Node)
	}
	public := node.NewMapping(node.Synthetic)
	bst := node.NewMapping(node.Synthetic)
	bst.Set("split-rules", splits)
	public.Set("bst", bst)
	p, _ := kd.publics.LoadOrStore(splits, public)
	return p.(*node.Node)
}

// baseExpansion names a shared tree expanded with the values of the
// table elements overlay.
type baseExpansion struct {
	shared *node.Node
	base   *variables.Resolved
}

var refRe = regexp.MustCompile(`%\{([a-zA-Z][a-zA-Z0-9_-]*)\}`)

// expandShared expands a tree shared by all elements of the kind. The
// result depends only on the values of the variables the tree refers to,
// so it is cached under those values.
func (kd *kindDefaults) expandShared(what string, shared *node.Node, vars *variables.Resolved) (*node.Node, error) {
	var refs []string
	if r, ok := kd.refs.Load(shared); ok {
		refs = r.([]string)
	} else {
		refs = referencedVars(shared)
		kd.refs.Store(shared, refs)
	}
	if len(refs) == 0 {
		return shared, nil
	}
	// Most elements leave those variables as their kind has them: one
	// expansion with the kind's values serves them all.
	if vars.SameAsBase(refs) {
		key := baseExpansion{shared, vars.Base()}
		if t, ok := kd.expandedBase.Load(key); ok {
			return t.(*node.Node), nil
		}
		if t, err := key.base.ExpandNode(shared); err == nil {
			actual, _ := kd.expandedBase.LoadOrStore(key, t)
			return actual.(*node.Node), nil
		}
		// Let the element's expansion report the error.
	}
	var b strings.Builder
	b.WriteString(what)
	for _, r := range refs {
		v, ok := vars.Get(r)
		if !ok {
			// Let expansion report the undefined variable.
			return vars.ExpandNode(shared)
		}
		b.WriteByte(0)
		b.WriteString(v)
	}
	key := b.String()
	if t, ok := kd.expanded.Load(key); ok {
		return t.(*node.Node), nil
	}
	t, err := vars.ExpandNode(shared)
	if err != nil {
		return nil, err
	}
	actual, _ := kd.expanded.LoadOrStore(key, t)
	return actual.(*node.Node), nil
}

// referencedVars lists the variables named directly in a tree's scalars,
// sorted and without duplicates.
func referencedVars(n *node.Node) []string {
	var refs []string
	var walk func(*node.Node)
	walk = func(n *node.Node) {
		if n.IsScalar() {
			for _, m := range refRe.FindAllStringSubmatch(n.Value(), -1) {
				refs = append(refs, m[1])
			}
			return
		}
		for _, it := range n.Items() {
			walk(it)
		}
	}
	walk(n)
	return dedupSorted(refs)
}

func dedupSorted(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
