package plugins

// Builtin returns a registry of every kind bst implements. This is the one
// place kinds are listed: a new kind is added here.
func Builtin() *Registry {
	r := NewRegistry()

	// BuildStream's core element kinds.
	r.RegisterElement(importKind{})
	r.RegisterElement(buildElementKind{name: "manual"})
	r.RegisterElement(scriptKind{})
	r.RegisterElement(composeKind{})
	r.RegisterElement(stackKind{})
	r.RegisterElement(filterKind{})
	r.RegisterElement(linkKind{})
	r.RegisterElement(junctionKind{})

	// buildstream-plugins' build systems.
	for _, name := range []string{"autotools", "cmake", "make", "meson", "pip", "setuptools"} {
		r.RegisterElement(buildElementKind{name: name})
	}

	// BuildStream's core source kinds.
	r.RegisterSource(localKind{digests: newDigestMemo()})
	r.RegisterSource(remoteKind{})
	r.RegisterSource(tarKind{})

	// Sources of buildstream-plugins (git, patch) and of plugin collections
	// (zip, once BuildStream's core).
	r.RegisterSource(gitKind{})
	r.RegisterSource(patchKind{})
	r.RegisterSource(zipKind{})
	return r
}
