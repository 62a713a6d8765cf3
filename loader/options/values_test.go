package options

import (
	"reflect"
	"slices"
	"testing"

	"github.com/bstgo/bst/loader/expr"
	"github.com/bstgo/bst/loader/node"
)

// optionsOf returns the `options` mapping of a snippet, or nil.
func optionsOf(t *testing.T, src string) *node.Node {
	t.Helper()
	if src == "" {
		return nil
	}
	return parse(t, src).Get("options")
}

// TestPrecedence checks declaration < junction < user configuration <
// command line, whatever order the values are set in.
func TestPrecedence(t *testing.T) {
	const decl = "brother: {type: enum, description: d, values: [pony, horsy, zebry, giraffy], default: pony}"
	for _, tc := range []struct {
		name           string
		junction, user string
		cli            [][2]string
		want           string
	}{
		{"default", "", "", nil, "pony"},
		{"junction", "options: {brother: horsy}", "", nil, "horsy"},
		{"user", "", "options: {brother: zebry}", nil, "zebry"},
		{"user over junction", "options: {brother: horsy}", "options: {brother: zebry}", nil, "zebry"},
		{"cli", "", "", [][2]string{{"brother", "giraffy"}}, "giraffy"},
		{"cli over all", "options: {brother: horsy}", "options: {brother: zebry}", [][2]string{{"brother", "giraffy"}}, "giraffy"},
		{"last cli wins", "", "", [][2]string{{"brother", "giraffy"}, {"brother", "horsy"}}, "horsy"},
	} {
		// Set the layers in both orders: the result must not change.
		for _, reversed := range []bool{false, true} {
			name := tc.name
			if reversed {
				name += " reversed"
			}
			t.Run(name, func(t *testing.T) {
				p := declare(t, decl)
				steps := []func() error{
					func() error { return p.SetJunctionValues(optionsOf(t, tc.junction)) },
					func() error { return p.SetUserValues(optionsOf(t, tc.user)) },
					func() error { return p.SetCLIValues(tc.cli) },
				}
				if reversed {
					steps[0], steps[2] = steps[2], steps[0]
				}
				for _, s := range steps {
					if err := s(); err != nil {
						t.Fatal(err)
					}
				}
				if err := p.Resolve(); err != nil {
					t.Fatal(err)
				}
				if got := p.Printable()[0][1]; got != tc.want {
					t.Fatalf("brother = %q, want %q", got, tc.want)
				}
			})
		}
	}
}

// TestYAMLValues checks values from the user configuration (and the
// junction, which is read the same way) for each kind.
func TestYAMLValues(t *testing.T) {
	const decls = boolPony + flagsFarm + `
machine_arch: {type: arch, description: d, values: [aarch32, aarch64, x86_64]}
machine_os: {type: os, description: d, values: [Linux, Darwin]}
mask: {type: element-mask, description: d}
`
	for _, tc := range []struct {
		name   string
		user   string
		reason node.Reason
		want   string // option=value as Printable formats it
	}{
		{"bool True", "options: {pony: True}", "", "pony=1"},
		{"bool true", "options: {pony: true}", "", "pony=1"},
		{"bool 1", "options: {pony: 1}", "", "pony=1"},
		{"bool False", "options: {pony: False}", "", "pony=0"},
		{"bool 0", "options: {pony: 0}", "", "pony=0"},
		{"bool word", "options: {pony: pony}", node.InvalidData, "value of 'pony' is not of the expected type 'boolean'"},
		{"bool TRUE", "options: {pony: TRUE}", node.InvalidData, "not of the expected type 'boolean'"},
		{"bool list", "options: {pony: [its, a, list]}", node.InvalidData, "not of the expected type 'boolean'"},
		{"bool dict", "options: {pony: {dic: tionary}}", node.InvalidData, "not of the expected type 'boolean'"},

		{"enum", "options: {animal: zebry}", "", "animal=zebry"},
		{"enum invalid", "options: {animal: giraffy}", node.InvalidData,
			"test.yaml [line 1 column 18]: invalid value for enum option 'animal': giraffy\n\nValid values: pony, horsy, zebry"},
		{"enum list", "options: {animal: [its, a, list]}", node.InvalidData, "value of 'animal' is not of the expected type 'scalar'"},
		{"enum dict", "options: {animal: {dic: tionary}}", node.InvalidData, "not of the expected type 'scalar'"},

		{"flags sorted", "options: {farm: [zebry, horsy, pony]}", "", "farm=horsy,pony,zebry"},
		{"flags empty", "options: {farm: []}", "", "farm="},
		{"flags string", "options: {farm: pony}", node.InvalidData, "value of 'farm' is not of the expected type 'list'"},
		{"flags invalid", "options: {farm: [horsy, pony, giraffy]}", node.InvalidData, "invalid value for flags option 'farm': giraffy"},
		{"flags dict", "options: {farm: {dic: tionary}}", node.InvalidData, "not of the expected type 'list'"},
		{"flags nested", "options: {farm: [[pony]]}", node.InvalidData, "not of the expected type 'str'"},

		{"arch", "options: {machine_arch: aarch64}", "", "machine_arch=aarch64"},
		// Values are compared as written, not canonicalised.
		{"arch alias not listed", "options: {machine_arch: x86-64}", node.InvalidData, "invalid value for arch option 'machine_arch': x86-64"},
		{"os", "options: {machine_os: Darwin}", "", "machine_os=Darwin"},
		{"os invalid", "options: {machine_os: linux}", node.InvalidData, "invalid value for os option 'machine_os': linux"},

		{"mask", "options: {mask: [pony.bst, horsy.bst]}", "", "mask=horsy.bst,pony.bst"},
		{"mask invalid", "options: {mask: [kitten.bst]}", node.InvalidData, "invalid value for element-mask option 'mask': kitten.bst"},

		{"unknown", "options: {fart: Hello}", node.InvalidData, "test.yaml [line 1 column 16]: unknown option 'fart' specified"},
		{"not a mapping", "options: [pony]", node.InvalidData, "value of 'options' is not of the expected type 'dict'"},
	} {
		for _, junction := range []bool{false, true} {
			name := tc.name
			set := (*Pool).SetUserValues
			if junction {
				name += " junction"
				set = (*Pool).SetJunctionValues
			}
			t.Run(name, func(t *testing.T) {
				p := NewPool("x86_64", "Linux")
				if err := p.Declare(parse(t, decls), func() ([]string, error) { return []string{"pony.bst", "horsy.bst"}, nil }); err != nil {
					t.Fatal(err)
				}
				err := set(p, optionsOf(t, tc.user))
				if tc.reason != "" {
					checkErr(t, err, tc.reason, tc.want)
					return
				}
				checkErr(t, err, "", "")
				checkErr(t, p.Resolve(), "", "")
				checkPrintable(t, p, tc.want)
			})
		}
	}
}

// checkPrintable fails unless Printable holds want, "option=value".
func checkPrintable(t *testing.T, p *Pool, want string) {
	t.Helper()
	for _, kv := range p.Printable() {
		if kv[0]+"="+kv[1] == want {
			return
		}
	}
	t.Fatalf("Printable() = %q, want it to hold %s", p.Printable(), want)
}

// TestCLIValues checks `-o NAME VALUE` for each kind.
func TestCLIValues(t *testing.T) {
	const decls = boolPony + flagsFarm + `
machine_arch: {type: arch, description: d, values: [aarch32, aarch64, x86_64]}
machine_os: {type: os, description: d, values: [Linux, Darwin]}
mask: {type: element-mask, description: d}
`
	for _, tc := range []struct {
		name, option, value string
		reason              node.Reason
		want                string
	}{
		{"bool True", "pony", "True", "", "pony=1"},
		{"bool true", "pony", "true", "", "pony=1"},
		{"bool False", "pony", "False", "", "pony=0"},
		{"bool false", "pony", "false", "", "pony=0"},
		// Unlike YAML values, the command line takes no 1 or 0.
		{"bool 1", "pony", "1", node.InvalidData, "invalid value for boolean option 'pony': 1"},
		{"bool 0", "pony", "0", node.InvalidData, "invalid value for boolean option 'pony': 0"},
		{"bool falsey", "pony", "falsey", node.InvalidData, "invalid value for boolean option 'pony': falsey"},
		{"bool trUE", "pony", "trUE", node.InvalidData, "invalid value for boolean option"},
		{"bool empty", "pony", "", node.InvalidData, "invalid value for boolean option"},

		{"enum", "animal", "zebry", "", "animal=zebry"},
		{"enum invalid", "animal", "giraffy", node.InvalidData, "invalid value for enum option 'animal': giraffy\n\nValid values: pony, horsy, zebry"},
		{"enum spaces kept", "animal", " zebry", node.InvalidData, "invalid value for enum option"},

		{"flags one", "farm", "pony", "", "farm=pony"},
		{"flags two", "farm", "pony, horsy", "", "farm=horsy,pony"},
		{"flags spaces", "farm", "zebry,horsy , pony", "", "farm=horsy,pony,zebry"},
		{"flags tab", "farm", "zebry,\thorsy", "", "farm=horsy,zebry"},
		{"flags duplicates kept", "farm", "pony,pony", "", "farm=pony,pony"},
		{"flags invalid", "farm", "giraffy", node.InvalidData, "invalid value for flags option 'farm': giraffy"},
		{"flags without commas", "farm", "horsy pony", node.InvalidData, "invalid value for flags option 'farm': horsypony"},
		{"flags empty", "farm", "", node.InvalidData, "invalid value for flags option 'farm': \n"},
		{"flags trailing comma", "farm", "pony,", node.InvalidData, "invalid value for flags option 'farm': \n"},

		{"arch", "machine_arch", "aarch32", "", "machine_arch=aarch32"},
		{"arch not listed", "machine_arch", "x86-64", node.InvalidData, "invalid value for arch option"},
		{"os", "machine_os", "Darwin", "", "machine_os=Darwin"},
		{"os invalid", "machine_os", "FreeBSD", node.InvalidData, "invalid value for os option"},

		{"mask", "mask", "pony.bst, horsy.bst", "", "mask=horsy.bst,pony.bst"},
		{"mask invalid", "mask", "kitten.bst", node.InvalidData, "invalid value for element-mask option 'mask': kitten.bst"},

		{"unknown", "fart", "funny", node.InvalidData, "unknown option 'fart' specified on the command line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool("x86_64", "Linux")
			if err := p.Declare(parse(t, decls), func() ([]string, error) { return []string{"pony.bst", "horsy.bst"}, nil }); err != nil {
				t.Fatal(err)
			}
			err := p.SetCLIValues([][2]string{{tc.option, tc.value}})
			if tc.reason != "" {
				checkErr(t, err, tc.reason, tc.want)
				return
			}
			checkErr(t, err, "", "")
			checkErr(t, p.Resolve(), "", "")
			checkPrintable(t, p, tc.want)
		})
	}
}

func TestKnownCLIValues(t *testing.T) {
	p := declare(t, boolPony)
	pairs := [][2]string{{"fart", "funny"}, {"pony", "true"}}
	checkErr(t, p.SetCLIValues(pairs), node.InvalidData, "unknown option 'fart'")

	p = declare(t, boolPony)
	checkErr(t, p.SetKnownCLIValues(pairs), "", "")
	checkErr(t, p.Resolve(), "", "")
	checkPrintable(t, p, "pony=1")

	// Invalid values of known options are still errors.
	p = declare(t, boolPony)
	checkErr(t, p.SetKnownCLIValues([][2]string{{"fart", "funny"}, {"pony", "yes"}}), node.InvalidData, "invalid value for boolean option 'pony'")
}

// TestNoOptions checks that a project without options refuses values.
func TestNoOptions(t *testing.T) {
	p := NewPool("x86_64", "Linux")
	checkErr(t, p.SetUserValues(optionsOf(t, "options: {pony: true}")), node.InvalidData, "unknown option 'pony' specified")
	checkErr(t, p.SetCLIValues([][2]string{{"pony", "true"}}), node.InvalidData, "unknown option 'pony'")
	checkErr(t, p.SetUserValues(optionsOf(t, "options: {}")), "", "")
	checkErr(t, p.Resolve(), "", "")
	if v := p.Variables(); len(v) != 0 {
		t.Fatalf("Variables() = %q", v)
	}
}

// TestVariables checks the exported variables, after BuildStream's
// option-exports test project.
func TestVariables(t *testing.T) {
	const decls = `
bool_export: {type: bool, description: d, default: False, variable: exported-bool}
enum_export: {type: enum, description: d, values: [pony, horsy, zebry], default: pony, variable: exported-enum}
flags_export: {type: flags, description: d, values: [pony, horsy, zebry], default: [pony, horsy], variable: exported-flags}
arch_export: {type: arch, description: d, values: [x86_64, aarch64], variable: exported-arch}
os_export: {type: os, description: d, values: [Linux], variable: exported-os}
mask_export: {type: element-mask, description: d, default: [b.bst, a.bst], variable: exported-mask}
private: {type: bool, description: d, default: True}
`
	for _, tc := range []struct {
		name string
		cli  [][2]string
		want [][2]string
	}{
		{"defaults", nil, [][2]string{
			{"exported-bool", "0"}, {"exported-enum", "pony"}, {"exported-flags", "pony,horsy"},
			{"exported-arch", "x86_64"}, {"exported-os", "Linux"}, {"exported-mask", "b.bst,a.bst"}}},
		{"set", [][2]string{{"bool_export", "True"}, {"enum_export", "horsy"}, {"flags_export", "pony, horsy"},
			{"arch_export", "aarch64"}, {"mask_export", "b.bst,a.bst"}}, [][2]string{
			{"exported-bool", "1"}, {"exported-enum", "horsy"}, {"exported-flags", "horsy,pony"},
			{"exported-arch", "aarch64"}, {"exported-os", "Linux"}, {"exported-mask", "a.bst,b.bst"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool("x86_64", "Linux")
			if err := p.Declare(parse(t, decls), func() ([]string, error) { return []string{"a.bst", "b.bst"}, nil }); err != nil {
				t.Fatal(err)
			}
			checkErr(t, p.SetCLIValues(tc.cli), "", "")
			checkErr(t, p.Resolve(), "", "")
			if got := p.Variables(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Variables() =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestPrintableSorted(t *testing.T) {
	p := resolved(t, "zebra: {type: bool, description: d, default: true}\napple: {type: enum, description: d, values: [x], default: x}")
	want := [][2]string{{"apple", "x"}, {"zebra", "1"}}
	if got := p.Printable(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Printable() = %q, want %q", got, want)
	}
}

func TestUnresolvedPanics(t *testing.T) {
	p := declare(t, boolPony)
	defer func() {
		if recover() == nil {
			t.Fatal("Variables before Resolve did not panic")
		}
	}()
	p.Variables()
}

func TestValues(t *testing.T) {
	p := NewPool("x86_64", "Linux")
	decls := boolPony + flagsFarm + `
machine_arch: {type: arch, description: d, values: [aarch64, x86_64]}
machine_os: {type: os, description: d, values: [Linux]}
mask: {type: element-mask, description: d}
`
	if err := p.Declare(parse(t, decls), func() ([]string, error) { return []string{"a.bst", "b.bst"}, nil }); err != nil {
		t.Fatal(err)
	}
	checkErr(t, p.SetCLIValues([][2]string{{"pony", "true"}, {"farm", "zebry,horsy"}, {"mask", "b.bst"}}), "", "")
	checkErr(t, p.Resolve(), "", "")
	want := map[string]expr.Value{
		"pony":         expr.Bool(true),
		"animal":       expr.String("horsy"),
		"farm":         expr.List([]string{"horsy", "zebry"}),
		"machine_arch": expr.String("x86_64"),
		"machine_os":   expr.String("Linux"),
		"mask":         expr.List([]string{"b.bst"}),
	}
	got := p.Values()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Values() = %v, want %v", got, want)
	}
	// The map is the caller's.
	delete(got, "pony")
	if _, ok := p.Values()["pony"]; !ok {
		t.Fatal("Values() shares its map with the pool")
	}
}

// TestRedeclare checks that declaring an option again replaces it in
// place.
func TestRedeclare(t *testing.T) {
	p := declare(t, boolPony+enumAnimals)
	if err := p.Declare(parse(t, "pony: {type: bool, description: d, default: True, variable: p}"), nil); err != nil {
		t.Fatal(err)
	}
	checkErr(t, p.Resolve(), "", "")
	want := [][2]string{{"brother", "pony"}, {"pony", "1"}, {"sister", "zebry"}}
	if got := p.Printable(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Printable() = %q, want %q", got, want)
	}
	if got := p.Variables(); !reflect.DeepEqual(got, [][2]string{{"p", "1"}}) {
		t.Fatalf("Variables() = %q", got)
	}
	if p.opts[0].name != "pony" {
		t.Fatalf("pony moved to position %d", slices.IndexFunc(p.opts, func(o *option) bool { return o.name == "pony" }))
	}
}
