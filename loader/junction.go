package loader

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// Junctions.
//
// A junction element opens another project, a subproject, whose elements
// are named through it: "sdk.bst:gcc.bst" is gcc.bst of the project that
// sdk.bst opens, and "a.bst:b.bst:c.bst" crosses two junctions. Every
// project of one load shares a projectTree; each Project knows the
// junction it was loaded through (junctionState) and caches the
// subprojects it opened, by junction name.
//
// Names are resolved (resolveRef) before an element is queued: the
// junction path is walked one junction at a time, loading each junction
// element, staging its sources and loading its project.conf once; then
// the overrides of the junctions above are looked up, the highest one
// winning. Resolving a name whose junctions are open holds the tree's lock
// for reading; opening a junction holds it, and blocks the others, only
// while the junction is being opened.

// JunctionStager makes the sources of a junction element available as a
// directory. cmd/bst implements it with package source (fetching the
// sources first when they are not cached, as BuildStream fetches junctions
// implicitly while loading), so that the loader does no fetching itself.
type JunctionStager interface {
	// StageJunction writes the staged sources of junction, an element of
	// project p, into dir, an empty directory.
	StageJunction(ctx context.Context, p *Project, junction *element.Element, dir string) error
}

// projectTree is what the projects of one load share.
type projectTree struct {
	// mu guards the projects' subs. Opening a junction holds it; names
	// whose junctions are all open are resolved holding it for reading.
	mu     sync.RWMutex
	stager JunctionStager
	// projects are every project loaded, the toplevel first, in the
	// order they were loaded; projMu guards it (a stager asks for them
	// while mu is held).
	projMu   sync.Mutex
	projects []*Project
	// searching are the junction names being opened, by the project
	// searching and the name, for reporting circular references.
	searching map[searchKey]node.Provenance
}

type searchKey struct {
	p    *Project
	name string
}

// junctionState is what a project knows of junctions: the one it was
// loaded through, if any, and those it opened.
type junctionState struct {
	tree   *projectTree
	parent *Project      // nil for the toplevel project
	info   *junctionInfo // nil for the toplevel project
	// prov is where the reference that loaded the project was written.
	prov node.Provenance
	// subs are the projects opened by name of junction (or link to one),
	// overrides applied; tree.mu guards it.
	subs map[string]*Project
	// altParents are projects whose junctions were overridden by the one
	// that loaded this project: they reach it too.
	altParents []*Project

	// The project.conf `junctions:` settings.
	duplicates map[string][]*node.Node // project name -> junction paths
	internal   []*node.Node
	// disallowSubprojectURIs: subprojects may only fetch through aliases
	// this project maps (inherited by every project below).
	disallowSubprojectURIs bool
	// opening: the project is being loaded by openSubproject, which holds
	// tree.mu.
	opening bool
}

// junctionInfo is the configuration of the junction a subproject is
// loaded through.
type junctionInfo struct {
	name     string // in the parent project
	fullName string // with the parent's junction prefix
	options  *node.Node
	// overrides map names in the subproject to names in the parent.
	overrides  map[string]*node.Node
	aliases    map[string]string
	mapAliases bool // map-aliases: identity
}

func newJunctionState(tree *projectTree, parent *Project, info *junctionInfo) *junctionState {
	return &junctionState{tree: tree, parent: parent, info: info, subs: map[string]*Project{}}
}

// Parent returns the project whose junction loaded p, or nil for the
// toplevel project.
func (p *Project) Parent() *Project {
	if p.jx == nil {
		return nil
	}
	return p.jx.parent
}

// JunctionName returns the full name of the junction p was loaded
// through ("" for the toplevel project).
func (p *Project) JunctionName() string {
	if p.jx == nil || p.jx.info == nil {
		return ""
	}
	return p.jx.info.fullName
}

// Projects lists every project loaded so far with p's toplevel project,
// the toplevel first.
func (p *Project) Projects() []*Project {
	if p.jx == nil {
		return []*Project{p}
	}
	p.jx.tree.projMu.Lock()
	defer p.jx.tree.projMu.Unlock()
	return append([]*Project(nil), p.jx.tree.projects...)
}

// Toplevel returns the project the load started from.
func (p *Project) Toplevel() *Project {
	for p.Parent() != nil {
		p = p.Parent()
	}
	return p
}

// prefix is what element names of p are prefixed with: the junction's
// full name and ":", or "" in the toplevel project.
func (p *Project) prefix() string {
	if n := p.JunctionName(); n != "" {
		return n + ":"
	}
	return ""
}

// initJunctions gives a project loaded on its own (the toplevel) its
// junction state.
func (p *Project) initJunctions(stager JunctionStager) {
	tree := &projectTree{stager: stager, searching: map[searchKey]node.Provenance{}}
	p.jx = newJunctionState(tree, nil, nil)
	tree.projects = []*Project{p}
}

// splitJunction splits a name at its last ":": the junction path and the
// element name in the project it leads to.
func splitJunction(name string) (string, string) {
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}

// resolveRef resolves an element name written in project p, which may
// cross junctions and be overridden by a junction above p: it returns the
// project declaring the element and the element's name there.
func (p *Project) resolveRef(ctx context.Context, name string, prov node.Provenance) (*Project, string, error) {
	if p.jx == nil || (p.jx.parent == nil && !strings.Contains(name, ":")) {
		return p, name, nil
	}
	tree := p.jx.tree
	tree.mu.RLock()
	q, local, ok := p.resolveRefOpen(name, 0)
	tree.mu.RUnlock()
	if ok {
		return q, local, nil
	}
	tree.mu.Lock()
	defer tree.mu.Unlock()
	return p.resolveRefLocked(ctx, name, prov, 0)
}

// resolveRefOpen is resolveRefLocked for a name whose junctions, and
// those of the overrides that apply, are all open already: it returns
// false when one is not (or when resolving would fail), and then
// resolveRefLocked must be used. It opens nothing, so that many can
// resolve at once: tree.mu must be held, for reading at least.
func (p *Project) resolveRefOpen(name string, depth int) (*Project, string, bool) {
	if depth > 64 {
		return nil, "", false
	}
	jpath, elem := splitJunction(name)
	q := p
	if jpath != "" {
		if q = p.lookupSubproject(jpath); q == nil {
			return nil, "", false
		}
	}
	if ovs := q.findOverrides(elem); len(ovs) > 0 {
		top := ovs[len(ovs)-1]
		return top.parent.resolveRefOpen(top.target.Value(), depth+1)
	}
	return q, elem, true
}

func (p *Project) resolveRefLocked(ctx context.Context, name string, prov node.Provenance, depth int) (*Project, string, error) {
	if depth > 64 {
		return nil, "", node.Errorf(prov, node.CircularReference, "circular reference while resolving '%s': overrides lead back to it", name)
	}
	jpath, elem := splitJunction(name)
	q := p
	if jpath != "" {
		var err error
		if q, err = p.subprojectPathLocked(ctx, jpath, prov); err != nil {
			return nil, "", err
		}
	}
	if ovs := q.findOverrides(elem); len(ovs) > 0 {
		top := ovs[len(ovs)-1]
		return top.parent.resolveRefLocked(ctx, top.target.Value(), top.target.Prov(), depth+1)
	}
	return q, elem, nil
}

// subprojectPath returns the project a junction path written in p leads
// to ("a.bst:b.bst").
func (p *Project) subprojectPath(ctx context.Context, path string, prov node.Provenance) (*Project, error) {
	p.jx.tree.mu.RLock()
	q := p.lookupSubproject(path)
	p.jx.tree.mu.RUnlock()
	if q != nil {
		return q, nil
	}
	p.jx.tree.mu.Lock()
	defer p.jx.tree.mu.Unlock()
	return p.subprojectPathLocked(ctx, path, prov)
}

func (p *Project) subprojectPathLocked(ctx context.Context, path string, prov node.Provenance) (*Project, error) {
	q := p
	for _, name := range strings.Split(path, ":") {
		var err error
		if q, err = q.subprojectLocked(ctx, name, prov); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// lookupSubproject is subprojectPath for projects already opened: it
// opens none and returns nil when the path leads to no open project.
// tree.mu must be held, for reading at least.
func (p *Project) lookupSubproject(path string) *Project {
	q := p
	for _, name := range strings.Split(path, ":") {
		if q = q.jx.subs[name]; q == nil {
			return nil
		}
	}
	return q
}

// override is an override of an element or junction of a subproject,
// declared by the junction of the project below parent.
type override struct {
	parent *Project
	target *node.Node
}

// findOverrides lists the overrides of the junctions above p that apply
// to name, an element or junction of p, the closest first.
func (p *Project) findOverrides(name string) []override {
	var out []override
	path := name
	for q := p; q.jx != nil && q.jx.parent != nil; q = q.jx.parent {
		if t := q.jx.info.overrides[path]; t != nil {
			out = append(out, override{q.jx.parent, t})
		}
		path = q.jx.info.name + ":" + path
	}
	return out
}

// subprojectLocked returns the project the junction name of p opens,
// opening it the first time.
func (p *Project) subprojectLocked(ctx context.Context, name string, prov node.Provenance) (*Project, error) {
	if q := p.jx.subs[name]; q != nil {
		return q, nil
	}
	tree := p.jx.tree
	key := searchKey{p, name}
	if prev, ok := tree.searching[key]; ok {
		e := node.Errorf(prov, node.CircularReference, "circular reference while searching for '%s'", p.prefix()+name)
		if prev != prov && prev.Valid() {
			e.Detail = fmt.Sprintf("Already searching for '%s' at: %s", p.prefix()+name, prev)
		}
		return nil, e
	}
	tree.searching[key] = prov
	defer delete(tree.searching, key)

	// A junction above may replace this one.
	if ovs := p.findOverrides(name); len(ovs) > 0 {
		top := ovs[len(ovs)-1]
		q, err := top.parent.subprojectPathLocked(ctx, top.target.Value(), top.target.Prov())
		if err != nil {
			return nil, err
		}
		if q != p {
			q.jx.altParents = append(q.jx.altParents, p)
		}
		for _, o := range ovs[:len(ovs)-1] {
			q.jx.altParents = append(q.jx.altParents, o.parent)
		}
		p.jx.subs[name] = q
		return q, nil
	}

	je, link, err := p.loadJunctionElement(name, prov)
	if err != nil {
		return nil, err
	}
	if link != nil {
		q, err := p.subprojectPathLocked(ctx, link.Value(), link.Prov())
		if err != nil {
			return nil, err
		}
		p.jx.subs[name] = q
		return q, nil
	}
	q, err := p.openSubproject(ctx, name, je, prov)
	if err != nil {
		return nil, err
	}
	p.jx.subs[name] = q
	tree.projMu.Lock()
	tree.projects = append(tree.projects, q)
	tree.projMu.Unlock()
	return q, nil
}

// loadJunctionElement loads the element name of p that is expected to be
// a junction: it returns the composed junction, or the target of a link.
func (p *Project) loadJunctionElement(name string, prov node.Provenance) (*element.Element, *node.Node, error) {
	if err := checkDepName(&loadDep{Dependency: element.Dependency{Prov: prov}, name: name}); err != nil {
		return nil, nil, err
	}
	var fp fileParser
	defer fp.close()
	n, err := fp.parse(p.prefix()+name, filepath.Join(p.ElementPath, filepath.FromSlash(name)))
	if err != nil {
		if node.ReasonOf(err) == node.MissingFile {
			return nil, nil, p.missingElement(name, prov, err)
		}
		return nil, nil, err
	}
	if err := p.Options.Process(n, nil); err != nil {
		return nil, nil, err
	}
	if err := n.ValidateKeys(elementKeys...); err != nil {
		return nil, nil, err
	}
	kindName, err := n.GetString("kind", "")
	if err != nil {
		return nil, nil, err
	}
	if kindName != "junction" && kindName != "link" {
		return nil, nil, node.Errorf(prov, node.InvalidData, "%s: expected junction but element kind is %s", p.prefix()+name, kindName)
	}
	k, ok := p.Registry.Element(kindName)
	if !ok {
		return nil, nil, node.Errorf(n.KeyProv("kind"), node.PluginNotFound, "no element plugin registered for kind '%s'", kindName)
	}
	deps, err := extractDeps(n)
	if err != nil {
		return nil, nil, err
	}
	if len(deps) > 0 {
		if kindName == "link" {
			return nil, nil, node.Errorf(deps[0].Prov, node.LinkForbiddenDependencies, "%s: dependencies are forbidden for 'link' elements", p.prefix()+name)
		}
		return nil, nil, node.Errorf(deps[0].Prov, node.InvalidJunction, "%s: dependencies are forbidden for 'junction' elements", p.prefix()+name)
	}
	le := &loadElement{name: p.prefix() + name, local: name, proj: p, node: n, kind: k}
	e, err := p.compose(le, k, &fp.parser)
	if err != nil {
		return nil, nil, err
	}
	if kindName == "link" {
		t, err := e.Config.GetScalar("target", false)
		if err != nil {
			return nil, nil, err
		}
		return nil, t, nil
	}
	return e, nil, nil
}

// missingElement is the error for an element name of p that has no file.
func (p *Project) missingElement(name string, prov node.Provenance, err error) error {
	e := &node.Error{Reason: node.MissingFile, Err: err, Prov: prov}
	if p.JunctionName() != "" {
		e.Msg = fmt.Sprintf("could not find element '%s' in project referred to by junction element '%s'", name, p.JunctionName())
	} else {
		rel, _ := filepath.Rel(p.Dir, p.ElementPath)
		e.Msg = fmt.Sprintf("could not find element '%s' in elements directory '%s'", name, rel)
	}
	return e
}

// openSubproject stages the junction's sources (or uses the directory of
// its single local source) and loads the project in them.
func (p *Project) openSubproject(ctx context.Context, name string, je *element.Element, prov node.Provenance) (*Project, error) {
	info, path, err := junctionConfig(je, name, p.prefix()+name)
	if err != nil {
		return nil, err
	}
	if !prov.Valid() {
		// Named on the command line: point at the junction instead.
		prov = je.Prov
		if path != "" {
			prov = je.Config.Get("path").Prov()
		}
	}
	var base string
	if len(je.Sources) == 1 {
		if lp, ok := je.Sources[0].Plugin.(interface{ LocalPath() string }); ok {
			base = lp.LocalPath()
		}
	}
	if base == "" {
		if base, err = p.stageJunction(ctx, name, je, prov); err != nil {
			return nil, err
		}
	}
	dir := filepath.Join(base, filepath.FromSlash(path))
	s := p.settings
	s.Directory, s.Options = dir, nil
	sub := &Project{Dir: dir, User: p.User, Registry: p.Registry, settings: s, kinds: map[string]*kindDefaults{}}
	sub.jx = newJunctionState(p.jx.tree, p, info)
	sub.jx.prov = prov
	if _, err := os.Stat(filepath.Join(dir, projectConfFile)); err != nil {
		msg := fmt.Sprintf("could not find the project.conf file in the project referred to by junction element '%s'", info.fullName)
		if path != "" {
			msg += fmt.Sprintf(": was expecting it at path '%s' in the junction's source", path)
		}
		return nil, &node.Error{Prov: prov, Reason: node.InvalidJunction, Msg: msg}
	}
	// Its project.conf may include files through its own junctions,
	// which are opened holding tree.mu, as this one is.
	sub.jx.opening = true
	err = sub.load(ctx)
	sub.jx.opening = false
	if err != nil {
		return nil, err
	}
	sub.expandOverrideLinks()
	return sub, nil
}

// expandOverrideLinks lets an override whose key is a link of the
// subproject apply to the link's target too, as BuildStream expands links
// in override keys. Only keys without a junction path are expanded.
func (p *Project) expandOverrideLinks() {
	info := p.jx.info
	keys := make([]string, 0, len(info.overrides))
	for k := range info.overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := k
		for hops := 0; hops < 16 && !strings.Contains(name, ":"); hops++ {
			t := p.linkTarget(name)
			if t == "" {
				break
			}
			name = t
		}
		if name != k {
			if _, ok := info.overrides[name]; !ok {
				info.overrides[name] = info.overrides[k]
			}
		}
	}
}

// linkTarget returns the target of element name of p if it is a link
// ("" otherwise, or when it cannot be read).
func (p *Project) linkTarget(name string) string {
	n, err := parseFile(p.prefix()+name, filepath.Join(p.ElementPath, filepath.FromSlash(name)))
	if err != nil {
		return ""
	}
	if k := n.Get("kind"); k == nil || !k.IsScalar() || k.Value() != "link" {
		return ""
	}
	if err := p.Options.Process(n, nil); err != nil {
		return ""
	}
	if t := n.Get("config").Get("target"); t != nil && t.IsScalar() {
		return t.Value()
	}
	return ""
}

// junctionConfig reads the configuration of a junction element.
func junctionConfig(je *element.Element, name, fullName string) (*junctionInfo, string, error) {
	cfg := je.Config
	info := &junctionInfo{name: name, fullName: fullName, overrides: map[string]*node.Node{}, aliases: map[string]string{}}
	path, err := cfg.GetString("path", "")
	if err != nil {
		return nil, "", err
	}
	if info.options, err = cfg.GetMapping("options", true); err != nil {
		return nil, "", err
	}
	if ov, err := cfg.GetMapping("overrides", true); err != nil {
		return nil, "", err
	} else if ov != nil {
		for i, k := range ov.Keys() {
			v := ov.Items()[i]
			if v.Value() == name {
				return nil, "", &node.Error{Prov: v.Prov(), Reason: "override-junction-with-self",
					Msg: fmt.Sprintf("attempt to override subproject junction '%s' with the overriding junction '%s' itself", k, v.Value())}
			}
			info.overrides[k] = v
		}
	}
	if al, err := cfg.GetMapping("aliases", true); err != nil {
		return nil, "", err
	} else if al != nil {
		for i, k := range al.Keys() {
			info.aliases[k] = al.Items()[i].Value()
		}
	}
	ma, err := cfg.GetString("map-aliases", "none")
	if err != nil {
		return nil, "", err
	}
	info.mapAliases = ma == "identity"
	return info, path, nil
}

// stageJunction returns the directory holding the junction's staged
// sources, staging them the first time:
// <project>/.bst/staged-junctions/<junction>/<weak key>, as BuildStream
// keeps them.
func (p *Project) stageJunction(ctx context.Context, name string, je *element.Element, prov node.Provenance) (string, error) {
	if !je.SourcesResolved() {
		return "", &node.Error{Prov: prov, Reason: node.SubprojectInconsistent,
			Msg:    fmt.Sprintf("subproject has no ref for junction: %s", p.prefix()+name),
			Detail: fmt.Sprintf("Try tracking the junction element with `bst source track %s`", name)}
	}
	for _, s := range je.Sources {
		if kl, ok := s.Plugin.(interface{ LoadKey() error }); ok {
			if err := kl.LoadKey(); err != nil {
				return "", err
			}
		}
	}
	element.ComputeKeys(element.KeyContext{Strict: true, FatalWarnings: map[string][]string{p.Name: p.FatalWarnings}},
		[]*element.Element{je})
	dir := filepath.Join(p.Dir, ".bst", "staged-junctions", filepath.FromSlash(name), je.Keys.Weak)
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return dir, nil
	}
	stager := p.jx.tree.stager
	if stager == nil {
		return "", &node.Error{Prov: prov, Reason: node.InvalidJunction,
			Msg: fmt.Sprintf("cannot open junction %s: its sources must be staged, and nothing can stage them here", p.prefix()+name)}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".staging-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := stager.StageJunction(ctx, p, je, tmp); err != nil {
		var ne *node.Error
		if errors.As(err, &ne) {
			return "", err
		}
		return "", &node.Error{Prov: prov, Reason: node.InvalidJunction,
			Msg: fmt.Sprintf("cannot open junction %s: %v", p.prefix()+name, err), Err: err}
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		if st, serr := os.Stat(dir); serr == nil && st.IsDir() {
			return dir, nil // staged meanwhile by another bst
		}
		return "", err
	}
	return dir, nil
}

// parentAlias returns the alias of the parent project that a source alias
// of p maps to, through the junction's `aliases` and `map-aliases`.
func (p *Project) parentAlias(alias string) (string, bool) {
	if p.jx == nil || p.jx.info == nil {
		return "", false
	}
	if a, ok := p.jx.info.aliases[alias]; ok {
		return a, true
	}
	if p.jx.info.mapAliases {
		return alias, true
	}
	return "", false
}

// applyJunctionOptions sets the option values the junction gives (below
// the user configuration's and the command line's).
func (p *Project) applyJunctionOptions() error {
	if p.jx == nil || p.jx.info == nil || p.jx.info.options == nil {
		return nil
	}
	return p.Options.SetJunctionValues(p.jx.info.options)
}

// loadJunctionsConfig reads project.conf's `junctions:` settings.
func (p *Project) loadJunctionsConfig(n *node.Node) error {
	if p.jx == nil || n == nil {
		return nil
	}
	dup, err := n.GetMapping("duplicates", true)
	if err != nil {
		return err
	}
	if dup != nil {
		p.jx.duplicates = map[string][]*node.Node{}
		for i, k := range dup.Keys() {
			list := dup.Items()[i]
			if !list.IsSequence() {
				return node.Errorf(list.Prov(), node.InvalidData, "value of 'junctions.duplicates.%s' is not of the expected type 'list'", k)
			}
			for _, it := range list.Items() {
				if !it.IsScalar() {
					return node.Errorf(it.Prov(), node.InvalidData, "junction paths must be strings")
				}
			}
			p.jx.duplicates[k] = list.Items()
		}
	}
	in, err := n.GetSequence("internal", true)
	if err != nil {
		return err
	}
	if in != nil {
		for _, it := range in.Items() {
			if !it.IsScalar() {
				return node.Errorf(it.Prov(), node.InvalidData, "junction paths must be strings")
			}
		}
		p.jx.internal = in.Items()
	}
	disallow, err := n.GetBool("disallow-subproject-uris", false)
	if err != nil {
		return err
	}
	p.jx.disallowSubprojectURIs = p.jx.disallowSubprojectURIs || disallow // inherited first
	return nil
}

// inheritDisallow applies a parent's disallow-subproject-uris: it holds
// for the whole subtree, and makes unaliased URLs fatal there (which, as
// a fatal warning, enters the subproject's cache keys).
func (p *Project) inheritDisallow() {
	if p.jx == nil {
		return
	}
	if parent := p.Parent(); parent != nil && parent.jx.disallowSubprojectURIs {
		p.jx.disallowSubprojectURIs = true
		if !contains(p.FatalWarnings, "unaliased-url") {
			p.FatalWarnings = append(p.FatalWarnings, "unaliased-url")
		}
	}
}

// checkAliasMapping fails for an alias of subproject p that the junction
// does not map while a project above disallows subproject URIs.
func (p *Project) checkAliasMapping(alias string, prov node.Provenance) error {
	parent := p.Parent()
	if parent == nil || !parent.jx.disallowSubprojectURIs {
		return nil
	}
	if _, ok := p.parentAlias(alias); ok {
		return nil
	}
	return &node.Error{Prov: prov, Reason: "missing-alias-mapping",
		Msg: fmt.Sprintf("parent project did not provide a mapping for alias '%s' and disallowed usage of unmapped aliases", alias)}
}

// ancestors lists the projects that reach p through their junctions: its
// parents, and the parents of the junctions its own replaced.
func (p *Project) ancestors() []*Project {
	var out []*Project
	seen := map[*Project]bool{}
	var walk func(q *Project)
	walk = func(q *Project) {
		for ; q != nil && !seen[q]; q = q.jx.parent {
			seen[q] = true
			out = append(out, q)
		}
	}
	walk(p.jx.parent)
	for _, a := range p.jx.altParents {
		walk(a)
	}
	return out
}

// describe names a loaded project for the conflict error: its name, the
// junction it was loaded through and where that was asked for.
func (p *Project) describe() string {
	if p.jx.info == nil {
		return p.Name + " (toplevel)"
	}
	if p.jx.prov.Valid() {
		return fmt.Sprintf("%s (%s): %s", p.Name, p.jx.info.fullName, p.jx.prov)
	}
	return fmt.Sprintf("%s (%s)", p.Name, p.jx.info.fullName)
}

// checkConflicts fails when one project was loaded more than once (through
// different junctions), unless every instance but one is marked internal
// or all are marked duplicates by a project above them (project.conf
// `junctions:`).
func (p *Project) checkConflicts() error {
	if p.jx == nil {
		return nil
	}
	p.jx.tree.mu.Lock()
	defer p.jx.tree.mu.Unlock()
	byName := map[string][]*Project{}
	var names []string
	p.jx.tree.projMu.Lock()
	projects := append([]*Project(nil), p.jx.tree.projects...)
	p.jx.tree.projMu.Unlock()
	for _, q := range projects {
		if byName[q.Name] == nil {
			names = append(names, q.Name)
		}
		byName[q.Name] = append(byName[q.Name], q)
	}
	for _, name := range names {
		list := byName[name]
		if len(list) < 2 {
			continue
		}
		dups := map[*Project][]*Project{}
		ints := map[*Project][]*Project{}
		primary := 0
		for _, q := range list {
			for _, a := range q.ancestors() {
				for _, path := range a.jx.duplicates[name] {
					if a.lookupSubproject(path.Value()) == q {
						dups[q] = append(dups[q], a)
						break
					}
				}
				for _, path := range a.jx.internal {
					if a.lookupSubproject(path.Value()) == q {
						ints[q] = append(ints[q], a)
						break
					}
				}
			}
			if dups[q] == nil && ints[q] == nil {
				primary++
			}
		}
		if primary > 1 || primary > 0 && len(dups) > 0 {
			var b strings.Builder
			for _, q := range list {
				b.WriteString(q.describe() + "\n")
				for _, a := range dups[q] {
					b.WriteString("  Duplicated by: " + a.describe() + "\n")
				}
				for _, a := range ints[q] {
					b.WriteString("  Internal to: " + a.describe() + "\n")
				}
				b.WriteString("\n")
			}
			b.WriteString("Internal projects do not cause any conflicts. Conflicts can also be avoided\n" +
				"by marking every instance of the project as a duplicate.")
			return &node.Error{Reason: node.ConflictingJunction,
				Msg: fmt.Sprintf("project '%s' was loaded in multiple contexts", name), Detail: b.String()}
		}
	}
	return nil
}

// junctionName is the name, in its parent project, of the junction the
// element's project was loaded through ("" for toplevel elements), which
// orders dependencies of equal names.
func (le *loadElement) junctionName() string {
	if le.proj == nil || le.proj.jx == nil || le.proj.jx.info == nil {
		return ""
	}
	return le.proj.jx.info.name
}

// localName is the element's name in its project.
func (le *loadElement) localName() string {
	if le.local != "" {
		return le.local
	}
	return le.name
}

// ParentAlias returns the alias of the parent project that source alias
// alias of subproject p stands for, as the junction's `aliases` and
// `map-aliases` say.
func (p *Project) ParentAlias(alias string) (string, bool) { return p.parentAlias(alias) }

// mergeSameTargets merges the dependencies of le that name one element
// in different ways (through a link, an override or a link to a
// junction), as BuildStream merges them once their elements are known.
func mergeSameTargets(le *loadElement) {
	if len(le.deps) < 2 {
		return
	}
	var seen map[*loadElement]*loadDep
	out := le.deps[:0:0]
	for _, d := range le.deps {
		if seen == nil {
			seen = make(map[*loadElement]*loadDep, len(le.deps))
		}
		if prev := seen[d.target]; prev != nil {
			prev.Type |= d.Type
			prev.Strict = prev.Strict || d.Strict
			prev.Config = append(prev.Config, d.Config...)
			continue
		}
		seen[d.target] = d
		out = append(out, d)
	}
	if len(out) != len(le.deps) {
		le.deps = out
	}
}
