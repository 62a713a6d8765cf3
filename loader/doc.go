// Package loader reads a BuildStream 2 project — project.conf, the user
// configuration and the .bst element files — and turns it into the
// immutable element graph of package element.
//
// Loading goes through BuildStream's stages, in its order: YAML with
// provenance (package loader/node), includes `(@)`, options and
// conditionals `(?)` and assertions `(!)` (package loader/options),
// composition of each element over its kind's defaults and the project's
// overrides, variable resolution and expansion (package loader/variables),
// dependency parsing and merging, the dependency sort, and cycle detection.
// Element files are read and composed in parallel.
//
// Junctions open subprojects, each a Project of its own loaded once per
// load (see junction.go); names such as "sdk.bst:gcc.bst" are resolved,
// through links and the junctions' overrides, before their elements are
// queued. Staging a junction's sources is left to a JunctionStager, so
// the loader fetches nothing itself.
//
// Every failure is a *node.Error naming the file, line and column and
// carrying a [node.Reason].
package loader
