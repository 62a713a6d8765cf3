// Package node is the YAML layer of the loader: it parses BuildStream YAML
// into trees of [Node] values that remember where they came from, and it
// implements BuildStream's composition rules over those trees.
//
// The rules enforced while parsing are BuildStream's: anchors, aliases and
// non-core tags are refused, duplicate keys are refused, the top level must
// be a mapping, and every scalar is kept as a string stripped of surrounding
// white space ("yes", "1" and "true" are all just strings until a caller asks
// for a boolean or an integer).
//
// Every node carries a [Provenance] rendered as `file [line L column C]`
// (line 1-based, column 0-based), and every error raised here or by the
// loader is an [*Error] carrying a provenance and a [Reason].
package node
