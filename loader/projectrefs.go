package loader

import (
	"path/filepath"
	"sync"

	"github.com/bstgo/bst/loader/node"
)

// projectRefs are the refs a project keeps in project.refs (ref-storage:
// project.refs): per project name, per element, one mapping per source,
// in order, that overrides the keys of that source's configuration.
type projectRefs struct {
	once sync.Once
	refs *node.Node // projects: mapping, nil without the file
	err  error
}

// sourceRefs returns the project.refs entry of source i of element name
// (a name local to p), nil when there is none or refs are kept inline.
func (p *Project) sourceRefs(name string, i int) (*node.Node, error) {
	if p.RefStorage != "project.refs" {
		return nil, nil
	}
	pr := &p.refFile
	pr.once.Do(func() {
		path := filepath.Join(p.Dir, "project.refs")
		n, err := parseFile("project.refs", path)
		if err != nil {
			if node.ReasonOf(err) != node.MissingFile {
				pr.err = err
			}
			return
		}
		if err := n.ValidateKeys("projects"); err != nil {
			pr.err = err
			return
		}
		pr.refs, pr.err = n.GetMapping("projects", true)
	})
	if pr.err != nil || pr.refs == nil {
		return nil, pr.err
	}
	proj, err := pr.refs.GetMapping(p.Name, true)
	if err != nil || proj == nil {
		return nil, err
	}
	list, err := proj.GetSequence(name, true)
	if err != nil || list == nil || i >= list.Len() {
		return nil, err
	}
	entry := list.Items()[i]
	if !entry.IsMapping() {
		return nil, node.Errorf(entry.Prov(), node.InvalidData, "the refs of source %d of %s are not a mapping", i, name)
	}
	return entry, nil
}
