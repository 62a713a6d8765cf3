package plugins

import (
	"fmt"
	"sort"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/source"
)

// Registry maps kind names to element and source kinds.
type Registry struct {
	elements map[string]element.Kind
	sources  map[string]source.Kind
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{elements: map[string]element.Kind{}, sources: map[string]source.Kind{}}
}

// RegisterElement adds an element kind; a kind registered twice is a bug.
func (r *Registry) RegisterElement(k element.Kind) {
	if _, dup := r.elements[k.Name()]; dup {
		panic(fmt.Sprintf("plugins: element kind %q registered twice", k.Name()))
	}
	r.elements[k.Name()] = k
}

// RegisterSource adds a source kind; a kind registered twice is a bug.
func (r *Registry) RegisterSource(k source.Kind) {
	if _, dup := r.sources[k.Name()]; dup {
		panic(fmt.Sprintf("plugins: source kind %q registered twice", k.Name()))
	}
	r.sources[k.Name()] = k
}

// Element returns the element kind called name.
func (r *Registry) Element(name string) (element.Kind, bool) {
	k, ok := r.elements[name]
	return k, ok
}

// Source returns the source kind called name.
func (r *Registry) Source(name string) (source.Kind, bool) {
	k, ok := r.sources[name]
	return k, ok
}

// ElementKinds lists the element kinds' names, sorted.
func (r *Registry) ElementKinds() []string { return sortedKeys(r.elements) }

// SourceKinds lists the source kinds' names, sorted.
func (r *Registry) SourceKinds() []string { return sortedKeys(r.sources) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
