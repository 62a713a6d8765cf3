package ui

import (
	"strings"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// ShowSymbols are the `bst show --format` symbols bst knows so far. Keys
// and states arrive with the cache.
var ShowSymbols = []string{
	"name", "kind", "description", "config", "vars", "env", "public", "deps", "build-deps", "runtime-deps",
}

// style is an ANSI SGR sequence applied to a symbol's value when colours
// are on.
var symbolStyle = map[string]string{
	"name":        "1;34", // bold blue
	"kind":        "36",   // cyan
	"description": "33",   // yellow
}

// ElementSymbols returns the lookup function rendering e's symbols for a
// show template.
func ElementSymbols(e *element.Element) func(name string) (string, bool) {
	return func(name string) (string, bool) {
		switch name {
		case "name":
			return e.FullName, true
		case "kind":
			return e.Kind, true
		case "description":
			return strings.Join(strings.Fields(strings.ReplaceAll(e.Description, "\n", " ")), " "), true
		case "config":
			return node.Dump(e.Config), true
		case "vars":
			m := node.NewMapping(node.Synthetic)
			for _, n := range e.Variables.Names() {
				v, _ := e.Variables.Get(n)
				m.Set(n, node.NewScalar(node.Synthetic, v))
			}
			return node.Dump(m), true
		case "env":
			m := node.NewMapping(node.Synthetic)
			for _, v := range e.Environment {
				m.Set(v.Name, node.NewScalar(node.Synthetic, v.Value))
			}
			return node.Dump(m), true
		case "public":
			return node.Dump(e.Public), true
		case "deps":
			return dumpNames(e.DirectDeps(element.ScopeAll)), true
		case "build-deps":
			return dumpNames(e.DirectDeps(element.ScopeBuild)), true
		case "runtime-deps":
			return dumpNames(e.DirectDeps(element.ScopeRun)), true
		}
		return "", false
	}
}

// dumpNames renders a list of element names as a YAML list.
func dumpNames(es []*element.Element) string {
	names := make([]string, len(es))
	for i, d := range es {
		names[i] = d.FullName
	}
	return strings.TrimRight(node.Dump(node.NewStringList(node.Synthetic, names)), "\n")
}

// Colorize wraps a symbol's rendered value in its colour.
func Colorize(symbol, value string) string {
	if st, ok := symbolStyle[symbol]; ok && value != "" {
		return "\x1b[" + st + "m" + value + "\x1b[0m"
	}
	return value
}
