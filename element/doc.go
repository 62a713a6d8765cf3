// Package element holds the element model: the loaded, immutable graph of
// elements with their composited configuration, their dependencies in
// BuildStream's staging order, the scopes over which dependencies are
// walked, and (later) their cache keys.
//
// Element kinds are Go code implementing [Kind]; the built-in kinds live in
// package plugins and are registered in one place there.
package element
