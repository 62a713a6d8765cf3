// Package variables resolves BuildStream variables: `%{name}` references
// in strings, resolved lazily after composition, with undefined references
// and cycles reported with provenance.
//
// Tables are built to be shared: the variables of a project and of an
// element kind are compiled once into a Table, and each element overlays
// its own few definitions on it. Resolving an overlay recomputes only the
// variables that depend on what the overlay redefines; everything else is
// taken from the shared table's resolution, computed once.
package variables
