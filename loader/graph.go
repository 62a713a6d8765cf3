package loader

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// loadElement is an element while the graph is being loaded.
type loadElement struct {
	name string // the full name, with the junction prefix
	node *node.Node
	kind element.Kind
	deps []*loadDep // in declaration order, duplicates merged
	el   *element.Element
	err  error

	// local is the name in proj, the project declaring the element.
	local string
	proj  *Project

	// link is set for link elements: the full name of the element they
	// stand for, declared in linkProj as linkLocal.
	link      string
	linkProj  *Project
	linkLocal string
	linkProv  node.Provenance

	// Graph algorithms, once loading is done.
	level int // 1 + the highest level of its dependencies; 0 = not computed
	index int // position in the post-order of finish
	// visit is where the other walks are with the element: each walk
	// has its own values (see finish).
	visit uint8
}

type loadDep struct {
	// The dependency as the element will hold it: finish sets Element
	// and gives the element a pointer to it.
	element.Dependency
	name   string
	target *loadElement
	// The element named, once resolved: its project and its name there.
	proj  *Project
	local string
}

// Graph is a loaded element graph.
type Graph struct {
	Project *Project
	// Targets are the requested elements, links resolved, in the order
	// asked for.
	Targets []*element.Element
	// Elements holds every loaded element by name.
	Elements map[string]*element.Element

	targets map[string]*element.Element
}

// Target returns the element a requested target name stands for (a link's
// target for a link), or nil if it was not requested.
func (g *Graph) Target(name string) *element.Element { return g.targets[name] }

// loader holds the state of one Load call: a fixed pool of workers takes
// element names from a queue, loads them, and queues their dependencies.
type loader struct {
	p     *Project
	ctx   context.Context
	mu    sync.Mutex
	cond  *sync.Cond
	byNam map[string]*loadElement
	queue []*loadElement
	busy  int // elements queued or being loaded
	// failed is set once an element failed to load, so that finish
	// looks for the first error in order only when there is one.
	failed bool
}

// Load loads the named elements and everything they depend on.
func (p *Project) Load(ctx context.Context, targets []string) (*Graph, error) {
	l := &loader{p: p, ctx: ctx, byNam: map[string]*loadElement{}}
	l.cond = sync.NewCond(&l.mu)
	type resolved struct {
		proj  *Project
		local string
	}
	res := make([]resolved, len(targets))
	for i, t := range targets {
		if err := checkTargetName(t); err != nil {
			return nil, err
		}
		q, local, err := p.resolveRef(ctx, t, node.Synthetic)
		if err != nil {
			return nil, err
		}
		if err := checkTargetName(local); err != nil {
			return nil, err
		}
		res[i] = resolved{q, local}
	}
	for i, t := range targets {
		le := l.requestIn(res[i].proj, res[i].local)
		// A target named through an override or a link to a junction is
		// also known by the name given.
		if _, ok := l.byNam[t]; !ok {
			l.byNam[t] = le
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.work()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g, err := l.finish(targets)
	if err != nil {
		return nil, err
	}
	if err := p.checkConflicts(); err != nil {
		return nil, err
	}
	return g, nil
}

// work loads queued elements until none is left and none is being loaded.
func (l *loader) work() {
	var fp fileParser
	defer fp.close()
	var batch []*loadElement
	var paths []string
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		for len(l.queue) == 0 && l.busy > 0 {
			l.cond.Wait()
		}
		if len(l.queue) == 0 {
			l.cond.Broadcast()
			return
		}
		// Half the queue, up to a ring's worth, read ahead in one go:
		// the rest is left to the other workers.
		n := min(ringFiles, max(1, len(l.queue)/2))
		batch = append(batch[:0], l.queue[len(l.queue)-n:]...)
		clear(l.queue[len(l.queue)-n:])
		l.queue = l.queue[:len(l.queue)-n]
		l.mu.Unlock()
		paths = paths[:0]
		for _, le := range batch {
			paths = append(paths, le.path())
		}
		fp.reader.prefetch(paths)
		for i, le := range batch {
			if err := l.ctx.Err(); err != nil {
				le.err = err
			} else {
				le.err = l.loadFile(le, paths[i], &fp)
			}
			l.mu.Lock()
			if le.err == nil {
				for _, d := range le.deps {
					d.target = l.requestIn(d.proj, d.local)
				}
				if le.link != "" {
					l.requestIn(le.linkProj, le.linkLocal)
				}
			} else {
				l.failed = true
			}
			l.busy--
			if l.busy == 0 || len(l.queue) > 0 {
				l.cond.Broadcast()
			}
			if i < len(batch)-1 {
				l.mu.Unlock()
			}
		}
	}
}

// path is the file of le.
func (le *loadElement) path() string {
	return filepath.Join(le.proj.ElementPath, filepath.FromSlash(le.local))
}

// requestIn schedules the loading of element local of project proj, once;
// l.mu is held (or no worker runs yet).
func (l *loader) requestIn(proj *Project, local string) *loadElement {
	name := local
	if pre := proj.prefix(); pre != "" {
		name = pre + local
	}
	if le := l.byNam[name]; le != nil {
		return le
	}
	// The name is part of the text of the file that named the element
	// first: a copy does not keep that text.
	name = strings.Clone(name)
	le := &loadElement{name: name, local: name[len(name)-len(local):], proj: proj}
	l.byNam[name] = le
	l.queue = append(l.queue, le)
	l.busy++
	return le
}

// loadFile reads one element file with fp, processes its directives,
// extracts its dependencies and composes it.
//
// The file's tree is temporary (fileParser.parseTemporary): the next file
// loaded with fp reuses its memory. What the element keeps of it is copied
// out, by extractDeps and compose.
func (l *loader) loadFile(le *loadElement, path string, fp *fileParser) error {
	p := le.proj
	n, err := fp.parseTemporary(le.name, path)
	if err != nil {
		return err
	}
	kindNode := n.Get("kind")
	kindName := ""
	if kindNode != nil {
		if !kindNode.IsScalar() {
			return node.Errorf(kindNode.Prov(), node.InvalidData, "value of 'kind' is not of the expected type 'str'")
		}
		kindName = kindNode.Value()
	}
	if err := p.Options.Process(n, nil); err != nil {
		return err
	}
	if kindName != "junction" && kindName != "link" {
		if err := p.includeMapping(l.ctx, n, true, map[string]bool{}); err != nil {
			return err
		}
	}
	if err := n.ValidateKeys(elementKeys...); err != nil {
		return err
	}
	// The kind may come from an include or a conditional.
	if kindName, err = n.GetString("kind", ""); err != nil {
		return err
	}
	k, ok := p.Registry.Element(kindName)
	if !ok {
		if kindName == "" {
			return node.Errorf(n.Prov(), node.PluginNotFound, "%s: no kind given: every element needs a `kind`", le.name)
		}
		return node.Errorf(n.KeyProv("kind"), node.PluginNotFound, "%s: no element plugin registered for kind '%s'", le.name, kindName)
	}
	le.kind = k
	le.node = n
	if le.deps, err = extractDeps(n); err != nil {
		return err
	}
	switch kindName {
	case "link":
		if len(le.deps) > 0 {
			return node.Errorf(le.deps[0].Prov, node.LinkForbiddenDependencies, "%s: dependencies are forbidden for 'link' elements", le.name)
		}
	case "junction":
		if len(le.deps) > 0 {
			return node.Errorf(le.deps[0].Prov, node.InvalidJunction, "%s: junctions may not have dependencies", le.name)
		}
	}
	for _, d := range le.deps {
		if err := checkDepName(d); err != nil {
			return err
		}
		if d.proj, d.local, err = p.resolveRef(l.ctx, d.name, d.Prov); err != nil {
			return err
		}
		if d.local != d.name {
			if err := checkDepName(&loadDep{Dependency: element.Dependency{Prov: d.Prov}, name: d.local}); err != nil {
				return err
			}
		}
	}
	if le.el, err = p.compose(le, k, &fp.parser); err != nil {
		return err
	}
	// Everything needed was copied out of the file's tree.
	le.node = nil
	if kindName == "link" {
		t, err := le.el.Config.GetScalar("target", false)
		if err != nil {
			return err
		}
		le.linkProv = t.Prov()
		if err := checkDepName(&loadDep{Dependency: element.Dependency{Prov: t.Prov()}, name: t.Value()}); err != nil {
			return err
		}
		if le.linkProj, le.linkLocal, err = p.resolveRef(l.ctx, t.Value(), t.Prov()); err != nil {
			return err
		}
		le.link = le.linkProj.prefix() + le.linkLocal
	}
	return nil
}

func checkDepName(d *loadDep) error {
	if !strings.HasSuffix(d.name, ".bst") {
		return node.Errorf(d.Prov, node.BadElementSuffix, "element '%s' does not have the expected file extension `.bst`", d.name)
	}
	if !validChars(d.name) {
		return node.Errorf(d.Prov, node.BadCharactersInName, "element '%s' has invalid characters", d.name)
	}
	return nil
}

// depSections are the keys declaring dependencies, in the order they are
// read, with the type their entries default to (0: given by the entry).
var depSections = [...]struct {
	key string
	typ element.DepType
}{{"build-depends", element.DepBuild}, {"runtime-depends", element.DepRuntime}, {"depends", 0}}

// extractDeps reads build-depends, runtime-depends and depends, in that
// order, merging duplicates.
func extractDeps(n *node.Node) ([]*loadDep, error) {
	// Size one block for every entry, so that the dependencies are
	// allocated together.
	var lists [len(depSections)]*node.Node
	count := 0
	for i, sec := range depSections {
		list, err := n.GetSequence(sec.key, true)
		if err != nil {
			return nil, err
		}
		lists[i] = list
		if list != nil {
			for _, dn := range list.Items() {
				count++
				if fn := dn.Get("filename"); fn.IsSequence() {
					count += fn.Len()
				}
			}
		}
	}
	if count == 0 {
		return nil, nil
	}
	block := make([]loadDep, 0, count)
	deps := make([]*loadDep, 0, count)
	var index map[string]*loadDep // by name, for long lists
	find := func(name string) *loadDep {
		if index != nil {
			return index[name]
		}
		for _, d := range deps {
			if d.name == name {
				return d
			}
		}
		return nil
	}
	for i, sec := range depSections {
		if lists[i] == nil {
			continue
		}
		for _, dn := range lists[i].Items() {
			start := len(block)
			var err error
			if block, err = parseDep(dn, sec.typ, block); err != nil {
				return nil, err
			}
			for k := start; k < len(block); k++ {
				d := &block[k]
				if prev := find(d.name); prev != nil {
					prev.Type |= d.Type
					prev.Strict = prev.Strict || d.Strict
					prev.Config = append(prev.Config, d.Config...)
					continue
				}
				deps = append(deps, d)
				if index != nil {
					index[d.name] = d
				} else if len(deps) > 16 {
					index = make(map[string]*loadDep, count)
					for _, x := range deps {
						index[x.name] = x
					}
				}
			}
		}
	}
	return deps, nil
}

// parseDep reads one dependency entry, which may name several elements,
// and appends them to deps, which it must not grow beyond its capacity
// (extractDeps counts).
func parseDep(dn *node.Node, defType element.DepType, deps []loadDep) ([]loadDep, error) {
	tmpl := loadDep{Dependency: element.Dependency{Type: defType, Prov: dn.Prov()}}
	var one [1]*node.Node
	var names []*node.Node
	junction := ""
	switch dn.Kind() {
	case node.ScalarKind:
		if tmpl.Type == 0 {
			tmpl.Type = element.DepAll
		}
		one[0] = dn
		names = one[:]
	case node.MappingKind:
		for i, k := range dn.Keys() {
			switch k {
			case "filename", "junction", "strict", "config":
				continue
			case "type":
				if defType == 0 {
					continue
				}
			}
			return nil, node.Errorf(dn.Items()[i].Prov(), node.InvalidData, "unexpected key: %s", k)
		}
		if defType == 0 {
			t, err := dn.GetScalar("type", true)
			if err != nil {
				return nil, err
			}
			switch {
			case t == nil || t.Value() == "all":
				tmpl.Type = element.DepAll
			case t.Value() == "build":
				tmpl.Type = element.DepBuild
			case t.Value() == "runtime":
				tmpl.Type = element.DepRuntime
			default:
				return nil, node.Errorf(t.Prov(), node.InvalidData, "dependency type '%s' is not 'build', 'runtime' or 'all'", t.Value())
			}
		}
		var err error
		if tmpl.Strict, err = dn.GetBool("strict", false); err != nil {
			return nil, err
		}
		if s := dn.Get("strict"); s != nil && !tmpl.Strict {
			return nil, node.Errorf(s.Prov(), node.InvalidData, "setting 'strict' to False is unsupported")
		}
		cfg, err := dn.GetMapping("config", true)
		if err != nil {
			return nil, err
		}
		if cfg != nil {
			if tmpl.Type == element.DepRuntime {
				return nil, node.Errorf(cfg.Prov(), node.InvalidData, "specifying 'config' for a runtime dependency is not allowed")
			}
			tmpl.Config = []*node.Node{cfg.CloneDetached()} // out of the file's tree
		}
		if junction, err = dn.GetString("junction", ""); err != nil {
			return nil, err
		}
		fn, err := dn.GetNode("filename", false)
		if err != nil {
			return nil, err
		}
		switch {
		case fn.IsScalar():
			one[0] = fn
			names = one[:]
		case fn.IsSequence():
			for _, it := range fn.Items() {
				if !it.IsScalar() {
					return nil, node.Errorf(it.Prov(), node.InvalidData, "expected a string while parsing the filename list")
				}
			}
			names = fn.Items()
		default:
			return nil, node.Errorf(fn.Prov(), node.InvalidData, "value of 'filename' is not of the expected type 'str' or 'list'")
		}
	default:
		return nil, node.Errorf(dn.Prov(), node.InvalidData, "dependency is not specified as a string or a dictionary")
	}
	if tmpl.Strict && tmpl.Type == element.DepRuntime {
		return nil, &node.Error{Prov: dn.Prov(), Reason: node.InvalidData,
			Msg:    fmt.Sprintf("runtime dependency %s specified as `strict`", names[0].Value()),
			Detail: "Only dependencies required at build time may be declared `strict`."}
	}
	for _, nn := range names {
		name := nn.Value()
		if junction != "" && strings.Contains(name, ":") {
			return nil, node.Errorf(nn.Prov(), node.InvalidData,
				"dependency %s contains `:` in its name: `:` is not allowed in filename when junction is given", name)
		}
		d := tmpl
		d.name = qualified(junction, name)
		d.Config = append([]*node.Node(nil), tmpl.Config...)
		deps = append(deps, d)
	}
	return deps, nil
}

func qualified(junction, name string) string {
	if junction == "" {
		return name
	}
	return junction + ":" + name
}

func checkTargetName(t string) error {
	if !strings.HasSuffix(t, ".bst") {
		return &node.Error{Reason: node.InvalidElementNames,
			Msg:    fmt.Sprintf("invalid element name '%s': element names end in .bst", t),
			Detail: "Element names are paths relative to the project's element path, such as base/alpine.bst."}
	}
	if !validChars(t) {
		return &node.Error{Reason: node.BadCharactersInName, Msg: fmt.Sprintf("element '%s' has invalid characters", t)}
	}
	return nil
}

// validChars reports whether a name is printable 7-bit ASCII without
// characters that are invalid in file names on some systems.
func validChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 31 || c >= 127 || strings.IndexByte(`<>"|?*`, c) >= 0 {
			return false
		}
	}
	return true
}
