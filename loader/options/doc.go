// Package options implements BuildStream's project options: their
// declarations in project.conf, the values they take from the junction, the
// user configuration and the command line, the variables they export, and
// the `(?)` conditionals and `(!)` assertions evaluated over them.
//
// There are six kinds of option, named by a declaration's `type`:
//
//	bool          true or false; `default` is required
//	enum          one of `values`; `default` is required
//	flags         a subset of `values`; `default` is a list, empty if absent
//	arch          one of `values`, defaulting to the host's architecture
//	os            one of `values`, defaulting to the host's system name
//	element-mask  a subset of the project's element names
//
// Every declaration also needs a `description`, and may name a `variable`
// to which the value is exported. Option names are symbols without dashes,
// because expressions refer to them.
//
// Expressions are those of package loader/expr, a subset of Jinja2's: bools
// are booleans, flags and element masks lists of strings, and the other
// kinds strings, so `debug and arch == "x86-64"` or `"pony" in farm`.
//
// See [Pool] for the order in which a pool is filled and used.
package options
