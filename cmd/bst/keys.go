package main

import (
	"os"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader"
	"github.com/bstgo/bst/source"
)

// computeKeys computes the cache keys of roots and everything they depend
// on. BST_DEBUG_CACHEKEY=1 prints each key's preimage on stderr.
func computeKeys(a *app, p *loader.Project, roots []*element.Element) error {
	all := element.Dependencies(roots, element.ScopeAll)
	for _, e := range all {
		for _, s := range e.Sources {
			if kl, ok := s.Plugin.(source.KeyLoader); ok {
				if err := kl.LoadKey(); err != nil {
					return err
				}
			}
		}
	}
	kc := element.KeyContext{
		Strict:        a.strictMode(),
		FatalWarnings: map[string][]string{p.Name: p.FatalWarnings},
	}
	if os.Getenv("BST_DEBUG_CACHEKEY") != "" {
		kc.Debug = a.stderr
	}
	element.ComputeKeys(kc, all)
	return nil
}
