package plugins

import "github.com/bstgo/bst/element"

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

	// buildstream-plugins-community's build systems (cargo's defaults are
	// bst's own: see docs/plugins.md).
	for _, name := range []string{"pyproject", "makemaker", "modulebuild", "cargo"} {
		r.RegisterElement(buildElementKind{name: name})
	}

	// buildstream-plugins-community's other elements, and the freedesktop
	// SDK's local collect_initial_scripts.
	r.RegisterElement(checkForbiddenKind{plainKind{name: "check_forbidden",
		flags: element.Flags{RunsCommands: true}}})
	r.RegisterElement(collectIntegrationKind{plainKind{name: "collect_integration",
		flags: element.Flags{RunsCommands: true, ForbidRuntimeDeps: true, ForbidSources: true}}})
	r.RegisterElement(collectInitialScriptsKind{plainKind{name: "collect_initial_scripts",
		flags: element.Flags{RunsCommands: true, ForbidRuntimeDeps: true, ForbidSources: true}}})
	r.RegisterElement(collectManifestKind{plainKind{name: "collect_manifest", version: 2,
		flags: element.Flags{StrictRebuild: true, ForbidRuntimeDeps: true, ForbidSources: true}}})
	r.RegisterElement(flatpakImageKind{plainKind{name: "flatpak_image",
		flags: element.Flags{RunsCommands: true, StrictRebuild: true, ForbidRuntimeDeps: true, ForbidSources: true}}})
	r.RegisterElement(flatpakRepoKind{plainKind{name: "flatpak_repo", version: 2,
		flags: element.Flags{RunsCommands: true, StrictRebuild: true, ForbidRuntimeDeps: true, ForbidSources: true}}})
	r.RegisterElement(ostreeKind{plainKind{name: "ostree",
		flags: element.Flags{RunsCommands: true, StrictRebuild: true, ForbidRuntimeDeps: true, ForbidSources: true}}})

	// BuildStream's core source kinds.
	r.RegisterSource(localKind{digests: newDigestMemo()})
	r.RegisterSource(remoteKind{})
	r.RegisterSource(tarKind{})

	// Sources of buildstream-plugins (git, patch) and of plugin collections
	// (zip, once BuildStream's core).
	r.RegisterSource(gitKind{})
	r.RegisterSource(patchKind{})
	r.RegisterSource(zipKind{})
	r.RegisterSource(dockerKind{})

	// buildstream-plugins-community's sources, and the freedesktop SDK's
	// local ostree_mirror.
	r.RegisterSource(gitRepoKind{})
	r.RegisterSource(gitModuleKind{})
	r.RegisterSource(goModuleKind{})
	r.RegisterSource(cargo2Kind{})
	r.RegisterSource(patchQueueKind{})
	r.RegisterSource(pypiKind{})
	r.RegisterSource(cpanKind{})
	r.RegisterSource(ostreeSourceKind{})
	r.RegisterSource(ostreeMirrorKind{})
	r.RegisterSource(genCargoLockKind{})
	return r
}
