package options

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/bstgo/bst/loader/expr"
	"github.com/bstgo/bst/loader/node"
)

// Pool holds a project's options: their declarations, the values they were
// given, and the expressions of conditionals evaluated over them.
//
// A Pool is used in three steps:
//
//  1. Declare, with the project's `options` mapping.
//  2. SetJunctionValues, SetUserValues and SetCLIValues (or
//     SetKnownCLIValues), in any order, each at most once: every value is
//     checked when it is set and kept in its own layer, and the precedence
//     declaration < junction < user configuration < command line is applied
//     by Resolve whatever the order of the calls.
//  3. Resolve, which fixes the values.
//
// After Resolve, Process, Values, Variables and Printable may be called from
// any number of goroutines at once.
type Pool struct {
	hostArch string // machine name, canonicalised when an arch option is declared
	hostOS   string

	opts   []*option // in declaration order
	byName map[string]*option

	resolved bool
	values   map[string]expr.Value

	// exprs caches parsed expressions by their text: most elements of a
	// project repeat the same few conditions.
	exprs sync.Map // string → *compiled
}

// NewPool returns an empty pool. hostArch and hostOS describe the host,
// whose architecture and system are the defaults of `arch` and `os` options:
// hostArch is a machine name as `uname -m` prints it (x86_64, aarch64,
// i686…; Go's GOARCH names are accepted too) and hostOS a system name as
// `uname -s` prints it (Linux, Darwin, FreeBSD…; Go's GOOS names are
// translated). Empty strings mean the running host.
func NewPool(hostArch, hostOS string) *Pool {
	if hostArch == "" {
		hostArch = hostMachine()
	}
	if m, ok := goArches[hostArch]; ok {
		hostArch = m
	}
	if hostOS == "" {
		hostOS = hostSystem()
	}
	if s, ok := goOSes[hostOS]; ok {
		hostOS = s
	}
	return &Pool{hostArch: hostArch, hostOS: hostOS, byName: map[string]*option{}}
}

// Declare reads option declarations: the `options` mapping of project.conf,
// from option names to declarations. elementNames lists the project's
// elements (paths of the .bst files under the element path, relative to
// it); it is only called, once, if an `element-mask` option is declared,
// because its valid values are the element names.
//
// Errors are *node.Error: InvalidSymbolName for a bad option or variable
// name, InvalidData for anything else. An `arch` option on a host whose
// architecture BuildStream does not know gives an error wrapping
// ErrUnknownArch.
func (p *Pool) Declare(decls *node.Node, elementNames func() ([]string, error)) error {
	if decls == nil {
		return nil
	}
	if !decls.IsMapping() {
		return node.Errorf(decls.Prov(), node.InvalidData, "value of 'options' is not of the expected type 'dict'")
	}
	// List the elements at most once, however many masks there are.
	var (
		elements    []string
		elementsErr error
		listed      bool
	)
	listElements := func() ([]string, error) {
		if !listed && elementNames != nil {
			elements, elementsErr = elementNames()
		}
		listed = true
		return elements, elementsErr
	}
	for i, name := range decls.Keys() {
		o, err := p.declare(name, decls.Items()[i], listElements)
		if err != nil {
			return err
		}
		if _, ok := p.byName[name]; !ok {
			p.opts = append(p.opts, o)
		} else {
			p.opts[slices.IndexFunc(p.opts, func(x *option) bool { return x.name == name })] = o
		}
		p.byName[name] = o
	}
	return nil
}

// SetJunctionValues sets values from the `options` mapping of the `config`
// of the junction through which this project is loaded. Like the user's,
// they are checked against the declarations: an unknown option name or an
// invalid value is InvalidData.
func (p *Pool) SetJunctionValues(n *node.Node) error {
	return p.setYAML(n, layerJunction)
}

// SetUserValues sets values from the user configuration's
// `projects: <name>: options:` mapping.
func (p *Pool) SetUserValues(n *node.Node) error {
	return p.setYAML(n, layerUser)
}

func (p *Pool) setYAML(n *node.Node, l layer) error {
	if n == nil {
		return nil
	}
	if !n.IsMapping() {
		return node.Errorf(n.Prov(), node.InvalidData, "value of 'options' is not of the expected type 'dict'")
	}
	for i, name := range n.Keys() {
		v := n.Items()[i]
		o := p.byName[name]
		if o == nil {
			return node.Errorf(v.Prov(), node.InvalidData, "unknown option '%s' specified", name)
		}
		val, err := o.fromYAML(v)
		if err != nil {
			return err
		}
		o.layers[l] = val
	}
	return nil
}

// SetCLIValues sets the values of `bst -o NAME VALUE`, in order (a later
// pair for the same option wins). An unknown option name is InvalidData, as
// is an invalid value.
func (p *Pool) SetCLIValues(pairs [][2]string) error {
	return p.setCLI(pairs, false)
}

// SetKnownCLIValues is SetCLIValues ignoring the pairs that name no
// declared option, which BuildStream does while loading a project's first
// pass (before includes from junctions can declare more options). Invalid
// values of declared options are still errors.
func (p *Pool) SetKnownCLIValues(pairs [][2]string) error {
	return p.setCLI(pairs, true)
}

func (p *Pool) setCLI(pairs [][2]string, ignoreUnknown bool) error {
	for _, kv := range pairs {
		o := p.byName[kv[0]]
		if o == nil {
			if ignoreUnknown {
				continue
			}
			return node.Errorf(node.Synthetic, node.InvalidData, "unknown option '%s' specified on the command line", kv[0])
		}
		val, err := o.fromString(kv[1])
		if err != nil {
			return err
		}
		o.layers[layerCLI] = val
	}
	return nil
}

// Resolve fixes the value of every option from its layers and checks that
// the `arch` and `os` options that kept the host's value accept it.
func (p *Pool) Resolve() error {
	values := make(map[string]expr.Value, len(p.opts))
	for _, o := range p.opts {
		v := o.current()
		if o.kind == kindArch || o.kind == kindOS {
			if err := o.check(node.Synthetic, v.s); err != nil {
				return err
			}
		}
		o.value = v
		values[o.name] = toExpr(o.kind, v)
	}
	p.values = values
	p.resolved = true
	return nil
}

// toExpr converts a value into what expressions see: a boolean, a string,
// or (flags and element masks) a list of strings.
func toExpr(k kind, v value) expr.Value {
	switch {
	case k == kindBool:
		return expr.Bool(v.b)
	case k.isList():
		return expr.List(v.list)
	}
	return expr.String(v.s)
}

func (p *Pool) mustBeResolved() {
	if !p.resolved {
		panic("options: Pool used before Resolve")
	}
}

// Values returns the resolved value of every option, by name, as
// expressions see them. The map is the caller's.
func (p *Pool) Values() map[string]expr.Value {
	p.mustBeResolved()
	return maps.Clone(p.values)
}

// Variables returns the variables that options export (those declared with
// `variable:`), as name and value in declaration order: a bool is "1" or
// "0", an enum, arch or os its value, and flags or element masks their
// values joined by commas.
func (p *Pool) Variables() [][2]string {
	p.mustBeResolved()
	var out [][2]string
	for _, o := range p.opts {
		if o.variable != "" {
			out = append(out, [2]string{o.variable, o.format(o.value)})
		}
	}
	return out
}

// Printable returns every option's name and value, formatted as Variables
// formats them, sorted by name: what `bst show` prints as project options.
func (p *Pool) Printable() [][2]string {
	p.mustBeResolved()
	out := make([][2]string, 0, len(p.opts))
	for _, o := range p.opts {
		out = append(out, [2]string{o.name, o.format(o.value)})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}
