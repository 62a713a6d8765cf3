package plugins

import (
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/source"
)

// ElementSources returns e's sources as package source fetches and
// stages them (source.Env.Fetch, Stage, FetchNeeded).
func ElementSources(e *element.Element) *source.ElementSources {
	es := &source.ElementSources{Element: e.FullName, Project: e.Project}
	if es.Element == "" {
		es.Element = e.Name
	}
	for _, s := range e.Sources {
		prov := e.Prov
		if s.Node != nil {
			prov = s.Node.KeyProv("kind")
		}
		es.Entries = append(es.Entries, source.Entry{Kind: s.Kind, Directory: s.Directory, Source: s.Plugin, Prov: prov})
	}
	return es
}
