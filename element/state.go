package element

// State is an element's state as `bst show` reports it. Until there is an
// artifact cache nothing is cached, so an element is buildable exactly when
// nothing needs to be built before it.
func (e *Element) State() string {
	switch {
	case !e.SourcesResolved():
		return "no reference"
	case e.Kind == "junction":
		return "junction"
	case e.Keys.Strict == "":
		return "waiting"
	case e.fetchNeeded():
		return "fetch needed"
	case !e.hasBuildDeps():
		return "buildable"
	}
	return "waiting"
}

// fetchNeeded reports whether a source must be downloaded before the
// element can be built: every source but local ones, as long as bst has no
// source cache.
func (e *Element) fetchNeeded() bool {
	for _, s := range e.Sources {
		if s.Kind != "local" {
			return true
		}
	}
	return false
}

// hasBuildDeps reports whether e has a build dependency.
func (e *Element) hasBuildDeps() bool {
	for _, d := range e.Deps {
		if d.Type&DepBuild != 0 {
			return true
		}
	}
	return false
}
