package options

import (
	"slices"
	"strings"

	"github.com/bstgo/bst/loader/node"
)

// kind is the `type` of an option declaration.
type kind uint8

const (
	kindBool kind = iota + 1
	kindEnum
	kindFlags
	kindElementMask
	kindArch
	kindOS
)

// kinds lists the option types in the order error messages name them.
var kinds = []kind{kindBool, kindEnum, kindFlags, kindElementMask, kindArch, kindOS}

func (k kind) String() string {
	switch k {
	case kindBool:
		return "bool"
	case kindEnum:
		return "enum"
	case kindFlags:
		return "flags"
	case kindElementMask:
		return "element-mask"
	case kindArch:
		return "arch"
	case kindOS:
		return "os"
	}
	return "invalid"
}

// isList reports whether values of the kind are lists of strings (flags and
// element masks); bools are booleans and all other kinds single strings.
func (k kind) isList() bool { return k == kindFlags || k == kindElementMask }

// extraKeys are the keys a declaration of the kind may have besides
// `type`, `description` and `variable`.
func (k kind) extraKeys() []string {
	switch k {
	case kindBool, kindElementMask:
		return []string{"default"}
	case kindEnum, kindFlags:
		return []string{"values", "default"}
	case kindArch, kindOS:
		// The default of these comes from the host.
		return []string{"values"}
	}
	return nil
}

// layer is where an option value came from. Later layers win.
type layer uint8

const (
	layerDefault  layer = iota // the declaration (or the host, for arch and os)
	layerJunction              // the junction's `config: options:`
	layerUser                  // user configuration `projects.<name>.options`
	layerCLI                   // `bst -o NAME VALUE`
	numLayers
)

// value is an option value of any kind.
type value struct {
	set  bool
	b    bool     // bool
	s    string   // enum, arch, os
	list []string // flags, element-mask
}

// option is one declared option and the values it was given.
type option struct {
	name     string
	kind     kind
	variable string   // name of the variable to export the value to, or ""
	values   []string // the valid values; nil for bools
	layers   [numLayers]value
	value    value // the resolved value, set by Pool.Resolve
}

// current returns the value of the highest layer that has one.
func (o *option) current() value {
	for l := numLayers - 1; l > layerDefault; l-- {
		if o.layers[l].set {
			return o.layers[l]
		}
	}
	return o.layers[layerDefault]
}

// format renders v the way an exported variable holds it: "1" or "0" for a
// bool, the string of an enum, arch or os, and the comma-joined list of
// flags or element names.
func (o *option) format(v value) string {
	switch {
	case o.kind == kindBool:
		if v.b {
			return "1"
		}
		return "0"
	case o.kind.isList():
		return strings.Join(v.list, ",")
	}
	return v.s
}

// invalid reports a value outside the option's valid values. BuildStream
// gives no location for values from the command line, and neither do we.
func (o *option) invalid(p node.Provenance, v string) error {
	return &node.Error{Prov: p, Reason: node.InvalidData,
		Msg:    "invalid value for " + o.kind.String() + " option '" + o.name + "': " + v,
		Detail: "Valid values: " + strings.Join(o.values, ", ")}
}

// check verifies that every string of vs is a valid value.
func (o *option) check(p node.Provenance, vs ...string) error {
	for _, v := range vs {
		if !slices.Contains(o.values, v) {
			return o.invalid(p, v)
		}
	}
	return nil
}

// fromYAML reads a value written in YAML: in a junction's or the user's
// configuration. Booleans accept everything YAML booleans do in BuildStream
// (True, true, 1, False, false, 0); flags are lists, which are sorted.
func (o *option) fromYAML(n *node.Node) (value, error) {
	switch {
	case o.kind == kindBool:
		b, err := n.AsBool(o.name)
		return value{set: true, b: b}, err
	case o.kind.isList():
		if !n.IsSequence() {
			return value{}, node.Errorf(n.Prov(), node.InvalidData, "value of '%s' is not of the expected type 'list'", o.name)
		}
		list, err := n.AsStringList(o.name)
		if err != nil {
			return value{}, err
		}
		slices.Sort(list)
		return value{set: true, list: list}, o.check(n.Prov(), list...)
	}
	if !n.IsScalar() {
		return value{}, node.Errorf(n.Prov(), node.InvalidData, "value of '%s' is not of the expected type 'scalar'", o.name)
	}
	return value{set: true, s: n.Value()}, o.check(n.Prov(), n.Value())
}

// fromString reads a value given on the command line. Unlike YAML values,
// booleans are only True, true, False or false; flags are separated by
// commas, white space anywhere is ignored, and they are sorted.
func (o *option) fromString(s string) (value, error) {
	switch {
	case o.kind == kindBool:
		switch s {
		case "True", "true":
			return value{set: true, b: true}, nil
		case "False", "false":
			return value{set: true, b: false}, nil
		}
		return value{}, node.Errorf(node.Synthetic, node.InvalidData, "invalid value for boolean option '%s': %s", o.name, s)
	case o.kind.isList():
		list := strings.Split(strings.Join(strings.Fields(s), ""), ",")
		if err := o.check(node.Synthetic, list...); err != nil {
			return value{}, err
		}
		slices.Sort(list)
		return value{set: true, list: list}, nil
	}
	return value{set: true, s: s}, o.check(node.Synthetic, s)
}

// checkSymbol verifies that s is a symbol: ASCII letters, digits and
// underscores (and dashes if allowed), not starting with a digit.
func checkSymbol(s, purpose string, p node.Provenance, allowDashes bool) error {
	ok := s != "" && (s[0] < '0' || s[0] > '9')
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || allowDashes && c == '-'
	}
	if ok {
		return nil
	}
	detail := "Symbols are made of ASCII letters, digits and underscores"
	if allowDashes {
		detail += " or dashes"
	}
	return &node.Error{Prov: p, Reason: node.InvalidSymbolName,
		Msg: "invalid " + purpose + " '" + s + "'", Detail: detail + ", and do not start with a digit."}
}

// declare reads the declaration of one option.
func (pl *Pool) declare(name string, decl *node.Node, elementNames func() ([]string, error)) (*option, error) {
	if err := checkSymbol(name, "option name", decl.Prov(), false); err != nil {
		return nil, err
	}
	if !decl.IsMapping() {
		return nil, node.Errorf(decl.Prov(), node.InvalidData, "value of 'options.%s' is not of the expected type 'dict'", name)
	}
	typ, err := decl.GetScalar("type", false)
	if err != nil {
		return nil, err
	}
	o := &option{name: name}
	for _, k := range kinds {
		if typ.Value() == k.String() {
			o.kind = k
		}
	}
	if o.kind == 0 {
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = k.String()
		}
		return nil, node.Errorf(typ.Prov(), node.InvalidData, "value of 'type' should be one of: %s", strings.Join(names, ", "))
	}

	// What every kind has: a description (required, though unused) and
	// perhaps the name of a variable to export the value to.
	if _, err := decl.RequireString("description"); err != nil {
		return nil, err
	}
	if v, err := decl.GetScalar("variable", true); err != nil {
		return nil, err
	} else if v != nil {
		if err := checkSymbol(v.Value(), "variable name", v.Prov(), true); err != nil {
			return nil, err
		}
		o.variable = v.Value()
	}
	if err := decl.ValidateKeys(append([]string{"type", "description", "variable"}, o.kind.extraKeys()...)...); err != nil {
		return nil, err
	}

	// The valid values.
	switch o.kind {
	case kindEnum, kindArch, kindOS, kindFlags:
		if o.values, err = decl.GetStringList("values"); err != nil {
			return nil, err
		}
	case kindElementMask:
		if o.values, err = elementNames(); err != nil {
			return nil, err
		}
	}
	if o.kind != kindBool && len(o.values) == 0 {
		return nil, node.Errorf(decl.Prov(), node.InvalidData, "no values specified for %s option '%s'", o.kind, name)
	}

	// The default.
	d := &o.layers[layerDefault]
	d.set = true
	switch o.kind {
	case kindBool:
		n, err := decl.GetNode("default", false)
		if err != nil {
			return nil, err
		}
		if d.b, err = n.AsBool("default"); err != nil {
			return nil, err
		}
	case kindEnum:
		n, err := decl.GetScalar("default", false)
		if err != nil {
			return nil, err
		}
		d.s = n.Value()
		if err := o.check(n.Prov(), d.s); err != nil {
			return nil, err
		}
	case kindFlags, kindElementMask:
		// The default list is kept in the order written: only values set
		// later are sorted.
		n, err := decl.GetSequence("default", true)
		if err != nil {
			return nil, err
		}
		d.list = []string{}
		if n != nil {
			if d.list, err = n.AsStringList("default"); err != nil {
				return nil, err
			}
			if err := o.check(n.Prov(), d.list...); err != nil {
				return nil, err
			}
		}
	case kindArch:
		if d.s, err = pl.archDefault(o, decl); err != nil {
			return nil, err
		}
	case kindOS:
		d.s = pl.hostOS
	}
	return o, nil
}

// archDefault returns the default of an arch option: the first of its
// values that names the host's architecture, or else the host's canonical
// architecture name, which Resolve refuses unless a user chose another value.
// Every value must be an architecture BuildStream knows.
func (pl *Pool) archDefault(o *option, decl *node.Node) (string, error) {
	host, err := CanonicalArch(pl.hostArch)
	if err != nil {
		return "", err
	}
	def := ""
	values := decl.Get("values").Items()
	for i, v := range o.values {
		c, err := CanonicalArch(v)
		if err != nil {
			return "", node.Errorf(values[i].Prov(), node.InvalidData, "invalid value for arch option '%s': %v", o.name, err)
		}
		if def == "" && c == host {
			def = v
		}
	}
	if def == "" {
		def = host
	}
	return def, nil
}
