package loader

import (
	"context"
	"path/filepath"
	"strings"
	"sync"

	"github.com/bstgo/bst/loader/node"
)

// includeCache keeps each included file parsed once; users clone it.
type includeCache struct {
	mu    sync.Mutex
	files map[string]*includeFile
}

type includeFile struct {
	once sync.Once
	n    *node.Node
	err  error
}

func (c *includeCache) get(dir, rel string) (*node.Node, error) {
	path := filepath.Join(dir, rel)
	c.mu.Lock()
	if c.files == nil {
		c.files = map[string]*includeFile{}
	}
	f := c.files[path]
	if f == nil {
		f = &includeFile{}
		c.files[path] = f
	}
	c.mu.Unlock()
	f.once.Do(func() { f.n, f.err = parseFile(rel, path) })
	return f.n, f.err
}

// processIncludes expands the `(@)` directives in n and everything below
// it. Included files are composed under the including mapping, last
// include first, so the including file wins and a later include beats an
// earlier one. With withOptions, conditionals are processed in n before its
// includes are, as for element files.
func (p *Project) processIncludes(ctx context.Context, n *node.Node, withOptions bool) error {
	return p.includeInto(ctx, n, withOptions, map[string]bool{})
}

func (p *Project) includeInto(ctx context.Context, n *node.Node, withOptions bool, active map[string]bool) error {
	if withOptions {
		if err := p.Options.Process(n, nil); err != nil {
			return err
		}
	}
	return p.includeMapping(ctx, n, withOptions, active)
}

func (p *Project) includeMapping(ctx context.Context, n *node.Node, withOptions bool, active map[string]bool) error {
	if inc := n.Get("(@)"); inc != nil {
		var list []*node.Node
		switch {
		case inc.IsScalar():
			list = []*node.Node{inc}
		case inc.IsSequence():
			list = inc.Items()
		default:
			return node.Errorf(inc.Prov(), node.InvalidData, "value of '(@)' is not of the expected type 'str' or 'list'")
		}
		n.Delete("(@)")
		for i := len(list) - 1; i >= 0; i-- {
			it := list[i]
			if !it.IsScalar() {
				return node.Errorf(it.Prov(), node.InvalidData, "include entries must be file names")
			}
			name := it.Value()
			if strings.Contains(name, ":") {
				if p.localIncludesOnly {
					p.skippedJunctionIncludes = true
					continue
				}
				if err := p.includeFromJunction(ctx, n, it, active); err != nil {
					return err
				}
				continue
			}
			clean, err := p.checkedPath(it, false, false)
			if err != nil {
				return err
			}
			path := filepath.Join(p.Dir, clean)
			if active[path] {
				return node.Errorf(inc.Prov(), node.RecursiveInclude, "trying to recursively include %s", name)
			}
			loaded, err := p.includes.get(p.Dir, clean)
			if err != nil {
				if le, ok := err.(*node.Error); ok && !le.Prov.Valid() {
					le = &node.Error{Prov: it.Prov(), Reason: le.Reason, Msg: le.Msg, Detail: le.Detail, Err: le.Err}
					return le
				}
				return err
			}
			included := loaded.Clone()
			active[path] = true
			err = p.includeInto(ctx, included, withOptions, active)
			delete(active, path)
			if err != nil {
				return err
			}
			if err := node.CompositeUnder(included, n); err != nil {
				return err
			}
		}
	}
	for _, v := range n.Items() {
		if err := p.includeValue(ctx, v, withOptions, active); err != nil {
			return err
		}
	}
	return nil
}

func (p *Project) includeValue(ctx context.Context, v *node.Node, withOptions bool, active map[string]bool) error {
	switch v.Kind() {
	case node.MappingKind:
		return p.includeMapping(ctx, v, withOptions, active)
	case node.SequenceKind:
		for _, it := range v.Items() {
			if err := p.includeValue(ctx, it, withOptions, active); err != nil {
				return err
			}
		}
	}
	return nil
}

// includeFromJunction composes the file a `(@)` entry names in a
// subproject ("junction.bst:file.yml") under n. The file's variables are
// expanded with the subproject's, and its own includes and conditionals
// are the subproject's.
func (p *Project) includeFromJunction(ctx context.Context, n, it *node.Node, active map[string]bool) error {
	jpath, file := splitJunction(it.Value())
	var sub *Project
	var err error
	if p.jx != nil && p.jx.opening {
		sub, err = p.subprojectPathLocked(ctx, jpath, it.Prov())
	} else {
		sub, err = p.subprojectPath(ctx, jpath, it.Prov())
	}
	if err != nil {
		return err
	}
	clean, err := sub.checkedPath(node.NewScalar(it.Prov(), file), false, false)
	if err != nil {
		return err
	}
	path := filepath.Join(sub.Dir, clean)
	if active[path] {
		return node.Errorf(it.Prov(), node.RecursiveInclude, "trying to recursively include %s", it.Value())
	}
	loaded, err := sub.includes.get(sub.Dir, clean)
	if err != nil {
		if le, ok := err.(*node.Error); ok && !le.Prov.Valid() {
			return &node.Error{Prov: it.Prov(), Reason: le.Reason, Msg: le.Msg, Detail: le.Detail, Err: le.Err}
		}
		return err
	}
	included := loaded.Clone()
	if err := sub.Variables.ResolvePartial().ExpandOwned(included); err != nil {
		return err
	}
	active[path] = true
	err = sub.includeInto(ctx, included, true, active)
	delete(active, path)
	if err != nil {
		return err
	}
	return node.CompositeUnder(included, n)
}
