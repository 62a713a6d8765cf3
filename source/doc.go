// Package source defines what a source kind is: a pure part that reads and
// validates configuration and computes a unique key, and (later) the I/O of
// fetching, tracking and staging. The built-in kinds live in package plugins.
package source
