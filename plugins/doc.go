// Package plugins holds bst's built-in element and source kinds, written in
// Go, and the Registry that names them. Builtin lists every kind in one
// place; there is no registration by side effect and no dynamic loading.
//
// A kind's defaults (defaults/<kind>.yaml) are BuildStream's, so elements
// compose and hash exactly as they do under BuildStream 2 and
// buildstream-plugins.
package plugins
