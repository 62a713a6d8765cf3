package ui

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// ShowSymbols are the `bst show --format` symbols bst knows so far.
var ShowSymbols = []string{
	"name", "kind", "description", "key", "full-key", "state", "config", "vars", "env", "public",
	"deps", "build-deps", "runtime-deps", "workspace-dirs", "workspaced", "artifact-cas-digest",
}

// style is an ANSI SGR sequence applied to a symbol's value when colours
// are on.
var symbolStyle = map[string]string{
	"name":        "1;34", // bold blue
	"kind":        "36",   // cyan
	"description": "33",   // yellow
	"key":         "33",
	"full-key":    "33",
}

// stateStyle colours each state as BuildStream does.
var stateStyle = map[string]string{
	"no reference": "31", "fetch needed": "31", "failed": "31", // red
	"junction": "35", "cached": "35", // magenta
	"waiting":   "34", // blue
	"buildable": "32", // green
}

// ShowContext is what rendering show symbols needs beyond the element.
type ShowContext struct {
	// KeyLength is how many characters %{key} shows.
	KeyLength int
	// State returns an element's state (%{state}); nil means the states
	// known without a cache.
	State func(*element.Element) string
	// ArtifactDigest returns the digest of an element's cached artifact
	// files (%{artifact-cas-digest}), "" when not cached.
	ArtifactDigest func(*element.Element) string
}

// ElementSymbols returns the lookup function rendering e's symbols for a
// show template; keyLength is how many characters %{key} shows.
func ElementSymbols(e *element.Element, keyLength int) func(name string) (string, bool) {
	return ShowContext{KeyLength: keyLength}.Symbols(e)
}

// Symbols returns the lookup function rendering e's symbols for a show
// template.
func (sc ShowContext) Symbols(e *element.Element) func(name string) (string, bool) {
	keyLength := sc.KeyLength
	return func(name string) (string, bool) {
		switch name {
		case "full-key":
			full, _ := e.DisplayKey()
			return full, true
		case "key":
			full, _ := e.DisplayKey()
			return full[:min(max(keyLength, 0), len(full))], true
		case "state":
			if sc.State != nil {
				return sc.State(e), true
			}
			return e.State(), true
		case "artifact-cas-digest":
			if sc.ArtifactDigest != nil {
				return sc.ArtifactDigest(e), true
			}
			return "", true
		case "workspace-dirs", "workspaced":
			return "", true
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

// Colorizer returns the style function colouring e's fields: keys are
// dimmed when they are not strict keys.
func Colorizer(e *element.Element) func(symbol, value string) string {
	_, strict := e.DisplayKey()
	return func(symbol, value string) string {
		st, ok := symbolStyle[symbol]
		if symbol == "state" {
			st, ok = stateStyle[strings.TrimSpace(value)]
		}
		if !ok || strings.TrimSpace(value) == "" {
			return value
		}
		if (symbol == "key" || symbol == "full-key") && !strict {
			st += ";2"
		}
		return "\x1b[" + st + "m" + value + "\x1b[0m"
	}
}

// ShowLines renders t once per element, each line ending in a newline, as
// `bst show` prints them, with colours when colors is set. Elements are
// rendered on all processors, each goroutine with the context newContext
// gives it, whose functions therefore need not be safe for concurrent use.
// The lines come back in order, in chunks to be written one after the
// other. On error nothing is returned but the error of the first element,
// in order, that failed.
func ShowLines(t *Template, elements []*element.Element, newContext func() ShowContext, colors bool) ([][]byte, error) {
	const chunk = 512
	chunks := make([][]byte, (len(elements)+chunk-1)/chunk)
	errs := make([]error, len(chunks))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(chunks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := newContext()
			// Chunks are alike: each starts with room for the last
			// one's size, so that it is not grown by doubling.
			size := 0
			for {
				c := int(next.Add(1)) - 1
				if c >= len(chunks) {
					return
				}
				b := make([]byte, 0, size+size/8)
				for _, e := range elements[c*chunk : min((c+1)*chunk, len(elements))] {
					var style func(name, s string) string
					if colors {
						style = Colorizer(e)
					}
					var err error
					if b, err = t.AppendRender(b, sc.Symbols(e), style); err != nil {
						errs[c] = err
						break
					}
					b = append(b, '\n')
				}
				chunks[c] = b
				size = len(b)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return chunks, nil
}
