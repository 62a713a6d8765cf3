package element

import (
	"fmt"
	"math/rand"
	"testing"
)

// randomGraph returns n elements where each depends on a few earlier ones
// with random types, listed dependencies first.
func randomGraph(r *rand.Rand, n int) []*Element {
	els := make([]*Element, n)
	types := []DepType{DepBuild, DepRuntime, DepAll}
	for i := range els {
		e := &Element{Name: fmt.Sprintf("e%03d.bst", i)}
		seen := map[int]bool{}
		for k := 0; i > 0 && k < r.Intn(5); k++ {
			j := r.Intn(i)
			if seen[j] {
				continue
			}
			seen[j] = true
			e.Deps = append(e.Deps, &Dependency{Element: els[j], Type: types[r.Intn(3)]})
		}
		els[i] = e
	}
	return els
}

func names(list []*Element) string {
	s := ""
	for _, e := range list {
		s += e.Name + " "
	}
	return s
}

// The cache must answer exactly what a fresh walk answers, in the same
// order, whatever order the questions come in.
func TestScopeCacheMatchesWalks(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for round := 0; round < 50; round++ {
		els := randomGraph(r, 60)
		c, scratch := NewScopeCache(), NewScratchScopeCache()
		for _, i := range r.Perm(len(els)) {
			e := els[i]
			want := names(Dependencies([]*Element{e}, ScopeBuild))
			if got := names(c.BuildScope(e)); got != want {
				t.Fatalf("round %d: BuildScope(%s) = %s, want %s", round, e.Name, got, want)
			}
			if got := names(scratch.BuildScope(e)); got != want {
				t.Fatalf("round %d: scratch BuildScope(%s) = %s, want %s", round, e.Name, got, want)
			}
			if got, want := names(c.RunScope(e)), names(Dependencies([]*Element{e}, ScopeRun)); got != want {
				t.Fatalf("round %d: RunScope(%s) = %s, want %s", round, e.Name, got, want)
			}
		}
	}
}
