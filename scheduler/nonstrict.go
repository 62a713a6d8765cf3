package scheduler

import (
	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
)

// ResolveNonStrict sets the strong keys of elements (in an order where
// each comes after its dependencies) in non-strict mode, as BuildStream's
// artifact loading does: the artifact under the strict key when there is
// one; else a successful artifact under the weak key, whose recorded
// strong key is reused; else the key the element gets when built, from
// its dependencies' strong keys, when building (bst show, as
// BuildStream's, leaves it unknown: nothing is scheduled to build).
// Elements whose keys are unknown are left alone.
func ResolveNonStrict(c *cas.ArtifactCache, kc element.KeyContext, elements []*element.Element, building bool) {
	sc := element.NewScopeCache()
	for _, e := range elements {
		if e.Keys.Strong != "" || e.Keys.Strict == "" || !makesArtifact(e) {
			continue
		}
		if c.Contains(cas.ArtifactRef(e.Project, e.Name, e.Keys.Strict)) {
			e.Keys.Strong = e.Keys.Strict
			continue
		}
		if a, err := c.Get(cas.ArtifactRef(e.Project, e.Name, e.Keys.Weak)); err == nil && a.GetBuildSuccess() &&
			a.GetWeakKey() == e.Keys.Weak && len(a.GetStrongKey()) == 64 {
			e.Keys.Strong = a.GetStrongKey()
			continue
		}
		if !building {
			continue
		}
		deps := sc.BuildScope(e)
		known := true
		for _, d := range deps {
			if d.Keys.Strong == "" && makesArtifact(d) {
				known = false
			}
		}
		if known {
			e.Keys.Strong = element.StrongFromDependencies(kc, e, deps)
		}
	}
}
