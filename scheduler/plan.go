package scheduler

import (
	"sync"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
)

// Status is where an element stands in the local cache.
type Status uint8

// The statuses of an element's artifact.
const (
	NotCached Status = iota
	Cached           // a successful artifact under the element's key
	Failed           // a failed build is cached under the element's key
)

// Lookup answers for the artifacts of elements, reading each ref once.
type Lookup struct {
	artifacts *cas.ArtifactCache

	mu     sync.Mutex
	status map[*element.Element]Status
	// present lists, per project, the elements with any artifact, so that
	// the common case, no artifact at all, costs no file system call.
	present map[string]map[string]bool
	// fetchNeeded tells whether an element's sources must be fetched
	// before it can build; nil means every source that is not local does.
	fetchNeeded func(*element.Element) bool
}

// SetFetchNeeded sets what State asks to report "fetch needed" (such as
// source.Env.FetchNeeded).
func (l *Lookup) SetFetchNeeded(f func(*element.Element) bool) { l.fetchNeeded = f }

// NewLookup returns a Lookup over the artifact cache.
func NewLookup(c *cas.ArtifactCache) *Lookup {
	return &Lookup{artifacts: c, status: map[*element.Element]Status{}, present: map[string]map[string]bool{}}
}

// Ref returns the ref of e's artifact under its strong key ("" while the
// key is not known).
func Ref(e *element.Element) string {
	if e.Keys.Strong == "" {
		return ""
	}
	return cas.ArtifactRef(e.Project, e.Name, e.Keys.Strong)
}

// Status returns e's cached status.
func (l *Lookup) Status(e *element.Element) Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.status[e]; ok {
		return s
	}
	s := NotCached
	names, ok := l.present[e.Project]
	if !ok {
		names = l.artifacts.ElementsWithArtifacts(e.Project)
		l.present[e.Project] = names
	}
	// Most elements have no artifact at all: the names say so before a
	// ref is made.
	if len(names) == 0 || !names[cas.NormalName(e.Name)] {
		// Not remembered: this answer costs no more than looking it up,
		// and a show of a large project asks it of every element.
		return s
	}
	if ref := Ref(e); ref != "" {
		if found, ok, err := l.artifacts.Success(ref); err == nil && found {
			s = Failed
			if ok {
				s = Cached
			}
		}
	}
	l.status[e] = s
	return s
}

// set records a status learnt by building.
func (l *Lookup) set(e *element.Element, s Status) {
	l.mu.Lock()
	l.status[e] = s
	l.mu.Unlock()
}

// State is e's state as `bst show` reports it, with the cache consulted:
// no reference, junction, cached, failed, fetch needed, buildable or
// waiting.
func (l *Lookup) State(e *element.Element, sc *element.ScopeCache) string {
	switch {
	case !e.SourcesResolved():
		return "no reference"
	case e.Kind == "junction":
		return "junction"
	case e.Keys.Strong == "" && e.Keys.Strict == "":
		return "waiting"
	}
	switch l.Status(e) {
	case Cached:
		return "cached"
	case Failed:
		return "failed"
	}
	if l.fetchNeeded != nil && l.fetchNeeded(e) || l.fetchNeeded == nil && needsFetch(e) {
		return "fetch needed"
	}
	// A direct build dependency not cached answers without the whole
	// build scope (the common case: an empty cache).
	builds := false
	for _, d := range e.Deps {
		if d.Type&element.DepBuild != 0 {
			if l.Status(d.Element) != Cached {
				return "waiting"
			}
			builds = true
		}
	}
	if !builds {
		return "buildable" // an empty build scope
	}
	for _, d := range sc.BuildScope(e) {
		if l.Status(d) != Cached {
			return "waiting"
		}
	}
	return "buildable"
}

// needsFetch reports whether a source must be downloaded first, when
// nothing better is known: every kind but local needs it.
func needsFetch(e *element.Element) bool {
	for _, s := range e.Sources {
		if s.Kind != "local" {
			return true
		}
	}
	return false
}

// Plan is the set of elements a build must make, in an order where each
// comes after what it builds with.
type Plan struct {
	// Elements to build, dependencies first.
	Build []*element.Element
	// Cached are the required elements already cached.
	Cached []*element.Element
	// Targets are the elements of Build that were selected: the ones a
	// run needs whatever else it finds in remote caches.
	Targets map[*element.Element]bool
}

// NewPlan works out what building the selected elements takes: every
// selected element that is not cached, and, recursively, whatever is
// needed to build those (their build scope) and is not cached either.
func NewPlan(l *Lookup, selected []*element.Element) *Plan {
	sc := element.NewScopeCache()
	required := map[*element.Element]bool{}
	var visit func(e *element.Element)
	visit = func(e *element.Element) {
		if required[e] {
			return
		}
		required[e] = true
		if !makesArtifact(e) || l.Status(e) == Cached {
			return
		}
		for _, d := range sc.BuildScope(e) {
			visit(d)
		}
	}
	for _, e := range selected {
		visit(e)
	}
	p := &Plan{Targets: map[*element.Element]bool{}}
	for _, e := range selected {
		if makesArtifact(e) && l.Status(e) != Cached {
			p.Targets[e] = true
		}
	}
	// The ScopeAll walk of the selection lists everything reachable,
	// dependencies first; keep the required.
	var roots []*element.Element
	roots = append(roots, selected...)
	for _, e := range element.Dependencies(roots, element.ScopeAll) {
		if !required[e] || !makesArtifact(e) {
			continue
		}
		if l.Status(e) == Cached {
			p.Cached = append(p.Cached, e)
		} else {
			p.Build = append(p.Build, e)
		}
	}
	return p
}

// makesArtifact reports whether building e caches an artifact: every
// element but junctions (links are resolved away when loading).
func makesArtifact(e *element.Element) bool { return e.Kind != "junction" && e.Kind != "link" }

// ArtifactDigest returns the digest of e's cached artifact files, "" when
// it has none.
func (l *Lookup) ArtifactDigest(e *element.Element) string {
	if l.Status(e) == NotCached {
		return ""
	}
	a, err := l.artifacts.Get(Ref(e))
	if err != nil {
		return ""
	}
	d, err := cas.DigestFromProto(a.Files)
	if err != nil {
		return ""
	}
	return d.String()
}
