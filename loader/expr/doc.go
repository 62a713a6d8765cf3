// Package expr parses and evaluates the expressions of `(?)` conditionals:
// the subset of Jinja2 that BuildStream projects use. Operators are ==,
// !=, in, not in, not, and, or and parentheses; operands are option names,
// string, boolean, none and integer literals, and list or tuple literals.
// Results follow Jinja2's (that is, Python's) semantics, and anything
// outside the subset is a parse error saying what was not understood.
package expr
